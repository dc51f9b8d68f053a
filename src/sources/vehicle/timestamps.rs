//! Capture timestamps as the clouds send them, turned into something a controller can trust.
//!
//! Owns: [`lenient_time`] (a serde helper: a timestamp that does not parse is "unknown", it does not
//! fail the whole payload) and [`captured_at`] (sentinels and clock bugs → unknown or corrected).
//!
//! Rules, from vendor-apis.md §2.9 and WeConnect-python's `generic_status.py`:
//! - `2000-01-01T00:00:00Z` (and anything before 2010) is Cariad's "unknown";
//! - a time up to [`SKEW_TOLERANCE`] ahead of our receive time is clock skew: it counts as "just now";
//! - further ahead is the known timezone bug (local time sent as UTC): whole hours are taken off until
//!   it is not in the future, at most 14; a time still in the future after that is unknown.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Deserializer};

/// How far ahead of our clock a capture time may be and still count as "now" (clock skew).
pub const SKEW_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// Deserialize an optional RFC 3339 timestamp; anything else (a number, garbage, null) is `None`.
pub fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    })
}

/// Why a capture time was not taken as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjusted {
    AsSent,
    /// A sentinel (2000-01-01) or an impossible date: unknown.
    Sentinel,
    /// In the future by whole hours: corrected by this many hours.
    TimezoneBug(i64),
    /// In the future by something that is not a timezone: unknown.
    Future,
}

/// The capture time to believe for `raw`, received at `fetched_at`, and what was done to it.
pub fn captured_at(
    raw: Option<DateTime<Utc>>,
    fetched_at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Adjusted) {
    let Some(t) = raw else {
        return (None, Adjusted::AsSent);
    };
    if t.year() < 2010 {
        return (None, Adjusted::Sentinel);
    }
    if t <= fetched_at + SKEW_TOLERANCE {
        return (Some(t.min(fetched_at)), Adjusted::AsSent);
    }
    for hours in 1..=14 {
        let c = t - chrono::TimeDelta::hours(hours);
        if c <= fetched_at + SKEW_TOLERANCE {
            return (Some(c.min(fetched_at)), Adjusted::TimezoneBug(hours));
        }
    }
    (None, Adjusted::Future)
}

/// [`captured_at`], noting any adjustment of `what` in `notes`.
pub fn captured_noted(
    raw: Option<DateTime<Utc>>,
    fetched_at: DateTime<Utc>,
    what: &str,
    notes: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    let (t, how) = captured_at(raw, fetched_at);
    match how {
        Adjusted::AsSent => {}
        Adjusted::Sentinel => notes.push(format!(
            "{what}: capture time is a placeholder, age unknown"
        )),
        Adjusted::TimezoneBug(h) => notes.push(format!(
            "{what}: capture time was {h} h in the future (car clock bug), corrected"
        )),
        Adjusted::Future => notes.push(format!(
            "{what}: capture time is far in the future, age unknown"
        )),
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, 6, 1, h, m, 0).unwrap()
    }

    #[test]
    fn sentinel_and_missing_are_unknown() {
        let sentinel = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            captured_at(Some(sentinel), t(2026, 12, 0)),
            (None, Adjusted::Sentinel)
        );
        assert_eq!(captured_at(None, t(2026, 12, 0)), (None, Adjusted::AsSent));
    }

    #[test]
    fn past_times_are_kept_and_skew_is_now() {
        assert_eq!(
            captured_at(Some(t(2026, 11, 0)), t(2026, 12, 0)).0,
            Some(t(2026, 11, 0))
        );
        assert_eq!(
            captured_at(Some(t(2026, 12, 1)), t(2026, 12, 0)).0,
            Some(t(2026, 12, 0))
        );
    }

    #[test]
    fn timezone_bug_is_corrected_by_whole_hours() {
        // Captured 10 min ago at UTC+2, sent as UTC: 1h50 in the future.
        let (c, how) = captured_at(Some(t(2026, 13, 50)), t(2026, 12, 0));
        assert_eq!(c, Some(t(2026, 11, 50)));
        assert_eq!(how, Adjusted::TimezoneBug(2));
        // A day ahead is no timezone.
        assert_eq!(
            captured_at(
                Some(t(2026, 12, 0) + chrono::TimeDelta::days(1)),
                t(2026, 12, 0)
            )
            .0,
            None
        );
    }

    #[test]
    fn lenient_time_never_fails_the_payload() {
        #[derive(Deserialize)]
        struct X {
            #[serde(default, deserialize_with = "lenient_time")]
            at: Option<DateTime<Utc>>,
        }
        let x: X = serde_json::from_str(r#"{"at":"2023-11-02T11:33:10.289Z"}"#).unwrap();
        assert_eq!(x.at.unwrap().timestamp(), 1698924790);
        for bad in [
            r#"{"at":"yesterday"}"#,
            r#"{"at":42}"#,
            r#"{"at":null}"#,
            "{}",
        ] {
            assert_eq!(serde_json::from_str::<X>(bad).unwrap().at, None, "{bad}");
        }
    }
}
