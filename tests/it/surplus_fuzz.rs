//! Fuzz-style property tests: whatever bytes arrive on a meter's topics, the tracker never panics,
//! never produces a non-finite or implausible reading, and counts what it rejects.

use crate::support::harness::tracker;
use crate::support::t0;
use proptest::prelude::*;
use sunplug::units::Watts;

/// Each preset's config and a real payload for each of its topics (the seeds for mutation).
fn presets() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
        (
            "preset = \"shelly-pro-3em\"\ndevice = \"d\"",
            vec![(
                "d/status/em:0",
                r#"{"id":0,"a_act_power":951.2,"b_act_power":-21.7,"c_act_power":85.5,"total_act_power":1015}"#,
            )],
        ),
        (
            "preset = \"shelly-3em\"\ndevice = \"d\"",
            vec![
                ("shellies/d/emeter/0/power", "1534.37"),
                ("shellies/d/emeter/1/power", "-210.5"),
                ("shellies/d/emeter/2/power", "12"),
            ],
        ),
        (
            "preset = \"tasmota-sml\"\ndevice = \"d\"",
            vec![(
                "tele/d/SENSOR",
                r#"{"Time":"2026-06-01T12:00:00","SML":{"Total_in":12345.678,"Power_curr":-1532}}"#,
            )],
        ),
        (
            "preset = \"dsmr-reader\"",
            vec![
                ("dsmr/reading/electricity_currently_delivered", "0.512"),
                ("dsmr/reading/electricity_currently_returned", "0.000"),
            ],
        ),
        (
            "preset = \"victron\"\ndevice = \"d\"\n[battery]\n",
            vec![
                ("N/d/system/0/Ac/Grid/L1/Power", r#"{"value": 1200.5}"#),
                ("N/d/system/0/Ac/Grid/L2/Power", r#"{"value": -300}"#),
                ("N/d/system/0/Ac/Grid/L3/Power", r#"{"value": 99.5}"#),
                ("N/d/system/0/Dc/Battery/Power", r#"{"value": -850.0}"#),
            ],
        ),
        (
            "preset = \"smappee\"\ndevice = \"d\"\nchannels = [0, 1]",
            vec![(
                "servicelocation/d/realtime",
                r#"{"totalPower":1480,"channelPowers":[{"publishIndex":1,"power":-310},{"publishIndex":0,"power":520}]}"#,
            )],
        ),
        (
            "preset = \"homeassistant\"\ndevice = \"sensor.grid\"",
            vec![("homeassistant/sensor/grid/state", "734.2")],
        ),
        (
            "preset = \"evcc\"\n[battery]\n",
            vec![
                ("evcc/site/grid/power", "-2310.5"),
                ("evcc/site/battery/power", "1500"),
            ],
        ),
    ]
}

fn mutate(seed: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for (pos, op, byte) in edits {
        let i = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
        match op % 3 {
            0 if i < b.len() => b[i] = *byte,
            1 => b.insert(i, *byte),
            _ if i < b.len() => {
                b.remove(i);
            }
            _ => b.push(*byte),
        }
    }
    b
}

fn check_invariants(t: &sunplug::sources::surplus::SurplusTracker) {
    if let Some(r) = t.reading(t0()) {
        let s = r.value;
        let g = s.balance.grid(Watts::ZERO).0;
        assert!(g.is_finite(), "non-finite grid {g}");
        for v in [s.pv, s.house_load, s.battery].into_iter().flatten() {
            assert!(v.0.is_finite());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_on_every_preset_topic_never_panic(
        which in 0usize..8,
        topic_pick in any::<prop::sample::Index>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        retained in any::<bool>(),
    ) {
        let (cfg, topics) = &presets()[which];
        let mut t = tracker(cfg);
        let (topic, _) = topics[topic_pick.index(topics.len())];
        let before = t.stats();
        let out = t.on_message(topic, &bytes, retained, t0());
        prop_assert!(out.ours);
        let after = t.stats();
        prop_assert_eq!(after.messages, before.messages + 1);
        check_invariants(&t);
    }

    #[test]
    fn mutated_real_payloads_never_panic_and_never_read_absurd_values(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..6),
    ) {
        let (cfg, topics) = &presets()[which];
        let mut t = tracker(cfg);
        for (topic, payload) in topics {
            t.on_message(topic, &mutate(payload.as_bytes(), &edits), false, t0());
        }
        check_invariants(&t);
        if let Some(r) = t.reading(t0()) {
            prop_assert!(r.value.balance.grid(Watts::ZERO).0.abs() <= 400_000.0, "parts are bounded by the plausible range");
        }
        // Rejections and updates are mutually consistent with the counters.
        let s = t.stats();
        prop_assert!(s.bad + s.updates + s.missing + s.unavailable >= topics.len() as u64);
    }
}

#[test]
fn the_seed_payloads_themselves_read() {
    for (cfg, topics) in presets() {
        let mut t = tracker(cfg);
        for (topic, payload) in &topics {
            let out = t.on_message(topic, payload.as_bytes(), false, t0());
            assert!(out.updated >= 1, "{cfg}: {topic}");
        }
        assert!(t.reading(t0()).is_some(), "{cfg}");
    }
}
