//! `[surplus]` resolution: presets are defaults the user's keys override group by group, and every
//! mistake is reported with its key (and, through `config::load`, its line).

use std::path::Path;
use std::time::Duration;
use sunplug::config::surplus::{PowerUnit, Sign, SurplusSection};
use sunplug::config::{Needs, load_str};
use sunplug::sources::surplus::{PartSpec, Preset, resolve};

fn section(text: &str) -> SurplusSection {
    toml::from_str(text).unwrap()
}

fn problems(text: &str) -> Vec<(String, String)> {
    resolve(&section(text)).expect_err("expected problems")
}

fn part(topic: &str, pointer: Option<&str>) -> PartSpec {
    PartSpec {
        topic: topic.into(),
        pointer: pointer.map(str::to_string),
        negate: false,
    }
}

#[test]
fn a_preset_is_one_line_and_every_key_overrides_it() {
    let spec = resolve(&section("preset = \"shelly-pro-3em\"\ndevice = \"dev\"")).unwrap();
    let main = spec.main.unwrap();
    assert_eq!(
        main.parts,
        [part("dev/status/em:0", Some("/total_act_power"))]
    );
    assert_eq!((main.unit, main.sign), (PowerUnit::W, Sign::ImportPositive));
    assert_eq!(spec.preset, Some(Preset::ShellyPro3em));

    // A pointer of one's own keeps the preset's topic; a topic of one's own keeps its pointer.
    let spec = resolve(&section(
        "preset = \"shelly-pro-3em\"\ndevice = \"dev\"\npointer = \"/a_act_power\"",
    ))
    .unwrap();
    assert_eq!(
        spec.main.unwrap().parts,
        [part("dev/status/em:0", Some("/a_act_power"))]
    );
    let spec = resolve(&section(
        "preset = \"shelly-pro-3em\"\ndevice = \"dev\"\ntopic = \"site/em\"",
    ))
    .unwrap();
    assert_eq!(
        spec.main.unwrap().parts,
        [part("site/em", Some("/total_act_power"))]
    );

    // A single-phase Victron: one topic instead of three, same pointer, still the keep-alive.
    let spec = resolve(&section(
        "preset = \"victron\"\ndevice = \"abc\"\ntopics = [\"N/abc/system/0/Ac/Grid/L1/Power\"]",
    ))
    .unwrap();
    assert_eq!(
        spec.main.as_ref().unwrap().parts,
        [part("N/abc/system/0/Ac/Grid/L1/Power", Some("/value"))]
    );
    let ka = spec.keepalive.unwrap();
    assert_eq!(
        (ka.topic.as_str(), ka.every),
        ("R/abc/keepalive", Duration::from_secs(30))
    );

    // Unit and sign are overridable on their own.
    let spec = resolve(&section(
        "preset = \"evcc\"\nunit = \"kW\"\nsign = \"export_positive\"",
    ))
    .unwrap();
    let main = spec.main.unwrap();
    assert_eq!(main.parts, [part("evcc/site/grid/power", None)]);
    assert_eq!(main.watts(&main.parts[0], 1.5), -1500.0);
}

#[test]
fn import_and_export_topics_subtract() {
    let spec = resolve(&section("preset = \"dsmr-reader\"")).unwrap();
    let main = spec.main.clone().unwrap();
    assert_eq!(main.parts.len(), 2);
    assert!(main.parts[1].negate && main.parts[1].topic.ends_with("returned"));
    assert_eq!(
        main.watts(&main.parts[0], 0.5) + main.watts(&main.parts[1], 2.0),
        -1500.0
    );
    assert_eq!(spec.topics().len(), 2);
}

#[test]
fn a_battery_table_takes_the_presets_battery_and_only_when_written() {
    assert!(
        resolve(&section("preset = \"victron\"\ndevice = \"abc\""))
            .unwrap()
            .battery
            .is_none()
    );
    let spec = resolve(&section(
        "preset = \"victron\"\ndevice = \"abc\"\n[battery]\n",
    ))
    .unwrap();
    let b = spec.battery.unwrap();
    assert_eq!(
        b.parts,
        [part("N/abc/system/0/Dc/Battery/Power", Some("/value"))]
    );
    assert_eq!(b.watts(&b.parts[0], 300.0), 300.0, "charge positive");
    let spec = resolve(&section("preset = \"evcc\"\n[battery]\n")).unwrap();
    let b = spec.battery.unwrap();
    assert_eq!(
        b.watts(&b.parts[0], 300.0),
        -300.0,
        "evcc is discharge positive"
    );
}

