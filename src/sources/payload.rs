//! Reading one value out of an MQTT payload: a plain number, or a field found by JSON pointer.
//!
//! Owns: [`extract_number`], [`extract_bool`] and [`PayloadError`]; for callers that read several
//! fields of one message, [`parse_payload`] once, then [`number_at`] / [`is_unavailable`] per field.
//! Shared by the surplus and vehicle sources. Never panics on any input (fuzzed in tests); a missing
//! field is `Missing` (no update, never zero), anything else that is not a finite number is an error
//! worth counting.
//!
//! Pointers are RFC 6901, plus one extension for arrays of records: a token `[key=value]` picks the
//! element whose `key` equals `value` (`/channelPowers/[publishIndex=3]/power` in Smappee's realtime
//! message, where array positions are not guaranteed).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    /// The field is not in this message (a partial update): not an error, just no news.
    #[error("field {0} not in this message")]
    Missing(String),
    #[error("payload is not valid JSON or a number")]
    NotJson,
    #[error("payload is not UTF-8")]
    NotUtf8,
    #[error("value at {pointer} is not a number: {found}")]
    WrongType { pointer: String, found: String },
    #[error("value is not finite")]
    NotFinite,
}

/// Parse a payload as JSON, or as a bare number/word (many devices publish `231.5` or `ON`).
pub fn parse_payload(payload: &[u8]) -> Result<Value, PayloadError> {
    parse(payload)
}

fn parse(payload: &[u8]) -> Result<Value, PayloadError> {
    let text = std::str::from_utf8(payload).map_err(|_| PayloadError::NotUtf8)?;
    let text = text.trim();
    serde_json::from_str(text).or_else(|_| {
        if text.is_empty() {
            Err(PayloadError::NotJson)
        } else {
            Ok(Value::String(text.to_string()))
        }
    })
}

fn pointed<'a>(v: &'a Value, pointer: Option<&str>) -> Result<&'a Value, PayloadError> {
    match pointer {
        None | Some("") => Ok(v),
        Some(p) if !p.contains('[') => v
            .pointer(p)
            .ok_or_else(|| PayloadError::Missing(p.to_string())),
        Some(p) => select(v, p).ok_or_else(|| PayloadError::Missing(p.to_string())),
    }
}

