//! One test per meter preset, through a real broker (rumqttd, plus mosquitto when
//! `SUNPLUG_TEST_MOSQUITTO` is set), with the payloads the devices really publish.

use crate::support::harness::Harness;
use crate::support::kinds;

const SHELLY_PRO_STATUS: &str = r#"{"id":0,"a_current":4.029,"a_voltage":236.1,"a_act_power":951.2,"a_aprt_power":951.9,"a_pf":1,"b_current":0.311,"b_voltage":235.8,"b_act_power":-21.7,"b_aprt_power":73.3,"b_pf":0.3,"c_current":0.525,"c_voltage":236.4,"c_act_power":85.5,"c_aprt_power":124.1,"c_pf":0.69,"n_current":null,"total_current":4.865,"total_act_power":1015,"total_aprt_power":1149.3,"user_calibrated_phase":[]}"#;

#[tokio::test]
async fn shelly_pro_3em_reads_total_act_power_and_ignores_partial_status() {
    for kind in kinds() {
        let mut h = Harness::start(
            &kind,
            "preset = \"shelly-pro-3em\"\ndevice = \"shellypro3em-c8f09e8a1b2c\"",
        )
        .await;
        let topic = "shellypro3em-c8f09e8a1b2c/status/em:0";
        let out = h.send(topic, SHELLY_PRO_STATUS, false).await;
        assert_eq!(out.updated, 1, "{kind:?}");
        assert_eq!(h.grid_w(), Some(1015.0));
        let first = h.reading().unwrap().at;
        h.advance(5);
        let out = h
            .send(topic, r#"{"id":0,"a_act_power":960.4}"#, false)
            .await;
        assert_eq!(
            (out.updated, out.missing),
            (0, 1),
            "a partial status is no update"
        );
        assert_eq!(h.grid_w(), Some(1015.0), "never zeroed");
        assert_eq!(
            h.reading().unwrap().at,
            first,
            "and not made fresher either"
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn shelly_pro_3em_notify_status_events_never_zero_the_total() {
    // The same device read from its RPC event stream: NotifyStatus carries only what changed.
    let cfg = r#"
preset = "shelly-pro-3em"
device = "shellypro3em-c8f09e8a1b2c"
topic = "shellypro3em-c8f09e8a1b2c/events/rpc"
pointer = "/params/em:0/total_act_power"
"#;
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        let topic = "shellypro3em-c8f09e8a1b2c/events/rpc";
        let full = r#"{"src":"shellypro3em-c8f09e8a1b2c","dst":"shellypro3em-c8f09e8a1b2c/events","method":"NotifyStatus","params":{"ts":1718000000.12,"em:0":{"id":0,"a_act_power":-1200.5,"b_act_power":-1100,"c_act_power":-900.5,"total_act_power":-3201}}}"#;
        let partial = r#"{"src":"shellypro3em-c8f09e8a1b2c","dst":"shellypro3em-c8f09e8a1b2c/events","method":"NotifyStatus","params":{"ts":1718000001.12,"em:0":{"id":0,"a_act_power":-1180.2}}}"#;
        let other = r#"{"src":"shellypro3em-c8f09e8a1b2c","method":"NotifyEvent","params":{"ts":1718000002,"events":[{"component":"sys","event":"scheduled_restart"}]}}"#;
        h.send(topic, full, false).await;
        assert_eq!(
            h.grid_w(),
            Some(-3201.0),
            "export shows as negative grid power"
        );
        for p in [partial, other] {
            let out = h.send(topic, p, false).await;
            assert_eq!(out.updated, 0);
            assert!(out.rejected.is_none(), "a partial message is not a bad one");
        }
        assert_eq!(h.grid_w(), Some(-3201.0));
        assert_eq!(h.tracker.stats().missing, 2);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn shelly_3em_gen1_sums_three_phases_and_needs_all_three() {
    for kind in kinds() {
        let mut h = Harness::start(
            &kind,
            "preset = \"shelly-3em\"\ndevice = \"shellyem3-8CAAB5ABCDEF\"",
        )
        .await;
        let t = |i: u8| format!("shellies/shellyem3-8CAAB5ABCDEF/emeter/{i}/power");
        h.send(&t(0), "1534.37", false).await;
        h.send(&t(1), "-210.5", false).await;
        assert_eq!(
            h.reading(),
            None,
            "two phases of three are not a grid reading"
        );
        h.send(&t(2), "12.13", false).await;
        assert_eq!(h.grid_w(), Some(1336.0));
        // One phase goes silent: the sum ages with it, however fresh the others are.
        h.advance(25);
        h.send(&t(0), "1500", false).await;
        h.send(&t(1), "-200", false).await;
        h.advance(10);
        assert_eq!(h.reading(), None, "phase 2 is 35 s old: the sum is stale");
        h.send(&t(2), "0", false).await;
        assert_eq!(h.grid_w(), Some(1300.0));
        h.shutdown().await;
    }
}

#[tokio::test]
async fn tasmota_sml_reads_power_curr_export_negative() {
    for kind in kinds() {
        let mut h = Harness::start(
            &kind,
            "preset = \"tasmota-sml\"\ndevice = \"tasmota_8A1B2C\"",
        )
        .await;
        let payload = r#"{"Time":"2026-06-21T12:00:00","SML":{"Total_in":12345.678,"Total_out":2345.6,"Power_curr":-1532}}"#;
        h.send("tele/tasmota_8A1B2C/SENSOR", payload, false).await;
        assert_eq!(h.grid_w(), Some(-1532.0));
        // Tasmota's other telemetry on the same topic (a BME280, no meter): no update.
        let out = h
            .send(
                "tele/tasmota_8A1B2C/SENSOR",
                r#"{"Time":"2026-06-21T12:00:10","BME280":{"Temperature":21.3}}"#,
                false,
            )
            .await;
        assert_eq!(out.missing, 1);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn dsmr_reader_retained_kw_values_wait_for_a_live_telegram() {
    let delivered = "dsmr/reading/electricity_currently_delivered";
    let returned = "dsmr/reading/electricity_currently_returned";
    for kind in kinds() {
        let mut h = Harness::start_with_retained(
            &kind,
            "preset = \"dsmr-reader\"",
            &[(delivered, "0.512"), (returned, "0.000")],
        )
        .await;
        assert_eq!(
            h.reading(),
            None,
            "retained values have an unknown age: not a reading for control"
        );
        let snap = h.tracker.snapshot(h.now);
        assert!(
            matches!(
                snap.state,
                sunplug::sources::surplus::State::RetainedOnly { .. }
            ),
            "{:?}",
            snap.state
        );
        let sample = snap.sample.expect("retained values are still shown");
        assert_eq!(sample.balance.grid(sunplug::units::Watts::ZERO).0, 512.0);
        // The next telegram, live (DSMR-reader publishes retained; the broker forwards it live).
        h.advance(1);
        h.send(delivered, "0.000", true).await;
        assert_eq!(h.reading(), None, "one live part is not enough");
        h.send(returned, "2.345", true).await;
        assert_eq!(h.grid_w(), Some(-2345.0), "kW, delivered − returned");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn victron_sums_value_objects_and_sends_the_keepalive() {
    let cfg = "preset = \"victron\"\ndevice = \"c0619ab12345\"\n[battery]\n";
    for kind in kinds() {
        let (mut h, venus) =
            Harness::start_full(&kind, cfg, &[], Some("R/c0619ab12345/keepalive")).await;
        let mut venus = venus.unwrap();
        // What Venus needs: a keep-alive after connect (empty = "republish everything"), then
        // keep-alives that do not ask for a republish, on a timer.
        let (topic, first) = venus.next_received().await;
        assert_eq!(topic, "R/c0619ab12345/keepalive");
        assert!(
            first.is_empty(),
            "the first keep-alive after a connect asks for a full republish"
        );
        let (_, next) = venus.next_received().await;
        assert_eq!(next, br#"{"keepalive-options":["suppress-republish"]}"#);
        for (l, w) in [(1, "1200.5"), (2, "-300"), (3, "99.5")] {
            h.send(
                &format!("N/c0619ab12345/system/0/Ac/Grid/L{l}/Power"),
                format!("{{\"value\": {w}}}"),
                false,
            )
            .await;
        }
        assert_eq!(
            h.reading(),
            None,
            "the battery is configured and has not reported yet"
        );
        h.send(
            "N/c0619ab12345/system/0/Dc/Battery/Power",
            r#"{"value": -850.0}"#,
            false,
        )
        .await;
        let r = h.reading().expect("all parts live");
        assert_eq!(r.value.balance.grid(sunplug::units::Watts::ZERO).0, 1000.0);
        assert_eq!(
            r.value.battery.map(|b| b.0),
            Some(-850.0),
            "discharging, charge positive"
        );
        // A phase without a value (single-phase inverter, device gone): unknown, not zero.
        let out = h
            .send(
                "N/c0619ab12345/system/0/Ac/Grid/L2/Power",
                r#"{"value": null}"#,
                false,
            )
            .await;
        assert_eq!(out.unavailable, 1);
        assert_eq!(h.reading(), None);
        h.send("N/c0619ab12345/system/0/Ac/Grid/L2/Power", "", false)
            .await;
        assert_eq!(
            h.reading(),
            None,
            "an empty payload (device left the bus) brings no value back"
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn smappee_realtime_sums_the_grid_channels_by_publish_index() {
    let cfg = "preset = \"smappee\"\ndevice = \"1c2f3e4d-aaaa-bbbb-cccc-0123456789ab\"\nchannels = [0, 1, 2]";
    let payload = r#"{"totalPower":1480,"totalReactivePower":210,"totalImportEnergy":1234567,"totalExportEnergy":0,"voltages":[{"voltage":231},{"voltage":232},{"voltage":230}],"channelPowers":[{"ctInput":3,"publishIndex":3,"power":2100,"current":91,"phaseId":0},{"ctInput":0,"publishIndex":0,"power":-520,"current":23,"phaseId":0},{"ctInput":1,"publishIndex":1,"power":-310,"current":14,"phaseId":1},{"ctInput":2,"publishIndex":2,"power":210,"current":9,"phaseId":2}]}"#;
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        h.send(
            "servicelocation/1c2f3e4d-aaaa-bbbb-cccc-0123456789ab/realtime",
            payload,
            false,
        )
        .await;
        assert_eq!(
            h.grid_w(),
            Some(-620.0),
            "channels 0+1+2, whatever their position in the array"
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn smappee_pv_and_load_uses_total_power_as_load() {
    let cfg = "kind = \"pv_and_load\"\npreset = \"smappee\"\ndevice = \"sl-uuid\"\nchannels = [3]";
    let payload = r#"{"totalPower":1480,"channelPowers":[{"publishIndex":0,"power":-620},{"publishIndex":3,"power":2100}]}"#;
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        h.send("servicelocation/sl-uuid/realtime", payload, false)
            .await;
        let r = h.reading().unwrap().value;
        assert_eq!(r.pv.map(|w| w.0), Some(2100.0));
        assert_eq!(h.grid_w(), Some(-620.0), "load (with the car) − pv");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn home_assistant_statestream_retained_state_then_live_and_unavailable() {
    let topic = "homeassistant/sensor/p1_meter_power/state";
    let cfg = "preset = \"homeassistant\"\ndevice = \"sensor.p1_meter_power\"\nunit = \"kW\"";
    for kind in kinds() {
        let mut h = Harness::start_with_retained(&kind, cfg, &[(topic, "0.734")]).await;
        assert_eq!(
            h.reading(),
            None,
            "Statestream retains: the value at connect is of unknown age"
        );
        h.send(topic, "0.811", true).await;
        assert_eq!(h.grid_w(), Some(811.0));
        let out = h.send(topic, "unavailable", true).await;
        assert_eq!((out.unavailable, out.rejected.is_none()), (1, true));
        assert_eq!(h.reading(), None, "unavailable is unknown, not 0 W");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn evcc_grid_and_discharge_positive_battery() {
    let cfg = "preset = \"evcc\"\n[battery]\n";
    for kind in kinds() {
        let mut h =
            Harness::start_with_retained(&kind, cfg, &[("evcc/site/grid/power", "-2310.5")]).await;
        assert_eq!(h.reading(), None);
        h.send("evcc/site/grid/power", "-2310.5", true).await;
        assert_eq!(h.reading(), None, "the battery has not been heard from");
        h.send("evcc/site/battery/power", "1500", true).await;
        let r = h.reading().unwrap().value;
        assert_eq!(
            r.battery.map(|b| b.0),
            Some(-1500.0),
            "evcc: +1500 = discharging"
        );
        // The car never takes a discharging battery's power by default (policy rule car_first).
        let grid = r.balance.grid(sunplug::units::Watts::ZERO);
        let eff = sunplug::control::controller::effective_grid(grid, r.battery, Default::default());
        assert_eq!(eff.0, -2310.5 + 1500.0);
        // evcc erases a value with an empty payload: no update, the last value ages out at max_age
        // (issue 12: an empty payload must not drop the car to the floor at once).
        let out = h.send("evcc/site/battery/power", "", true).await;
        assert_eq!((out.updated, out.unavailable), (0, 0));
        assert!(h.reading().is_some(), "kept until max_age");
        h.shutdown().await;
    }
}
