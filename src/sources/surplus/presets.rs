//! Meter presets: the topics, pointers, units and signs of the meters people really have, so that
//! `preset = "..."` plus `device = "..."` replaces five lines of config.
//!
//! Owns: [`Preset`] (names, what `device` means, the defaults) and [`PresetDefaults`]. A preset is
//! only a default: `spec.rs` lays the user's keys over it. Each preset below shows a payload as the
//! device publishes it; the same payloads are the test fixtures (`tests/it/surplus_presets.rs`) and the
//! user page (`docs/surplus-presets.md`).

use crate::config::surplus::{PowerUnit, PowerValue, Sign, SurplusKind};
use crate::mqtt::PeriodicPublish;
use std::time::Duration;

/// A known meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Shelly Pro 3EM (and other Gen2+ EM devices in the default "triphase" profile). With "Generic
    /// status update over MQTT" on, the device publishes the whole EM status on
    /// `<device>/status/em:0`:
    /// ```json
    /// {"id":0,"a_current":4.029,"a_voltage":236.1,"a_act_power":951.2,"a_aprt_power":951.9,"a_pf":1,
    ///  "b_current":0.311,"b_voltage":235.8,"b_act_power":-21.7,"b_aprt_power":73.3,"b_pf":0.3,
    ///  "c_current":0.525,"c_voltage":236.4,"c_act_power":85.5,"c_aprt_power":124.1,"c_pf":0.69,
    ///  "n_current":null,"total_current":4.865,"total_act_power":1015,"total_aprt_power":1149.3,
    ///  "user_calibrated_phase":[]}
    /// ```
    /// `total_act_power` is in W, positive when importing. Partial updates (a NotifyStatus on
    /// `<device>/events/rpc` carries only the fields that changed) are not an update of the total.
    ShellyPro3em,
    /// Shelly 3EM Gen1: one plain number per phase on `shellies/<device>/emeter/<0|1|2>/power`, in W,
    /// negative when returning: `1534.37`. The three are summed, and only while all three are fresh.
    Shelly3em,
    /// Tasmota with an SML (smart meter) script: `tele/<device>/SENSOR` every TelePeriod:
    /// ```json
    /// {"Time":"2026-06-01T12:00:00","SML":{"Total_in":12345.678,"Total_out":2345.6,"Power_curr":-1532}}
    /// ```
    /// `SML` and `Power_curr` are the names in the meter script; override `pointer` if yours differ.
    /// Set `TelePeriod 10` (the default of 300 s is too slow to steer a car).
    TasmotaSml,
    /// DSMR-reader, "split topic" telegrams: `dsmr/reading/electricity_currently_delivered` and
    /// `..._returned`, plain numbers in kW (`0.512`, `0.000`), retained. Grid = delivered − returned.
    DsmrReader,
    /// Victron Venus OS (dbus-flashmq): `N/<portal id>/system/0/Ac/Grid/L<1|2|3>/Power`, each
    /// `{"value": 1234.5}` in W, import positive; `{"value": null}` when a phase has no value. Venus
    /// publishes only while it receives `R/<portal id>/keepalive`; the link sends one after every
    /// connect (empty: "republish everything") and then `{"keepalive-options":["suppress-republish"]}`
    /// every 30 s. Single-phase site: set `topics` to the L1 topic only. Battery:
    /// `N/<portal id>/system/0/Dc/Battery/Power`, charge positive.
    Victron,
    /// Smappee Infinity/Genius local MQTT: `servicelocation/<uuid>/realtime` once a second:
    /// ```json
    /// {"totalPower":1480,"totalReactivePower":210,"totalImportEnergy":1234567,"totalExportEnergy":0,
    ///  "voltages":[{"voltage":231}],
    ///  "channelPowers":[{"ctInput":0,"publishIndex":0,"power":520,"current":23,"phaseId":0},
    ///                   {"ctInput":1,"publishIndex":1,"power":-310,"current":14,"phaseId":1}]}
    /// ```
    /// `totalPower` is the site's consumption; `channelPowers[].power` is each CT in W. Kind `grid`
    /// sums the channels listed in `channels` (the grid CTs' publishIndex); kind `pv_and_load` takes
    /// `totalPower` as the load and the `channels` (solar CTs) as PV.
    Smappee,
    /// Home Assistant MQTT Statestream (`base_topic: homeassistant`): the state of `device` (an entity
    /// id such as `sensor.grid_power`) as plain text on `homeassistant/sensor/grid_power/state`:
    /// `1234.5`, retained, `unavailable` when the sensor is. Statestream publishes on change only.
    HomeAssistant,
    /// evcc's MQTT API (`device` = its topic root, default `evcc`): `evcc/site/grid/power`, a plain
    /// number in W, import positive (`-2310.5`), retained. Battery: `evcc/site/battery/power`,
    /// discharge positive.
    Evcc,
}

