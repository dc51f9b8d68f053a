//! The checks of the vendor sections beyond their types: `[smappee]`, `[enode]`, `[cariad]`,
//! `[vehicle.mqtt]` and `[mqtt]`. Config validation (`checks.rs`) calls them; they live here so that
//! `config` validates alone and imports nothing above it.

use super::SmappeeSection;
use super::schema::{DEFAULT_MAX_PACKET, HARD_PACKET_LIMIT, MqttSection};
use super::vehicle::{CariadSection, EnodeSection, VehicleMqttSection};
use std::time::Duration;

/// Check `[smappee]` beyond its types. `needs_charger`: the command drives the charger, so the
/// station's serial is required (`sunplug smappee locations`, which finds it, does without).
pub fn check_smappee(s: &SmappeeSection, needs_charger: bool, push: &mut dyn FnMut(&str, String)) {
    if s.client_id.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push(
            "client_id",
            "missing: the API client id Smappee gave you".into(),
        );
    }
    if s.username.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push("username", "missing: your Smappee account user name".into());
    }
    if needs_charger && s.serial.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push(
            "serial",
            "missing: the charging station's serial (not the Connect hub's); `sunplug smappee locations` lists it"
                .into(),
        );
    }
    if !(1..=2).contains(&s.connector) {
        push(
            "connector",
            format!(
                "{} is not a connector position: use 1 (right) or 2 (left)",
                s.connector
            ),
        );
    }
    let url = reqwest::Url::parse(&s.base_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    match url {
        None => push(
            "base_url",
            format!(
                "\"{}\" is not a URL: use e.g. \"https://app1pub.smappee.net\"",
                s.base_url
            ),
        ),
        Some(u) if u.path() != "/" || u.query().is_some() => push(
            "base_url",
            format!(
                "\"{}\" has a path: give only the scheme and host, e.g. \"https://app1pub.smappee.net\" \
                 (sunplug adds /dev/v1/oauth2/token and /dev/v3/...)",
                s.base_url
            ),
        ),
        Some(_) => {}
    }
    if s.service_location_id.is_some_and(|id| id <= 0) {
        push(
            "service_location_id",
            "must be a positive number: `sunplug smappee locations` lists it".into(),
        );
    }
    if s.service_location_uuid
        .as_deref()
        .is_some_and(|u| u.trim().is_empty())
    {
        push(
            "service_location_uuid",
            "is empty: remove it or copy the UUID from `sunplug smappee locations`".into(),
        );
    }
    if !s.charger_channels.is_empty() && s.service_location_uuid.is_none() {
        push(
            "charger_channels",
            "is set but service_location_uuid is not: the channels are read from \
             servicelocation/<uuid>/realtime"
                .into(),
        );
    }
    let mut seen = s.charger_channels.clone();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        push(
            "charger_channels",
            "lists a channel twice: its power would count double".into(),
        );
    }
    let poll = s.poll_interval.as_secs_f64();
    if !(5.0..=600.0).contains(&poll) {
        push(
            "poll_interval",
            format!(
                "{} is out of range: use 5s..10m (30s is a good start)",
                s.poll_interval
            ),
        );
    }
    let (connect, total) = (
        s.connect_timeout.as_secs_f64(),
        s.request_timeout.as_secs_f64(),
    );
    if !(0.5..=60.0).contains(&connect) {
        push(
            "connect_timeout",
            format!("{} is out of range: use 1s..1m", s.connect_timeout),
        );
    }
    if !(1.0..=120.0).contains(&total) || total < connect {
        push(
            "request_timeout",
            format!(
                "{} is out of range: use 1s..2m, at least connect_timeout ({})",
                s.request_timeout, s.connect_timeout
            ),
        );
    }
}

