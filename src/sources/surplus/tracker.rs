//! The surplus tracker: MQTT messages in, a timestamped [`MeterSample`] out, never a lie about
//! freshness.
//!
//! Owns: [`SurplusTracker`] (pure: no I/O, no clock; `now` comes in), [`Outcome`] (what one message
//! did), [`Stats`] and [`Snapshot`] (what the probe and the logs show).
//!
//! Rules, each tested:
//! - a field missing from a message is no update (a partial message never zeroes a value);
//! - an empty or `null` payload is no update either: the last value ages out at `max_age`;
//! - `unavailable` (or a `null` field inside a message) means the device has no value now: that
//!   part is unknown until the next value (never zero, never the old value);
//! - a value is the sum of its parts and exists only while every part is known, live and fresh; its
//!   time is the oldest part's time (one stale phase must not make a sum look fresh);
//! - a retained message (stored by the broker, handed over at subscribe time) has an unknown age:
//!   it is kept and shown, but is not a reading for control until a live message replaces it;
//! - bad payloads (not JSON, wrong type, NaN, beyond the plausible range) change nothing, are
//!   counted, and are logged at most once a minute per topic with a short excerpt.

use super::spec::MeterSpec;
use super::value::{PartSpec, Role};
use crate::config::surplus::SurplusKind;
use crate::control::observation::{MeterSample, PowerBalance, Reading};
use crate::sources::payload::{PayloadError, is_unavailable, number_at, parse_payload};
use crate::units::Watts;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// Bad payloads on one topic are logged at most this often.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// The last value of one part.
#[derive(Debug, Clone, PartialEq)]
pub struct PartValue {
    /// Watts in the value's direction (after unit and sign).
    pub watts: f64,
    /// Arrival time.
    pub at: DateTime<Utc>,
    /// Delivered as a retained message: of unknown age.
    pub retained: bool,
    /// A short excerpt of the payload it came from.
    pub raw: String,
}

#[derive(Debug, Clone)]
struct Part {
    spec: PartSpec,
    value: usize,
    last: Option<PartValue>,
}

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub messages: u64,
    /// Messages that set at least one part.
    pub updates: u64,
    /// Messages without the field (partial updates): no update.
    pub missing: u64,
    /// Messages saying "no value now".
    pub unavailable: u64,
    /// Messages rejected as bad.
    pub bad: u64,
}

/// What one message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The topic is one of ours.
    pub ours: bool,
    pub updated: usize,
    pub missing: usize,
    pub unavailable: usize,
    /// Why (part of) the message was rejected.
    pub rejected: Option<String>,
    /// The rejection was logged (not suppressed by the rate limit).
    pub warned: bool,
}

#[derive(Debug, Clone, Default)]
struct WarnState {
    last: Option<DateTime<Utc>>,
    suppressed: u64,
}

/// Where the reading stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Parts never seen (or unavailable now), by "topic pointer".
    Waiting {
        missing: Vec<String>,
    },
    /// Every part known, some only from retained messages (unknown age).
    RetainedOnly {
        retained: Vec<String>,
    },
    /// Live, but older than `max_age`.
    Stale {
        age: Duration,
    },
    Fresh {
        age: Duration,
    },
}

/// The tracker's view at `now`, for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: State,
    /// The sample from the parts known now (retained ones included), when every part is known.
    pub sample: Option<MeterSample>,
    /// The oldest part's arrival.
    pub oldest: Option<DateTime<Utc>>,
    /// The part that arrived last: (topic, raw excerpt).
    pub latest: Option<(String, String)>,
    /// Every part with its last value.
    pub parts: Vec<(PartSpec, Role, Option<PartValue>)>,
    pub stats: Stats,
}

/// Turns meter messages into readings. See the module doc for the rules.
#[derive(Debug, Clone)]
pub struct SurplusTracker {
    spec: MeterSpec,
    parts: Vec<Part>,
    roles: Vec<Role>,
    by_topic: HashMap<String, Vec<usize>>,
    stats: Stats,
    warn: HashMap<String, WarnState>,
}