#[test]
fn every_mistake_is_reported_with_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "preset = \"victron\"",
            "device",
            "needs device: the VRM portal id",
        ),
        (
            "preset = \"shelly-pro-4em\"\ndevice = \"d\"",
            "preset",
            "did you mean \"shelly-pro-3em\"",
        ),
        ("topic = \"meter/+/power\"", "topic", "wildcard"),
        (
            "topic = \"m\"\npointer = \"power\"",
            "pointer",
            "start it with '/'",
        ),
        (
            "topic = \"m\"\nsign = \"charge_positive\"",
            "sign",
            "import_positive",
        ),
        (
            "kind = \"pv_and_load\"\n[pv]\ntopic = \"pv\"",
            "load",
            "needs [surplus.load]",
        ),
        (
            "kind = \"pv_and_load\"\ntopic = \"x\"\n[pv]\ntopic = \"pv\"\n[load]\ntopic = \"l\"",
            "topic",
            "move the topic",
        ),
        (
            "topic = \"m\"\n[pv]\ntopic = \"pv\"",
            "pv",
            "only read with kind = \"pv_and_load\"",
        ),
        (
            "topics = [\"a\", \"b\"]\npointers = [\"/x\", \"/y\"]",
            "pointers",
            "single pointer",
        ),
        (
            "topic = \"a\"\npointer = \"/x\"\npointers = [\"/y\"]",
            "pointers",
            "not both",
        ),
        ("topics = [\"a\", \"a\"]", "topics", "listed twice"),
        ("import_topic = \"in\"", "export_topic", "go together"),
        (
            "topic = \"a\"\nimport_pointer = \"/x\"",
            "import_pointer",
            "only used with import_topic",
        ),
        (
            "preset = \"smappee\"\ndevice = \"u\"",
            "channels",
            "publishIndex of the grid CTs",
        ),
        (
            "topic = \"a\"\nchannels = [1]",
            "channels",
            "only used with preset = \"smappee\"",
        ),
        (
            "topic = \"a\"\n[battery]\ntopic = \"b\"\nsign = \"import_positive\"",
            "battery.sign",
            "charge_positive",
        ),
        ("topic = \"a\"\nmax_age = \"0s\"", "max_age", "more than 0s"),
        (
            "topic = \"a\"\nplausible_min_w = 10\nplausible_max_w = 10",
            "plausible_min_w",
            "below",
        ),
        ("kind = \"grid\"", "topic", "missing: set topic"),
    ];
    for (text, key, needle) in cases {
        let ps = problems(text);
        assert!(
            ps.iter().any(|(k, m)| k == key && m.contains(needle)),
            "for\n{text}\nexpected {key}: …{needle}…, got {ps:?}"
        );
    }
}

#[test]
fn check_config_reports_surplus_and_mqtt_problems_with_their_lines() {
    let text = r#"[site]
timezone = "Europe/Brussels"

[mqtt]
host = "broker"
keep_alive = "1s"

[surplus]
preset = "victron"
pointer = "value"
"#;
    let problems =
        load_str(Path::new("/etc/sunplug/sunplug.toml"), text, Needs::SURPLUS).unwrap_err();
    let shown = problems.to_string();
    assert!(
        shown.contains("sunplug.toml:8: surplus.device: preset \"victron\" needs device"),
        "{shown}"
    );
    assert!(
        shown.contains("sunplug.toml:10: surplus.pointer: \"value\" is not a JSON pointer"),
        "{shown}"
    );
    assert!(shown.contains("sunplug.toml:6: mqtt.keep_alive"), "{shown}");
}

#[test]
fn the_example_config_resolves() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sunplug.toml"),
    )
    .unwrap();
    let raw: toml::Table = toml::from_str(&text).unwrap();
    let surplus: SurplusSection = raw["surplus"].clone().try_into().unwrap();
    let spec = resolve(&surplus).unwrap();
    assert_eq!(spec.topics(), ["shellypro3em-c8f09e8a1b2c/status/em:0"]);
}
