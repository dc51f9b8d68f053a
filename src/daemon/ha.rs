//! Home Assistant over MQTT: discovery messages, the state payload, and the commands HA sends back.
//!
//! Owns: [`Topics`] (every topic sunplug uses under `[mqtt] base_topic`), [`discovery`] (the retained
//! config messages: a sunplug device with sensors, a policy select, target/minimum SoC numbers, a
//! departure text, charge-now / back-to-policy buttons and the car as a device_tracker), [`StateView`]
//! (the one JSON state message every entity reads) and [`parse_command`] (HA → sunplug, validated like
//! config: a bad value is rejected with a reason, never applied).
//! Pure: the daemon does the publishing.

use crate::config::values::LocalTime;
use crate::units::Soc;
use serde::Serialize;
use serde_json::{Value, json};

/// The topics under the base topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub base: String,
    pub discovery_prefix: String,
    /// A slug of the site name, for unique ids.
    pub node: String,
    /// The site's base topic: its availability is the site's, also for a loadpoint's topics.
    pub site_base: String,
}

impl Topics {
    pub fn new(base: &str, discovery_prefix: &str, site_name: &str) -> Topics {
        let slug: String = site_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let base = base.trim_end_matches('/').to_string();
        Topics {
            site_base: base.clone(),
            base,
            discovery_prefix: discovery_prefix.trim_end_matches('/').to_string(),
            node: format!("sunplug_{slug}"),
        }
    }
    /// The topics of loadpoint `name` of a site with several: its state, commands and car under
    /// `<base>/<name>/`, its entities' ids `<node>_<name>_...`; availability stays the site's.
    pub fn loadpoint(&self, name: &str) -> Topics {
        Topics {
            base: format!("{}/{name}", self.site_base),
            discovery_prefix: self.discovery_prefix.clone(),
            node: format!(
                "{}_{}",
                self.node,
                name.to_ascii_lowercase().replace('-', "_")
            ),
            site_base: self.site_base.clone(),
        }
    }
    /// "online" / "offline", retained; the last will says "offline".
    pub fn availability(&self) -> String {
        format!("{}/status", self.site_base)
    }
    pub fn state(&self) -> String {
        format!("{}/state", self.base)
    }
    pub fn car_location(&self) -> String {
        format!("{}/car/location", self.base)
    }
    /// Commands from HA: `<base>/set/<name>`.
    pub fn commands(&self) -> String {
        format!("{}/set/+", self.base)
    }
    pub fn command(&self, name: &str) -> String {
        format!("{}/set/{name}", self.base)
    }
    /// Home Assistant announces itself here ("online" after a restart): re-publish discovery then.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }
    fn config(&self, component: &str, object: &str) -> String {
        format!(
            "{}/{component}/{}/{object}/config",
            self.discovery_prefix, self.node
        )
    }
}

/// The state message (`<base>/state`, JSON). `None` fields are published as null ("unknown" in HA).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StateView {
    pub surplus_w: Option<f64>,
    pub grid_w: Option<f64>,
    pub charger_current_a: f64,
    pub charger_power_w: Option<f64>,
    pub soc_pct: Option<f64>,
    pub target_soc_pct: Option<f64>,
    /// "charging", "paused", "no car"
    pub state: String,
    pub policy: String,
    pub reason: String,
    pub meter_age_s: Option<f64>,
    pub vehicle_age_s: Option<f64>,
    /// A vendor setting that fights sunplug (e.g. Enode smart charging on), else null.
    pub vehicle_warning: Option<String>,
    /// The user's settings, echoed for the controls.
    pub target_soc_setting: Option<f64>,
    pub min_soc_setting: Option<f64>,
    pub departure_setting: String,
    pub charge_now: bool,
    /// The departure plan's first grid slot (RFC 3339), when the policy plans and buys grid energy.
    pub planned_start: Option<String>,
    /// The plan's expected cost of grid energy (the config's currency).
    pub planned_cost: Option<f64>,
    /// The PV energy the `[forecast]` still expects today, kWh (null without a fresh forecast).
    pub solar_forecast_today_kwh: Option<f64>,
}

impl StateView {
    pub fn to_json(&self) -> String {
        let mut v = self.clone();
        // HA keeps at most 255 characters of a state.
        if v.reason.chars().count() > 250 {
            v.reason = v.reason.chars().take(249).collect::<String>() + "…";
        }
        serde_json::to_string(&v).unwrap_or_else(|_| "{}".into())
    }
}