impl SurplusTracker {
    pub fn new(spec: MeterSpec) -> SurplusTracker {
        let mut parts = Vec::new();
        let mut roles = Vec::new();
        let mut by_topic: HashMap<String, Vec<usize>> = HashMap::new();
        for (vi, v) in spec.values().enumerate() {
            roles.push(v.role);
            for p in &v.parts {
                by_topic
                    .entry(p.topic.clone())
                    .or_default()
                    .push(parts.len());
                parts.push(Part {
                    spec: p.clone(),
                    value: vi,
                    last: None,
                });
            }
        }
        SurplusTracker {
            spec,
            parts,
            roles,
            by_topic,
            stats: Stats::default(),
            warn: HashMap::new(),
        }
    }

    pub fn spec(&self) -> &MeterSpec {
        &self.spec
    }

    /// The topics to subscribe to.
    pub fn topics(&self) -> Vec<String> {
        self.spec.topics()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Feed one MQTT message received at `now`.
    pub fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        let Some(idxs) = self.by_topic.get(topic).cloned() else {
            return Outcome::default();
        };
        let mut out = Outcome {
            ours: true,
            ..Outcome::default()
        };
        self.stats.messages += 1;
        if payload.iter().all(u8::is_ascii_whitespace) || payload.trim_ascii() == b"null" {
            // An empty or `null` payload (Victron: the device left the bus; evcc: the value was
            // erased; a retained message deleted) is no update, like a missing field: the last
            // value stands until `max_age`, so one such message never drops the car to the floor.
            out.missing = idxs.len();
            self.stats.missing += 1;
            return out;
        }
        let doc = match parse_payload(payload) {
            Ok(v) => v,
            Err(e) => return self.reject(topic, payload, e.to_string(), now, out),
        };
        if is_unavailable(&doc, None) {
            // The whole payload says "no value" (Home Assistant's `unavailable`).
            for i in idxs {
                self.parts[i].last = None;
            }
            out.unavailable = 1;
            self.stats.unavailable += 1;
            return out;
        }
        let structured = doc.is_object() || doc.is_array();
        if !structured && idxs.iter().any(|i| self.parts[*i].spec.pointer.is_some()) {
            let why = "payload is not a JSON object, so a pointer cannot apply".to_string();
            return self.reject(topic, payload, why, now, out);
        }
        let raw = crate::vendor::excerpt(&String::from_utf8_lossy(payload));
        let (lo, hi) = (self.spec.plausible_min_w, self.spec.plausible_max_w);
        let mut problems = Vec::new();
        for i in idxs {
            let part = &self.parts[i];
            let ptr = part.spec.pointer.as_deref();
            let value = self.spec.values().nth(part.value).expect("part of a value");
            match number_at(&doc, ptr) {
                Ok(n) => {
                    let w = value.watts(&part.spec, n);
                    if !(lo..=hi).contains(&w) {
                        problems.push(format!(
                            "{} = {w:.0} W is outside the plausible range {lo:.0}..{hi:.0} W",
                            ptr.unwrap_or("value")
                        ));
                        continue;
                    }
                    out.updated += 1;
                    let part = &mut self.parts[i];
                    // The same value again, retained (a resubscribe after a reconnect): it is the
                    // message we already had live; keep its earlier, honest time.
                    let repeat = retained
                        && part
                            .last
                            .as_ref()
                            .is_some_and(|l| !l.retained && l.watts == w);
                    if !repeat {
                        part.last = Some(PartValue {
                            watts: w,
                            at: now,
                            retained,
                            raw: raw.clone(),
                        });
                    }
                }
                Err(PayloadError::Missing(_)) if is_unavailable(&doc, ptr) => {
                    self.parts[i].last = None;
                    out.unavailable += 1;
                }
                Err(PayloadError::Missing(_)) => out.missing += 1,
                Err(e) => problems.push(e.to_string()),
            }
        }
        if out.updated > 0 {
            self.stats.updates += 1;
        } else if out.unavailable > 0 {
            self.stats.unavailable += 1;
        } else if out.missing > 0 && problems.is_empty() {
            self.stats.missing += 1;
        }
        if problems.is_empty() {
            out
        } else {
            self.reject(topic, payload, problems.join("; "), now, out)
        }
    }

    fn reject(
        &mut self,
        topic: &str,
        payload: &[u8],
        reason: String,
        now: DateTime<Utc>,
        mut out: Outcome,
    ) -> Outcome {
        self.stats.bad += 1;
        let w = self.warn.entry(topic.to_string()).or_default();
        let due = w
            .last
            .is_none_or(|t| (now - t).to_std().unwrap_or(Duration::ZERO) >= WARN_EVERY);
        if due {
            let excerpt = crate::vendor::excerpt(&String::from_utf8_lossy(payload));
            let excerpt: String = excerpt.chars().take(80).collect();
            tracing::warn!(
                topic,
                %reason,
                payload = %excerpt,
                suppressed = w.suppressed,
                total_bad = self.stats.bad,
                "ignored a bad meter payload"
            );
            w.last = Some(now);
            w.suppressed = 0;
            out.warned = true;
        } else {
            w.suppressed += 1;
        }
        out.rejected = Some(reason);
        out
    }

