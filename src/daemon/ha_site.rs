//! Home Assistant for a site with several loadpoints: one device per loadpoint and one for the site.
//!
//! Owns: [`loadpoint_discovery`] (a loadpoint's device: the entities of the single-charger device,
//! under `<base>/<name>/`, without the site's sensors), [`site_discovery`] (the site's device: solar
//! surplus, grid power, what the cars load on each phase and the solar forecast, once) and [`SiteView`] (the site's
//! state message on `<base>/state`). A config without `[[loadpoint]]` tables keeps the one device
//! of `ha.rs` with the entity ids it always had. Pure: the daemon does the publishing.

use super::ha::{Topics, discovery};
use serde::Serialize;
use serde_json::json;

/// The site's sensors, which the single-charger device carries and a loadpoint's does not.
const SITE_SENSORS: [&str; 3] = ["surplus", "grid", "solar_forecast_today"];

/// A loadpoint's discovery messages: `t` is [`Topics::loadpoint`] of the site's topics.
pub fn loadpoint_discovery(
    t: &Topics,
    site_name: &str,
    loadpoint: &str,
    policies: &[String],
    with_car_tracker: bool,
) -> Vec<(String, String)> {
    discovery(
        t,
        &format!("{site_name} {loadpoint}"),
        policies,
        with_car_tracker,
    )
    .into_iter()
    .filter(|(topic, _)| {
        !SITE_SENSORS
            .iter()
            .any(|s| topic.ends_with(&format!("/sensor/{}/{s}/config", t.node)))
    })
    .collect()
}

/// The site's state message (`<base>/state`, JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SiteView {
    /// The surplus with every car added back, W.
    pub surplus_w: Option<f64>,
    pub grid_w: Option<f64>,
    /// What the cars' commands load on L1, L2, L3, A.
    pub load_l1_a: f64,
    pub load_l2_a: f64,
    pub load_l3_a: f64,
    /// The main fuse minus the house load, per phase, A (when the site has a fuse).
    pub headroom_a: Option<f64>,
    /// How many loadpoints are charging.
    pub charging: usize,
    /// The PV energy the `[forecast]` still expects today, kWh (null without a fresh forecast).
    pub solar_forecast_today_kwh: Option<f64>,
}

impl SiteView {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The site's device: surplus, grid and the per-phase load, once for every loadpoint.
pub fn site_discovery(t: &Topics, site_name: &str) -> Vec<(String, String)> {
    let device = json!({
        "identifiers": [t.node],
        "name": format!("sunplug {site_name}"),
        "manufacturer": "sunplug",
        "model": "solar EV charging controller (site)",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    let power =
        json!({"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"});
    let current = json!({"device_class": "current", "unit_of_measurement": "A", "state_class": "measurement"});
    let mut out = Vec::new();
    for (object, name, field, extra) in [
        ("surplus", "Solar surplus", "surplus_w", power.clone()),
        ("grid", "Grid power", "grid_w", power),
        ("load_l1", "Cars on L1", "load_l1_a", current.clone()),
        ("load_l2", "Cars on L2", "load_l2_a", current.clone()),
        ("load_l3", "Cars on L3", "load_l3_a", current.clone()),
        ("headroom", "Fuse headroom", "headroom_a", current),
        (
            "charging",
            "Cars charging",
            "charging",
            json!({"icon": "mdi:ev-station", "state_class": "measurement"}),
        ),
        (
            "solar_forecast_today",
            "Solar forecast rest of today",
            "solar_forecast_today_kwh",
            json!({"device_class": "energy", "unit_of_measurement": "kWh", "icon": "mdi:solar-power-variant"}),
        ),
    ] {
        let mut v = json!({
            "name": name,
            "unique_id": format!("{}_{object}", t.node),
            "object_id": format!("{}_{object}", t.node),
            "device": device,
            "availability_topic": t.availability(),
            "payload_available": "online",
            "payload_not_available": "offline",
            "state_topic": t.state(),
            "value_template": format!("{{{{ value_json.{field} }}}}"),
        });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        out.push((
            format!("{}/sensor/{}/{object}/config", t.discovery_prefix, t.node),
            v.to_string(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn each_loadpoint_is_a_device_and_the_site_sensors_come_once() {
        let site = Topics::new("sunplug", "homeassistant", "Home");
        let garage = site.loadpoint("garage");
        let lp = loadpoint_discovery(&garage, "Home", "garage", &["pv-only".into()], false);
        let ids: Vec<String> = lp
            .iter()
            .map(|(_, p)| {
                let v: Value = serde_json::from_str(p).unwrap();
                assert_eq!(v["device"]["identifiers"][0], "sunplug_home_garage");
                assert_eq!(
                    v["availability_topic"], "sunplug/status",
                    "the site's availability"
                );
                v["unique_id"].as_str().unwrap().to_string()
            })
            .collect();
        for want in [
            "sunplug_home_garage_soc",
            "sunplug_home_garage_charger_power",
            "sunplug_home_garage_policy_select",
            "sunplug_home_garage_target_soc_setting",
            "sunplug_home_garage_departure",
            "sunplug_home_garage_charge_now",
        ] {
            assert!(ids.iter().any(|i| i == want), "{want} missing in {ids:?}");
        }
        assert!(
            !ids.iter()
                .any(|i| i.ends_with("_surplus") || i.ends_with("_grid")),
            "the site's sensors are the site device's: {ids:?}"
        );
        let policy = lp
            .iter()
            .find(|(t, _)| t.contains("/select/"))
            .map(|(_, p)| serde_json::from_str::<Value>(p).unwrap())
            .unwrap();
        assert_eq!(policy["command_topic"], "sunplug/garage/set/policy");
        assert_eq!(policy["state_topic"], "sunplug/garage/state");

        let s = site_discovery(&site, "Home");
        let ids: Vec<String> = s
            .iter()
            .map(|(_, p)| {
                serde_json::from_str::<Value>(p).unwrap()["unique_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            ids,
            [
                "sunplug_home_surplus",
                "sunplug_home_grid",
                "sunplug_home_load_l1",
                "sunplug_home_load_l2",
                "sunplug_home_load_l3",
                "sunplug_home_headroom",
                "sunplug_home_charging",
                "sunplug_home_solar_forecast_today"
            ],
            "the site keeps the single device's ids for surplus and grid"
        );
    }
}
