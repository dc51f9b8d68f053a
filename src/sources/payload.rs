//! Reading one value out of an MQTT payload: a plain number, or a field found by JSON pointer.
//!
//! Owns: [`extract_number`], [`extract_bool`] and [`PayloadError`]. Shared by the surplus and vehicle
//! sources. Never panics on any input (fuzzed in tests); a missing field is `Missing` (no update, never
//! zero), anything else that is not a finite number is an error worth counting.

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
        Some(p) => v
            .pointer(p)
            .ok_or_else(|| PayloadError::Missing(p.to_string())),
    }
}

fn describe(v: &Value) -> String {
    crate::vendor::excerpt(&v.to_string())
        .chars()
        .take(41)
        .collect()
}

/// A finite number at `pointer` (or the whole payload). Numeric strings ("231.5") are accepted, as
/// many bridges publish them; JSON `null` counts as missing (Home Assistant's "unavailable").
pub fn extract_number(payload: &[u8], pointer: Option<&str>) -> Result<f64, PayloadError> {
    let v = parse(payload)?;
    let field = pointed(&v, pointer)?;
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

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256), ptr in "(/[a-z0-9~]{0,4}){0,3}") {
            let _ = extract_number(&bytes, Some(&ptr));
            let _ = extract_bool(&bytes, Some(&ptr));
            let _ = extract_number(&bytes, None);
        }
    }
}