/// RFC 6901 resolution with the `[key=value]` token for arrays of records.
fn select<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let mut cur = root;
    for raw in rest.split('/') {
        let token = raw.replace("~1", "/").replace("~0", "~");
        cur = match cur {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => {
                match token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                    Some(sel) => {
                        let (key, want) = sel.split_once('=')?;
                        items
                            .iter()
                            .find(|item| item.get(key).is_some_and(|v| scalar_eq(v, want)))?
                    }
                    None => items.get(token.parse::<usize>().ok()?)?,
                }
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// A JSON scalar compared with the text of a selector: `3` matches 3, 3.0 and "3".
fn scalar_eq(v: &Value, want: &str) -> bool {
    match v {
        Value::String(s) => s == want,
        Value::Number(n) => match (n.as_f64(), want.parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        Value::Bool(b) => want == if *b { "true" } else { "false" },
        _ => false,
    }
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// A finite number at `pointer` (or the whole payload). Numeric strings ("231.5") are accepted, as
/// many bridges publish them; JSON `null` counts as missing (Home Assistant's "unavailable").
pub fn extract_number(payload: &[u8], pointer: Option<&str>) -> Result<f64, PayloadError> {
    number_at(&parse(payload)?, pointer)
}

/// As [`extract_number`], on a payload already parsed with [`parse_payload`].
pub fn number_at(v: &Value, pointer: Option<&str>) -> Result<f64, PayloadError> {
    let field = pointed(v, pointer)?;
    let n = match field {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim() {
            "unavailable" | "unknown" | "" => {
                return Err(PayloadError::Missing(
                    pointer.unwrap_or("payload").to_string(),
                ));
            }
            t => t.parse::<f64>().ok(),
        },
        Value::Null => {
            return Err(PayloadError::Missing(
                pointer.unwrap_or("payload").to_string(),
            ));
        }
        _ => None,
    };
    let n = n.ok_or_else(|| PayloadError::WrongType {
        pointer: pointer.unwrap_or("payload").to_string(),
        found: describe(field),
    })?;
    if n.is_finite() {
        Ok(n)
    } else {
        Err(PayloadError::NotFinite)
    }
}

/// Whether the field at `pointer` is present but says "no value": JSON `null` (Victron's invalid
/// D-Bus value), `"unavailable"`, `"unknown"` or an empty string (Home Assistant). [`number_at`]
/// reports these as `Missing` too; a caller that must tell "not in this message" from "the device
/// says there is no value now" asks here.
pub fn is_unavailable(v: &Value, pointer: Option<&str>) -> bool {
    match pointed(v, pointer) {
        Ok(Value::Null) => true,
        Ok(Value::String(s)) => matches!(s.trim(), "unavailable" | "unknown" | ""),
        _ => false,
    }
}

/// A boolean at `pointer`: true/false, 1/0, "on"/"off", "true"/"false", "yes"/"no",
/// "connected"/"disconnected", "plugged"/"unplugged", "charging"/"not_charging" (any case).
pub fn extract_bool(payload: &[u8], pointer: Option<&str>) -> Result<bool, PayloadError> {
    let v = parse(payload)?;
    let field = pointed(&v, pointer)?;
    let wrong = || PayloadError::WrongType {
        pointer: pointer.unwrap_or("payload").to_string(),
        found: describe(field),
    };
    match field {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Ok(true),
            Some(0.0) => Ok(false),
            _ => Err(wrong()),
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" | "connected" | "plugged" | "plugged_in" | "charging" => {
                Ok(true)
            }
            "false" | "off" | "no" | "0" | "disconnected" | "unplugged" | "not_charging" => {
                Ok(false)
            }
            "unavailable" | "unknown" | "" => Err(PayloadError::Missing(
                pointer.unwrap_or("payload").to_string(),
            )),
            _ => Err(wrong()),
        },
        Value::Null => Err(PayloadError::Missing(
            pointer.unwrap_or("payload").to_string(),
        )),
        _ => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_in_their_usual_forms() {
        assert_eq!(extract_number(b"231.5", None), Ok(231.5));
        assert_eq!(extract_number(b" -12 \n", None), Ok(-12.0));
        assert_eq!(
            extract_number(br#"{"a":{"b":"7.5"}}"#, Some("/a/b")),
            Ok(7.5)
        );
        assert_eq!(
            extract_number(br#"{"value":null}"#, Some("/value")),
            Err(PayloadError::Missing("/value".into()))
        );
        assert_eq!(
            extract_number(br#"{"x":1}"#, Some("/total")),
            Err(PayloadError::Missing("/total".into()))
        );
        assert!(matches!(
            extract_number(br#"{"x":[1]}"#, Some("/x")),
            Err(PayloadError::WrongType { .. })
        ));
        assert_eq!(
            extract_number(b"unavailable", None),
            Err(PayloadError::Missing("payload".into()))
        );
        assert_eq!(extract_number(b"NaN", None), Err(PayloadError::NotFinite));
        assert_eq!(
            extract_number(b"\xff\xfe", None),
            Err(PayloadError::NotUtf8)
        );
    }

    #[test]
    fn booleans_in_their_usual_forms() {
        assert_eq!(extract_bool(b"ON", None), Ok(true));
        assert_eq!(
            extract_bool(br#"{"plug":"disconnected"}"#, Some("/plug")),
            Ok(false)
        );
        assert_eq!(extract_bool(b"1", None), Ok(true));
        assert!(extract_bool(b"maybe", None).is_err());
    }

    #[test]
    fn selector_picks_records_by_field() {
        let rt = br#"{"totalPower":812,"channelPowers":[{"publishIndex":4,"power":-1200},{"publishIndex":3,"power":"57"}]}"#;
        assert_eq!(
            extract_number(rt, Some("/channelPowers/[publishIndex=3]/power")),
            Ok(57.0)
        );
        assert_eq!(
            extract_number(rt, Some("/channelPowers/[publishIndex=4]/power")),
            Ok(-1200.0)
        );
        assert_eq!(
            extract_number(rt, Some("/channelPowers/0/power")),
            Ok(-1200.0)
        );
        let absent = extract_number(rt, Some("/channelPowers/[publishIndex=9]/power"));
        assert!(matches!(absent, Err(PayloadError::Missing(_))));
        assert!(matches!(
            extract_number(rt, Some("/channelPowers/[bad]/power")),
            Err(PayloadError::Missing(_))
        ));
        let escaped = br#"{"a/b":[{"k":"1","~x":2}]}"#;
        assert_eq!(extract_number(escaped, Some("/a~1b/[k=1]/~0x")), Ok(2.0));
        let literal = br#"{"a":{"[k=1]":5}}"#;
        assert_eq!(
            extract_number(literal, Some("/a/[k=1]")),
            Ok(5.0),
            "objects keep literal keys"
        );
    }

    #[test]
    fn unavailable_is_told_apart_from_absent() {
        let v = parse_payload(br#"{"value":null,"s":"unavailable","n":3}"#).unwrap();
        assert!(is_unavailable(&v, Some("/value")));
        assert!(is_unavailable(&v, Some("/s")));
        assert!(!is_unavailable(&v, Some("/n")));
        assert!(!is_unavailable(&v, Some("/absent")));
        assert_eq!(number_at(&v, Some("/n")), Ok(3.0));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256), ptr in "(/([a-z0-9~]{0,4}|\\[[a-z]{0,2}=?[0-9a-z]{0,2}\\]?)){0,3}") {
            let _ = extract_number(&bytes, Some(&ptr));
            let _ = extract_bool(&bytes, Some(&ptr));
            let _ = extract_number(&bytes, None);
        }
    }
}
