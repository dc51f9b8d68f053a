//! Durations and times of day as people write them in config and policy files.
//!
//! Owns: [`HumanDuration`] ("10s", "5m", "1h30m") and [`LocalTime`] ("07:30"), with their serde forms.

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration written for people: "10s", "5m", "1h 30m", "250ms".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn secs(s: u64) -> HumanDuration {
        HumanDuration(Duration::from_secs(s))
    }
    pub fn get(self) -> Duration {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<HumanDuration, String> {
        humantime::parse_duration(s.trim()).map(HumanDuration).map_err(|_| {
            format!("invalid duration \"{s}\": write a number with a unit, e.g. \"10s\", \"5m\" or \"1h30m\"")
        })
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HumanDuration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "invalid duration {n}: durations need a unit, e.g. \"{n}s\""
            ))),
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A wall-clock time of day in the site's timezone, written "HH:MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(pub NaiveTime);

impl std::str::FromStr for LocalTime {
    type Err = String;
    fn from_str(s: &str) -> Result<LocalTime, String> {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| {
                format!(
                    "invalid time \"{s}\": write it as HH:MM in the site's timezone, e.g. \"07:30\""
                )
            })
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LocalTime, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}
