//! The solar surplus from MQTT: presets, payload parsing, freshness.

use crate::config::surplus::{SurplusKind, SurplusSection};

/// Check `[surplus]` beyond its types. `push(key, message)` reports a problem under `surplus.<key>`.
pub fn check_config(s: &SurplusSection, push: &mut dyn FnMut(&str, String)) {
    let has_value =
        s.topic.is_some() || !s.topics.is_empty() || s.import_topic.is_some() || s.preset.is_some();
    match s.kind {
        SurplusKind::Grid | SurplusKind::Surplus if !has_value => {
            push(
                "topic",
                "missing: set topic (or a preset) for the meter".into(),
            );
        }
        SurplusKind::PvAndLoad if s.preset.is_none() && (s.pv.is_none() || s.load.is_none()) => {
            push(
                "pv",
                "kind = \"pv_and_load\" needs [surplus.pv] and [surplus.load]".into(),
            );
        }
        _ => {}
    }
    if s.max_age.get().is_zero() {
        push(
            "max_age",
            "must be more than 0s (30s is a good start)".into(),
        );
    }
    if s.plausible_min_w >= s.plausible_max_w {
        push("plausible_min_w", "must be below plausible_max_w".into());
    }
}

/// `sunplug probe surplus` (to be built: issue 6).
pub async fn probe(
    _config: &std::path::Path,
    _json: bool,
    _timeout: std::time::Duration,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`probe surplus` is not built yet")
}
