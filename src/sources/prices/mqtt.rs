//! A price list some other tool publishes on an MQTT topic (`[prices] source = "mqtt"`), read into a
//! [`Series`] per kWh. The accepted shapes, all JSON:
//!
//! - an array of entries: `[{"start": "2026-06-01T00:00:00+02:00", "price": 0.21}, ...]`;
//! - an object holding such arrays under `raw_today` and `raw_tomorrow` (the attributes of Home
//!   Assistant's Nord Pool sensor: `{"start", "end", "value"}`), under `today` and `tomorrow` (Tibber's
//!   `priceInfo` as a REST sensor passes it on: `{"startsAt", "total"}`), or under `prices` or `data`.
//!
//! An entry's start is `start`, `startsAt` or `start_time`: RFC 3339 with an offset, or epoch seconds
//! or milliseconds. Its price is `price`, `value` or `total`; its end is `end` (or `endsAt`, `end_time`),
//! else the next entry's start, else the length of the entry before it (one hour for a lone entry).
//! An entry whose price is `null` (Nord Pool's `raw_tomorrow` before publication) is skipped. Anything
//! else (not JSON, an entry without a readable start, a price that is not a number) rejects the whole
//! message with the reason, and the list before it stays.

use crate::control::plan::series::{Point, Series};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

const LIST_KEYS: &[&str] = &[
    "raw_today",
    "raw_tomorrow",
    "today",
    "tomorrow",
    "prices",
    "data",
];

fn field<'a>(e: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| e.get(*n))
}

fn when(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let x = n.as_f64()?;
            // Epoch milliseconds are beyond 10^11, seconds are far below.
            let ms = if x.abs() >= 1e11 { x } else { x * 1000.0 };
            DateTime::from_timestamp_millis(ms as i64)
        }
        _ => None,
    }
}

/// The entries of a payload, in the order they came.
fn entries(v: &Value) -> Result<Vec<&Value>, String> {
    match v {
        Value::Array(a) => Ok(a.iter().collect()),
        Value::Object(o) => {
            let lists: Vec<&Value> = LIST_KEYS.iter().filter_map(|k| o.get(*k)).collect();
            if lists.is_empty() {
                return Err(format!(
                    "an object without a price list: expected an array, or one under {}",
                    LIST_KEYS.join(", ")
                ));
            }
            let mut out = Vec::new();
            for l in lists {
                match l {
                    Value::Array(a) => out.extend(a.iter()),
                    Value::Null => {}
                    _ => return Err("a price list that is not an array".into()),
                }
            }
            Ok(out)
        }
        _ => Err("neither an array nor an object".into()),
    }
}

/// Read one message.
pub fn parse(payload: &[u8]) -> Result<Series, String> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("not JSON ({e}): {}", crate::vendor::describe_body(payload)))?;
    let mut rows: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, f64)> = Vec::new();
    for (i, e) in entries(&v)?.into_iter().enumerate() {
        if !e.is_object() {
            return Err(format!("entry {i} is not an object"));
        }
        let start = field(e, &["start", "startsAt", "start_time"])
            .and_then(when)
            .ok_or_else(|| format!("entry {i}: no start (an RFC 3339 time or epoch seconds)"))?;
        let end = match field(e, &["end", "endsAt", "end_time"]) {
            None | Some(Value::Null) => None,
            Some(x) => Some(when(x).ok_or_else(|| format!("entry {i}: end is not a time"))?),
        };
        let price = match field(e, &["price", "value", "total"]) {
            None => return Err(format!("entry {i}: no price (price, value or total)")),
            Some(Value::Null) => continue,
            Some(p) => p
                .as_f64()
                .filter(|p| p.is_finite())
                .ok_or_else(|| format!("entry {i}: the price {p} is not a number"))?,
        };
        if end.is_some_and(|x| x <= start) {
            return Err(format!("entry {i}: ends before it starts"));
        }
        rows.push((start, end, price));
    }
    rows.sort_by_key(|(s, _, _)| *s);
    let mut points: Vec<Point> = Vec::with_capacity(rows.len());
    for (i, (start, end, value)) in rows.iter().enumerate() {
        let end = end
            .or_else(|| {
                rows.get(i + 1)
                    .map(|(next, _, _)| *next)
                    .filter(|n| n > start)
            })
            .or_else(|| points.last().map(|p| *start + (p.end - p.start)))
            .unwrap_or(*start + Duration::hours(1));
        points.push(Point {
            start: *start,
            end,
            value: *value,
        });
    }
    Ok(Series::new(points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_plain_array_of_start_and_price() {
        let s = parse(
            br#"[{"start": "2026-06-01T00:00:00+02:00", "price": 0.2},
                 {"start": "2026-06-01T01:00:00+02:00", "price": 0.1}]"#,
        )
        .unwrap();
        let p = s.points();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].start, t("2026-05-31T22:00:00Z"));
        assert_eq!(p[0].end, p[1].start);
        assert_eq!(p[1].end, t("2026-06-01T00:00:00Z"));
        assert_eq!(p[1].value, 0.1);
    }

    #[test]
    fn nord_pool_attributes_with_tomorrow_not_yet_published() {
        let s = parse(
            br#"{"current_price": 0.25, "raw_today": [
                   {"start": "2026-06-01T00:00:00+02:00", "end": "2026-06-01T00:15:00+02:00", "value": 0.3},
                   {"start": "2026-06-01T00:15:00+02:00", "end": "2026-06-01T00:30:00+02:00", "value": 0.31}],
                 "raw_tomorrow": [{"start": "2026-06-02T00:00:00+02:00", "end": "2026-06-02T00:15:00+02:00", "value": null}],
                 "tomorrow_valid": false}"#,
        )
        .unwrap();
        assert_eq!(s.points().len(), 2);
        assert_eq!(s.end(), Some(t("2026-05-31T22:30:00Z")));
    }

    #[test]
    fn tibber_shape_and_epoch_times() {
        let s = parse(
            br#"{"today": [{"startsAt": "2026-06-01T00:00:00.000+02:00", "total": 0.3}], "tomorrow": []}"#,
        )
        .unwrap();
        assert_eq!(s.points()[0].end - s.points()[0].start, Duration::hours(1));
        let e =
            parse(br#"[{"start": 1780272000, "price": 1}, {"start": 1780272900000, "price": 2}]"#)
                .unwrap();
        assert_eq!(
            e.points()[0].end - e.points()[0].start,
            Duration::minutes(15)
        );
        assert_eq!(
            e.points()[1].end - e.points()[1].start,
            Duration::minutes(15)
        );
    }

    #[test]
    fn garbage_is_refused_with_the_reason() {
        assert!(parse(b"\x01<<garbage").unwrap_err().contains("not JSON"));
        assert!(parse(b"{\"foo\": 1}").unwrap_err().contains("raw_today"));
        assert!(
            parse(b"[{\"price\": 1}]")
                .unwrap_err()
                .contains("entry 0: no start")
        );
        assert!(
            parse(b"[{\"start\": \"2026-06-01T00:00:00Z\", \"price\": \"cheap\"}]")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse(b"42").is_err());
    }
}