/// The car's position for the device_tracker (`json_attributes_topic`).
pub fn location_payload(latitude: f64, longitude: f64, gps_accuracy_m: f64) -> String {
    json!({"latitude": latitude, "longitude": longitude, "gps_accuracy": gps_accuracy_m})
        .to_string()
}

/// Every discovery message: (topic, retained JSON payload). `policies` are the selectable names.
pub fn discovery(
    t: &Topics,
    site_name: &str,
    policies: &[String],
    with_car_tracker: bool,
) -> Vec<(String, String)> {
    let device = json!({
        "identifiers": [t.node],
        "name": format!("sunplug {site_name}"),
        "manufacturer": "sunplug",
        "model": "solar EV charging controller",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    let common = |object: &str, name: &str| {
        json!({
            "name": name,
            "unique_id": format!("{}_{object}", t.node),
            "object_id": format!("{}_{object}", t.node),
            "device": device,
            "availability_topic": t.availability(),
            "payload_available": "online",
            "payload_not_available": "offline",
        })
    };
    let mut out = Vec::new();
    let mut add = |component: &str, object: &str, mut v: Value, extra: Value| {
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        out.push((t.config(component, object), v.to_string()));
    };
    let sensor = |field: &str, extra: Value| {
        let mut e = json!({
            "state_topic": t.state(),
            "value_template": format!("{{{{ value_json.{field} }}}}"),
        });
        if let (Some(m), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            m.extend(x.clone());
        }
        e
    };
    let power =
        json!({"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"});
    let diag_age = json!({"device_class": "duration", "unit_of_measurement": "s", "entity_category": "diagnostic"});
    for (object, name, extra) in [
        ("surplus", "Solar surplus", power.clone()),
        ("grid", "Grid power", power.clone()),
        ("charger_power", "Charger power", power),
        (
            "charger_current",
            "Charger current",
            json!({"device_class": "current", "unit_of_measurement": "A", "state_class": "measurement"}),
        ),
        (
            "soc",
            "Car state of charge",
            json!({"device_class": "battery", "unit_of_measurement": "%", "state_class": "measurement"}),
        ),
        (
            "target_soc",
            "Charging target",
            json!({"unit_of_measurement": "%"}),
        ),
        ("state", "Charging state", json!({"icon": "mdi:ev-station"})),
        (
            "policy",
            "Active policy",
            json!({"icon": "mdi:script-text-outline"}),
        ),
        (
            "reason",
            "Last decision",
            json!({"icon": "mdi:comment-question-outline"}),
        ),
        ("meter_age", "Meter data age", diag_age.clone()),
        ("vehicle_age", "Vehicle data age", diag_age),
        (
            "vehicle_warning",
            "Vehicle warning",
            json!({"icon": "mdi:alert", "entity_category": "diagnostic"}),
        ),
        (
            "planned_start",
            "Planned grid start",
            json!({"device_class": "timestamp", "icon": "mdi:calendar-clock"}),
        ),
        (
            "planned_cost",
            "Planned charging cost",
            json!({"icon": "mdi:cash", "state_class": "measurement"}),
        ),
        (
            "solar_forecast_today",
            "Solar forecast rest of today",
            json!({"device_class": "energy", "unit_of_measurement": "kWh", "icon": "mdi:solar-power-variant"}),
        ),
    ] {
        let field = match object {
            "surplus" => "surplus_w",
            "grid" => "grid_w",
            "charger_power" => "charger_power_w",
            "charger_current" => "charger_current_a",
            "soc" => "soc_pct",
            "target_soc" => "target_soc_pct",
            "meter_age" => "meter_age_s",
            "vehicle_age" => "vehicle_age_s",
            "solar_forecast_today" => "solar_forecast_today_kwh",
            other => other,
        };
        add("sensor", object, common(object, name), sensor(field, extra));
    }
    add(
        "select",
        "policy_select",
        common("policy_select", "Policy"),
        json!({
            "command_topic": t.command("policy"),
            "state_topic": t.state(),
            "value_template": "{{ value_json.policy }}",
            "options": policies,
        }),
    );
    for (object, name, field) in [
        ("target_soc_setting", "Target SoC", "target_soc"),
        ("min_soc_setting", "Minimum SoC", "min_soc"),
    ] {
        add(
            "number",
            object,
            common(object, name),
            json!({
                "command_topic": t.command(field),
                "state_topic": t.state(),
                "value_template": format!("{{{{ value_json.{object} }}}}"),
                "min": 0, "max": 100, "step": 1, "unit_of_measurement": "%", "mode": "slider",
            }),
        );
    }
    add(
        "text",
        "departure",
        common("departure", "Departure time"),
        json!({
            "command_topic": t.command("departure"),
            "state_topic": t.state(),
            "value_template": "{{ value_json.departure_setting }}",
            "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9])?$",
            "min": 0, "max": 5,
        }),
    );
    for (object, name, icon) in [
        ("charge_now", "Charge now", "mdi:flash"),
        ("back_to_policy", "Back to policy", "mdi:weather-sunny"),
    ] {
        add(
            "button",
            object,
            common(object, name),
            json!({"command_topic": t.command(object), "payload_press": "PRESS", "icon": icon}),
        );
    }
    if with_car_tracker {
        add(
            "device_tracker",
            "car",
            common("car", "Car"),
            json!({"json_attributes_topic": t.car_location(), "source_type": "gps", "icon": "mdi:car-electric"}),
        );
    }
    out
}

/// A validated command from Home Assistant.
#[derive(Debug, Clone, PartialEq)]
pub enum HaCommand {
    Policy(String),
    TargetSoc(Soc),
    MinSoc(Option<Soc>),
    Departure(Option<LocalTime>),
    ChargeNow,
    BackToPolicy,
}

/// Parse a message on `<base>/set/<name>`. Errors say what was wrong, for the log.
pub fn parse_command(
    t: &Topics,
    topic: &str,
    payload: &[u8],
    policies: &[String],
) -> Result<HaCommand, String> {
    let name = topic
        .strip_prefix(&format!("{}/set/", t.base))
        .ok_or_else(|| format!("not a command topic: {topic}"))?;
    let text = std::str::from_utf8(payload)
        .map_err(|_| format!("{name}: payload is not text"))?
        .trim();
    let soc = |text: &str| -> Result<Soc, String> {
        let v: f64 = text.parse().map_err(|_| {
            format!(
                "{name}: \"{}\" is not a number",
                crate::vendor::excerpt(text)
            )
        })?;
        Soc::new(v).ok_or_else(|| format!("{name}: {v} is outside 0..=100 %"))
    };
    match name {
        "policy" => {
            if policies.iter().any(|p| p == text) {
                Ok(HaCommand::Policy(text.to_string()))
            } else {
                Err(format!(
                    "policy: \"{}\" is not one of {}",
                    crate::vendor::excerpt(text),
                    policies.join(", ")
                ))
            }
        }
        "target_soc" => soc(text).map(HaCommand::TargetSoc),
        "min_soc" if text.is_empty() || text.eq_ignore_ascii_case("none") => {
            Ok(HaCommand::MinSoc(None))
        }
        "min_soc" => soc(text).map(|s| HaCommand::MinSoc(Some(s))),
        "departure" if text.is_empty() || text.eq_ignore_ascii_case("none") => {
            Ok(HaCommand::Departure(None))
        }
        "departure" => text
            .parse::<LocalTime>()
            .map(|t| HaCommand::Departure(Some(t))),
        "charge_now" => Ok(HaCommand::ChargeNow),
        "back_to_policy" => Ok(HaCommand::BackToPolicy),
        other => Err(format!(
            "unknown command \"{}\"",
            crate::vendor::excerpt(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        Topics::new("sunplug", "homeassistant", "My Home")
    }

    #[test]
    fn discovery_messages_are_valid_and_complete() {
        let t = topics();
        let msgs = discovery(&t, "My Home", &["pv-only".into(), "fast".into()], true);
        let mut ids = std::collections::HashSet::new();
        for (topic, payload) in &msgs {
            assert!(
                topic.starts_with("homeassistant/") && topic.ends_with("/config"),
                "{topic}"
            );
            let v: Value = serde_json::from_str(payload).unwrap();
            assert!(
                ids.insert(v["unique_id"].as_str().unwrap().to_string()),
                "duplicate id"
            );
            assert_eq!(v["availability_topic"], "sunplug/status");
            assert_eq!(v["device"]["identifiers"][0], "sunplug_my_home");
        }
        let components: Vec<&str> = msgs
            .iter()
            .map(|(t, _)| t.split('/').nth(1).unwrap())
            .collect();
        for c in [
            "sensor",
            "select",
            "number",
            "text",
            "button",
            "device_tracker",
        ] {
            assert!(components.contains(&c), "{c} missing");
        }
        let select = msgs.iter().find(|(t, _)| t.contains("/select/")).unwrap();
        assert!(
            select.1.contains("\"options\":[\"pv-only\",\"fast\"]"),
            "{}",
            select.1
        );
        assert!(
            !discovery(&t, "x", &[], false)
                .iter()
                .any(|(t, _)| t.contains("device_tracker"))
        );
    }

    #[test]
    fn commands_are_validated() {
        let t = topics();
        let pols = vec!["pv-only".to_string(), "fast".to_string()];
        let p = |name: &str, payload: &str| {
            parse_command(
                &t,
                &format!("sunplug/set/{name}"),
                payload.as_bytes(),
                &pols,
            )
        };
        assert_eq!(p("policy", "fast"), Ok(HaCommand::Policy("fast".into())));
        assert!(
            p("policy", "turbo")
                .unwrap_err()
                .contains("not one of pv-only, fast")
        );
        assert_eq!(
            p("target_soc", "80"),
            Ok(HaCommand::TargetSoc(Soc::new(80.0).unwrap()))
        );
        assert!(p("target_soc", "180").unwrap_err().contains("outside"));
        assert!(
            p("target_soc", "lots")
                .unwrap_err()
                .contains("not a number")
        );
        assert_eq!(p("min_soc", ""), Ok(HaCommand::MinSoc(None)));
        assert_eq!(
            p("departure", "07:30"),
            Ok(HaCommand::Departure(Some("07:30".parse().unwrap())))
        );
        assert!(p("departure", "7h").is_err());
        assert_eq!(p("charge_now", "PRESS"), Ok(HaCommand::ChargeNow));
        assert!(p("self_destruct", "1").is_err());
        assert!(parse_command(&t, "other/set/x", b"1", &pols).is_err());
        assert!(parse_command(&t, "sunplug/set/target_soc", b"\xff", &pols).is_err());
    }

    #[test]
    fn a_vehicle_warning_is_a_sensor_of_the_state_message() {
        let msgs = discovery(&topics(), "x", &[], true);
        let (_, cfg) = msgs
            .iter()
            .find(|(t, _)| t.ends_with("/vehicle_warning/config"))
            .expect("a vehicle warning sensor");
        let cfg: Value = serde_json::from_str(cfg).unwrap();
        assert_eq!(cfg["value_template"], "{{ value_json.vehicle_warning }}");
        let v = StateView {
            vehicle_warning: Some("Enode smart charging is on".into()),
            ..StateView::default()
        };
        let parsed: Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(parsed["vehicle_warning"], "Enode smart charging is on");
        let none: Value = serde_json::from_str(&StateView::default().to_json()).unwrap();
        assert!(none["vehicle_warning"].is_null());
    }

    #[test]
    fn the_plan_is_two_sensors_of_the_state_message() {
        let msgs = discovery(&topics(), "x", &[], false);
        for (object, field) in [
            ("planned_start", "planned_start"),
            ("planned_cost", "planned_cost"),
        ] {
            let (_, cfg) = msgs
                .iter()
                .find(|(t, _)| t.ends_with(&format!("/{object}/config")))
                .expect("a plan sensor");
            let cfg: Value = serde_json::from_str(cfg).unwrap();
            assert_eq!(
                cfg["value_template"],
                format!("{{{{ value_json.{field} }}}}")
            );
        }
        let v = StateView {
            planned_start: Some("2026-06-02T00:00:00+00:00".into()),
            planned_cost: Some(2.0),
            ..StateView::default()
        };
        let parsed: Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(parsed["planned_start"], "2026-06-02T00:00:00+00:00");
        assert_eq!(parsed["planned_cost"], 2.0);
    }

    #[test]
    fn the_forecast_left_today_is_a_sensor_in_kwh() {
        let msgs = discovery(&topics(), "x", &[], false);
        let (_, cfg) = msgs
            .iter()
            .find(|(t, _)| t.ends_with("/solar_forecast_today/config"))
            .expect("a forecast sensor");
        let cfg: Value = serde_json::from_str(cfg).unwrap();
        assert_eq!(
            cfg["value_template"],
            "{{ value_json.solar_forecast_today_kwh }}"
        );
        assert_eq!(cfg["unit_of_measurement"], "kWh");
        let v = StateView {
            solar_forecast_today_kwh: Some(12.5),
            ..StateView::default()
        };
        let parsed: Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(parsed["solar_forecast_today_kwh"], 12.5);
    }

    #[test]
    fn long_reasons_are_cut_for_home_assistant() {
        let v = StateView {
            reason: "x".repeat(400),
            ..StateView::default()
        };
        let parsed: Value = serde_json::from_str(&v.to_json()).unwrap();
        assert!(parsed["reason"].as_str().unwrap().chars().count() <= 250);
    }
}