fn is_url(s: &str) -> bool {
    reqwest::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn check_interval(
    push: &mut dyn FnMut(&str, String),
    key: &str,
    d: Duration,
    min: u64,
    max: u64,
    why: &str,
) {
    if d.as_secs() < min || d.as_secs() > max {
        let f = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
        push(
            key,
            format!(
                "{} is out of range: use {}..{} ({why})",
                humantime::format_duration(d),
                f(min),
                f(max)
            ),
        );
    }
}

/// Check `[enode]` beyond its types. `need`: the command polls the car (`vehicle_id` required).
pub fn check_enode(e: &EnodeSection, need: bool, push: &mut dyn FnMut(&str, String)) {
    if e.client_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "client_id",
            "missing: the Enode client id of your application".into(),
        );
    }
    if need && e.vehicle_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "vehicle_id",
            "missing: find it with `sunplug enode vehicles`".into(),
        );
    }
    for (key, url) in [("api_url", &e.api_url), ("oauth_url", &e.oauth_url)] {
        if let Some(u) = url.as_deref().filter(|u| !is_url(u)) {
            push(key, format!("\"{u}\" is not an http(s) URL"));
        }
    }
    if !(1..=600).contains(&e.max_calls_per_hour) {
        push(
            "max_calls_per_hour",
            format!(
                "{} is out of range: use 1..600 (30 is a good start)",
                e.max_calls_per_hour
            ),
        );
    }
    let why = "Enode refreshes about every 2 min while charging, 7 min otherwise";
    check_interval(push, "poll_charging", e.poll_charging.get(), 60, 3600, why);
    check_interval(
        push,
        "poll_plugged",
        e.poll_plugged.get(),
        60,
        6 * 3600,
        why,
    );
    check_interval(push, "poll_away", e.poll_away.get(), 60, 24 * 3600, why);
}

/// Check `[cariad]` beyond its types. `need`: the command talks to the car's cloud.
pub fn check_cariad(c: &CariadSection, need: bool, push: &mut dyn FnMut(&str, String)) {
    let vin_ok = |v: &str| {
        v.len() == 17
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"IOQioq".contains(c))
    };
    if c.vin.as_deref().is_none_or(|v| !vin_ok(v)) {
        push(
            "vin",
            "missing or not a VIN: 17 letters and digits (no I, O or Q), as on the registration"
                .into(),
        );
    }
    if need && c.refresh_token_file.is_none() {
        push(
            "refresh_token_file",
            "missing: the file holding the refresh token (see docs/vehicles.md)".into(),
        );
    }
    if c.client_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "client_id",
            "missing: the OAuth client id the refresh token was issued to (see docs/vehicles.md)"
                .into(),
        );
    }
    for (key, url) in [("base_url", &c.base_url), ("token_url", &c.token_url)] {
        if !is_url(url) {
            push(key, format!("\"{url}\" is not an http(s) URL"));
        }
    }
    if !(1..=500).contains(&c.daily_budget) {
        push(
            "daily_budget",
            format!(
                "{} is out of range: use 1..500 (the account's ~500 calls a day are shared with the app)",
                c.daily_budget
            ),
        );
    }
    if c.reserve_calls >= 500 {
        push(
            "reserve_calls",
            format!(
                "{} leaves nothing to sunplug: use 0..499 (50 is the default)",
                c.reserve_calls
            ),
        );
    }
    check_interval(
        push,
        "poll_charging",
        c.poll_charging.get(),
        300,
        3600,
        "at least 5 min apart while charging",
    );
    check_interval(
        push,
        "poll_idle",
        c.poll_idle.get(),
        900,
        1800,
        "15 to 30 min when not charging",
    );
}

/// Check `[vehicle.mqtt]` beyond its types.
pub fn check_mqtt(m: &VehicleMqttSection, push: &mut dyn FnMut(&str, String)) {
    let values = [
        ("soc", &m.soc),
        ("plugged", &m.plugged),
        ("charging", &m.charging),
        ("charge_limit", &m.charge_limit),
        ("range", &m.range),
    ];
    for (name, v) in values {
        let Some(v) = v else { continue };
        if v.topic.as_deref().is_none_or(|t| t.trim().is_empty()) {
            push(
                &format!("vehicle.mqtt.{name}.topic"),
                "missing: the topic that carries this value".into(),
            );
        }
        if let Some(p) = v
            .pointer
            .as_deref()
            .filter(|p| !p.is_empty() && !p.starts_with('/'))
        {
            push(
                &format!("vehicle.mqtt.{name}.pointer"),
                format!("\"{p}\" is not a JSON pointer: write \"/{p}\""),
            );
        }
    }
    if let Some(p) = &m.power {
        if p.topic.is_none() {
            push(
                "vehicle.mqtt.power.topic",
                "missing: the topic of the car's charging power".into(),
            );
        }
        if !p.topics.is_empty()
            || !p.pointers.is_empty()
            || p.import_topic.is_some()
            || p.export_topic.is_some()
            || p.sign.is_some()
        {
            push(
                "vehicle.mqtt.power",
                "only topic, pointer and unit are read here (one value, consumption positive)"
                    .into(),
            );
        }
    }
    if m.max_age.is_some_and(|d| d.get().is_zero()) {
        push("vehicle.mqtt.max_age", "must be more than 0s".into());
    }
}