/// What `device` is for a preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRule {
    /// Required; the text says what it is.
    Required(&'static str),
    /// Optional, with this default.
    Default(&'static str),
    /// Not used.
    Unused,
}

/// What a preset fills in. `battery` applies only when the user writes a `[surplus.battery]` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresetDefaults {
    /// The grid (or surplus) value.
    pub main: PowerValue,
    pub pv: Option<PowerValue>,
    pub load: Option<PowerValue>,
    pub battery: Option<PowerValue>,
    pub keepalive: Option<PeriodicPublish>,
}

/// How often the Victron keep-alive is sent (Venus stops after 60 s without one).
pub const VICTRON_KEEPALIVE_EVERY: Duration = Duration::from_secs(30);

impl Preset {
    pub const ALL: [Preset; 8] = [
        Preset::ShellyPro3em,
        Preset::Shelly3em,
        Preset::TasmotaSml,
        Preset::DsmrReader,
        Preset::Victron,
        Preset::Smappee,
        Preset::HomeAssistant,
        Preset::Evcc,
    ];

    /// The name written in `preset = "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::ShellyPro3em => "shelly-pro-3em",
            Preset::Shelly3em => "shelly-3em",
            Preset::TasmotaSml => "tasmota-sml",
            Preset::DsmrReader => "dsmr-reader",
            Preset::Victron => "victron",
            Preset::Smappee => "smappee",
            Preset::HomeAssistant => "homeassistant",
            Preset::Evcc => "evcc",
        }
    }

    /// By name, accepting a few spellings people use ("shelly-gen2", "home-assistant", "venus"...).
    pub fn parse(name: &str) -> Option<Preset> {
        let n = name.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        let p = match n.as_str() {
            "shelly-pro-3em" | "shelly-gen2" | "shelly-pro3em" | "shelly-3em-gen3" => {
                Preset::ShellyPro3em
            }
            "shelly-3em" | "shelly-gen1" | "shelly-3em-gen1" => Preset::Shelly3em,
            "tasmota-sml" | "tasmota" => Preset::TasmotaSml,
            "dsmr-reader" | "dsmr" => Preset::DsmrReader,
            "victron" | "venus" | "victron-venus" => Preset::Victron,
            "smappee" => Preset::Smappee,
            "homeassistant" | "home-assistant" | "statestream" => Preset::HomeAssistant,
            "evcc" => Preset::Evcc,
            _ => return None,
        };
        Some(p)
    }

    pub fn device_rule(self) -> DeviceRule {
        match self {
            Preset::ShellyPro3em => DeviceRule::Required(
                "the device's MQTT topic prefix, e.g. \"shellypro3em-c8f09e8a1b2c\"",
            ),
            Preset::Shelly3em => {
                DeviceRule::Required("the device id, e.g. \"shellyem3-8CAAB5ABCDEF\"")
            }
            Preset::TasmotaSml => {
                DeviceRule::Required("the Tasmota topic, e.g. \"tasmota_8A1B2C\"")
            }
            Preset::DsmrReader => DeviceRule::Unused,
            Preset::Victron => DeviceRule::Required("the VRM portal id, e.g. \"c0619ab12345\""),
            Preset::Smappee => DeviceRule::Required("the service location UUID"),
            Preset::HomeAssistant => {
                DeviceRule::Required("the entity id, e.g. \"sensor.grid_power\"")
            }
            Preset::Evcc => DeviceRule::Default("evcc"),
        }
    }

    /// The defaults for `device` (already checked against [`Preset::device_rule`]), the kind in use
    /// and the Smappee `channels`.
    pub fn defaults(self, device: &str, kind: SurplusKind, channels: &[u32]) -> PresetDefaults {
        let watts = |topic: String, pointer: Option<&str>, sign: Sign| PowerValue {
            topic: Some(topic),
            pointer: pointer.map(str::to_string),
            unit: Some(PowerUnit::W),
            sign: Some(sign),
            ..PowerValue::default()
        };
        let d = device;
        match self {
            Preset::ShellyPro3em => PresetDefaults {
                main: watts(
                    format!("{d}/status/em:0"),
                    Some("/total_act_power"),
                    Sign::ImportPositive,
                ),
                ..PresetDefaults::default()
            },
            Preset::Shelly3em => PresetDefaults {
                main: PowerValue {
                    topics: (0..3)
                        .map(|i| format!("shellies/{d}/emeter/{i}/power"))
                        .collect(),
                    unit: Some(PowerUnit::W),
                    sign: Some(Sign::ImportPositive),
                    ..PowerValue::default()
                },
                ..PresetDefaults::default()
            },
            Preset::TasmotaSml => PresetDefaults {
                main: watts(
                    format!("tele/{d}/SENSOR"),
                    Some("/SML/Power_curr"),
                    Sign::ImportPositive,
                ),
                ..PresetDefaults::default()
            },
            Preset::DsmrReader => PresetDefaults {
                main: PowerValue {
                    import_topic: Some("dsmr/reading/electricity_currently_delivered".into()),
                    export_topic: Some("dsmr/reading/electricity_currently_returned".into()),
                    unit: Some(PowerUnit::KW),
                    sign: Some(Sign::ImportPositive),
                    ..PowerValue::default()
                },
                ..PresetDefaults::default()
            },
            Preset::Victron => PresetDefaults {
                main: PowerValue {
                    topics: (1..=3)
                        .map(|l| format!("N/{d}/system/0/Ac/Grid/L{l}/Power"))
                        .collect(),
                    pointer: Some("/value".into()),
                    unit: Some(PowerUnit::W),
                    sign: Some(Sign::ImportPositive),
                    ..PowerValue::default()
                },
                battery: Some(watts(
                    format!("N/{d}/system/0/Dc/Battery/Power"),
                    Some("/value"),
                    Sign::ChargePositive,
                )),
                keepalive: Some(PeriodicPublish {
                    topic: format!("R/{d}/keepalive"),
                    on_connect: Vec::new(),
                    payload: br#"{"keepalive-options":["suppress-republish"]}"#.to_vec(),
                    every: VICTRON_KEEPALIVE_EVERY,
                }),
                ..PresetDefaults::default()
            },
            Preset::Smappee => {
                let topic = format!("servicelocation/{d}/realtime");
                let channel_sum = |sign: Sign| PowerValue {
                    topic: Some(topic.clone()),
                    pointers: channels
                        .iter()
                        .map(|c| format!("/channelPowers/[publishIndex={c}]/power"))
                        .collect(),
                    unit: Some(PowerUnit::W),
                    sign: Some(sign),
                    ..PowerValue::default()
                };
                match kind {
                    SurplusKind::PvAndLoad => PresetDefaults {
                        pv: Some(channel_sum(Sign::ExportPositive)),
                        load: Some(watts(
                            topic.clone(),
                            Some("/totalPower"),
                            Sign::ImportPositive,
                        )),
                        ..PresetDefaults::default()
                    },
                    SurplusKind::Grid => PresetDefaults {
                        main: channel_sum(Sign::ImportPositive),
                        ..PresetDefaults::default()
                    },
                    SurplusKind::Surplus => PresetDefaults::default(),
                }
            }
            Preset::HomeAssistant => {
                let (domain, object) = d.split_once('.').unwrap_or(("sensor", d));
                PresetDefaults {
                    main: watts(
                        format!("homeassistant/{domain}/{object}/state"),
                        None,
                        Sign::ImportPositive,
                    ),
                    ..PresetDefaults::default()
                }
            }
            Preset::Evcc => PresetDefaults {
                main: watts(format!("{d}/site/grid/power"), None, Sign::ImportPositive),
                battery: Some(watts(
                    format!("{d}/site/battery/power"),
                    None,
                    Sign::DischargePositive,
                )),
                ..PresetDefaults::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.name()), Some(p));
        }
        assert_eq!(Preset::parse("Shelly_Gen2"), Some(Preset::ShellyPro3em));
        assert_eq!(Preset::parse("Home Assistant"), Some(Preset::HomeAssistant));
        assert_eq!(Preset::parse("fronius"), None);
    }

    #[test]
    fn home_assistant_entity_becomes_its_statestream_topic() {
        let d = Preset::HomeAssistant.defaults("sensor.p1_meter_power", SurplusKind::Grid, &[]);
        assert_eq!(
            d.main.topic.as_deref(),
            Some("homeassistant/sensor/p1_meter_power/state")
        );
        assert_eq!(d.main.pointer, None);
    }

    #[test]
    fn smappee_channels_become_selectors() {
        let d = Preset::Smappee.defaults("uuid-1", SurplusKind::Grid, &[0, 1, 2]);
        assert_eq!(
            d.main.topic.as_deref(),
            Some("servicelocation/uuid-1/realtime")
        );
        assert_eq!(d.main.pointers[2], "/channelPowers/[publishIndex=2]/power");
        let d = Preset::Smappee.defaults("uuid-1", SurplusKind::PvAndLoad, &[3]);
        assert_eq!(d.load.unwrap().pointer.as_deref(), Some("/totalPower"));
        assert_eq!(
            d.pv.unwrap().pointers,
            ["/channelPowers/[publishIndex=3]/power"]
        );
    }
}