    /// Each value's sum, when every part is known; with the oldest time and whether any part is
    /// retained.
    fn sums(&self) -> Option<(Vec<f64>, DateTime<Utc>, bool)> {
        let mut sums = vec![0.0; self.roles.len()];
        let mut oldest: Option<DateTime<Utc>> = None;
        let mut retained = false;
        for p in &self.parts {
            let v = p.last.as_ref()?;
            sums[p.value] += v.watts;
            oldest = Some(oldest.map_or(v.at, |o| o.min(v.at)));
            retained |= v.retained;
        }
        Some((sums, oldest?, retained))
    }

    fn sample(&self, sums: &[f64]) -> MeterSample {
        let get = |role: Role| self.roles.iter().position(|r| *r == role).map(|i| sums[i]);
        let battery = get(Role::Battery);
        let b = battery.unwrap_or(0.0);
        let (balance, pv, house_load) = match self.spec.kind {
            SurplusKind::Grid => (
                PowerBalance::Grid(Watts(get(Role::Grid).unwrap_or(0.0))),
                None,
                None,
            ),
            SurplusKind::Surplus => {
                let s = get(Role::Surplus).unwrap_or(0.0);
                let balance = if self.spec.includes_car {
                    PowerBalance::Grid(Watts(-s))
                } else {
                    PowerBalance::Available(Watts(s))
                };
                (balance, None, None)
            }
            SurplusKind::PvAndLoad => {
                let (pv, load) = (get(Role::Pv).unwrap_or(0.0), get(Role::Load).unwrap_or(0.0));
                if self.spec.includes_car {
                    (
                        PowerBalance::Grid(Watts(load - pv + b)),
                        Some(Watts(pv)),
                        None,
                    )
                } else {
                    (
                        PowerBalance::Available(Watts(pv - load - b)),
                        Some(Watts(pv)),
                        Some(Watts(load)),
                    )
                }
            }
        };
        MeterSample {
            balance,
            pv,
            house_load,
            battery: battery.map(Watts),
        }
    }

    /// The reading for control: every part known from live messages and the oldest no older than
    /// `max_age` at `now`. `None` means "unknown": the controller takes its stale path.
    pub fn reading(&self, now: DateTime<Utc>) -> Option<Reading<MeterSample>> {
        let (sums, oldest, retained) = self.sums()?;
        let r = Reading::new(self.sample(&sums), oldest);
        (!retained && r.is_fresh(now, self.spec.max_age)).then_some(r)
    }

    /// Everything known at `now`, for the probe and diagnostics.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        let sums = self.sums();
        let state = match &sums {
            None => State::Waiting {
                missing: self
                    .parts
                    .iter()
                    .filter(|p| p.last.is_none())
                    .map(|p| p.spec.describe())
                    .collect(),
            },
            Some((_, _, true)) => State::RetainedOnly {
                retained: self
                    .parts
                    .iter()
                    .filter(|p| p.last.as_ref().is_some_and(|l| l.retained))
                    .map(|p| p.spec.describe())
                    .collect(),
            },
            Some((_, oldest, false)) => {
                let age = (now - *oldest).to_std().unwrap_or(Duration::ZERO);
                if age <= self.spec.max_age {
                    State::Fresh { age }
                } else {
                    State::Stale { age }
                }
            }
        };
        let latest = self
            .parts
            .iter()
            .filter_map(|p| p.last.as_ref().map(|l| (l.at, &p.spec.topic, &l.raw)))
            .max_by_key(|(at, _, _)| *at)
            .map(|(_, t, r)| (t.clone(), r.clone()));
        Snapshot {
            state,
            sample: sums.as_ref().map(|(s, _, _)| self.sample(s)),
            oldest: sums.map(|(_, o, _)| o),
            latest,
            parts: self
                .parts
                .iter()
                .map(|p| (p.spec.clone(), self.roles[p.value], p.last.clone()))
                .collect(),
            stats: self.stats,
        }
    }
}