/// Problems found in `[mqtt]` beyond its types, as `(key, message)`. Used by config validation.
pub fn check_mqtt_broker(m: &MqttSection) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if m.client_id.trim().is_empty() {
        out.push((
            "mqtt.client_id",
            "must not be empty: brokers tell clients apart by it".into(),
        ));
    }
    let ka = m.keep_alive.get();
    if ka < Duration::from_secs(5) || ka > Duration::from_secs(65_535) {
        out.push((
            "mqtt.keep_alive",
            format!(
                "{} is out of range: use 5s..18h (30s is a good start)",
                m.keep_alive
            ),
        ));
    }
    if m.max_packet_size < 1024 || m.max_packet_size > HARD_PACKET_LIMIT as u64 {
        out.push((
            "mqtt.max_packet_size",
            format!(
                "{} bytes is out of range: use 1024..{HARD_PACKET_LIMIT} (the default is {DEFAULT_MAX_PACKET})",
                m.max_packet_size
            ),
        ));
    }
    if m.port == 0 {
        out.push((
            "mqtt.port",
            "must not be 0: 1883 is usual, 8883 with TLS".into(),
        ));
    }
    if m.ca_file.is_some() && !m.tls {
        out.push((
            "mqtt.ca_file",
            "is set but tls = false: set tls = true (and usually port = 8883)".into(),
        ));
    }
    out
}

#[cfg(test)]
mod smappee_tests {
    use super::*;

    fn problems(s: &SmappeeSection, needs: bool) -> Vec<String> {
        let mut out = Vec::new();
        check_smappee(s, needs, &mut |k, m| out.push(format!("{k}: {m}")));
        out
    }

    fn ok() -> SmappeeSection {
        SmappeeSection {
            client_id: Some("cid".into()),
            username: Some("me".into()),
            serial: Some("5010000123".into()),
            ..SmappeeSection::default()
        }
    }

    #[test]
    fn a_complete_section_passes() {
        assert!(
            problems(&ok(), true).is_empty(),
            "{:?}",
            problems(&ok(), true)
        );
    }

    #[test]
    fn serial_is_needed_only_to_drive_the_charger() {
        let s = SmappeeSection {
            serial: None,
            ..ok()
        };
        assert!(problems(&s, false).is_empty());
        assert!(problems(&s, true)[0].contains("smappee locations"));
    }

    #[test]
    fn base_url_is_scheme_and_host_only() {
        let with = |u: &str| SmappeeSection {
            base_url: u.into(),
            ..ok()
        };
        assert!(problems(&with("http://127.0.0.1:8080"), true).is_empty());
        assert!(problems(&with("https://app1pub.smappee.net/"), true).is_empty());
        let p = problems(&with("https://app1pub.smappee.net/dev/v3"), true).join("");
        assert!(p.contains("has a path"), "{p}");
        assert!(!problems(&with("ftp://x"), true).is_empty());
    }

    #[test]
    fn odd_values_are_explained() {
        let s = SmappeeSection {
            connector: 3,
            base_url: "app1pub.smappee.net".into(),
            charger_channels: vec![4, 4],
            poll_interval: crate::config::values::HumanDuration::secs(1),
            ..ok()
        };
        let p = problems(&s, true).join("\n");
        for key in ["connector", "base_url", "charger_channels", "poll_interval"] {
            assert!(p.contains(key), "{key} not reported in:\n{p}");
        }
        assert!(p.contains("service_location_uuid"), "{p}");
    }
}

#[cfg(test)]
mod mqtt_tests {
    use super::*;

    #[test]
    fn section_checks() {
        let m = MqttSection {
            keep_alive: crate::units::HumanDuration::secs(2),
            ca_file: Some("x.pem".into()),
            ..MqttSection::default()
        };
        let keys: Vec<&str> = check_mqtt_broker(&m).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["mqtt.keep_alive", "mqtt.ca_file"]);
        assert!(check_mqtt_broker(&MqttSection::default()).is_empty());
    }
}
