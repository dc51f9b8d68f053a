//! The `ctx` a script's `fn wish(ctx)` receives: what [`PolicyContext`] has, with units in the names.
//!
//! Owns: [`Ctx`] and its registration in the engine (read-only properties, computed when read, and
//! two helpers). A value that is not known this step (a stale meter, an unknown SoC, no departure
//! set) is `()`, which a script tests with `== ()` or replaces with `??`.
//!
//! | property | meaning |
//! |---|---|
//! | `available_w` | power the car may take (export positive, without the car); `()` when the meter is stale |
//! | `grid_w` | grid power, import positive; `()` when the meter is stale |
//! | `meter_fresh` | whether the meter reading is fresh |
//! | `car_w` | what the car draws now |
//! | `soc_pct`, `target_pct` | state of charge now (`()` if unknown), the SoC charging stops at |
//! | `capacity_kwh`, `efficiency` | the car's battery (`()` if not configured), charging efficiency 0..1 |
//! | `floor_a`, `max_a`, `step_a` | the lowest current, the highest, the command resolution |
//! | `floor_w`, `max_w`, `phases`, `volts` | the same in watts; the supply |
//! | `command_a`, `charging` | the last command let through (0 when paused) |
//! | `plugged` | a car is connected (always true when the policy is asked) |
//! | `time_s` | the step's time, seconds since 1970 (the controller's clock: simulated time in the simulator) |
//! | `local_time`, `hour`, `minute_of_day`, `weekday` | site-local clock ("HH:MM", 0..23, 0..1439, 1 = Monday .. 7) |
//! | `departure` | the departure set in Home Assistant ("HH:MM") or `()` |
//! | `params`, `state` | the policy file's `[params]`; the map kept between steps and restarts |
//!
//! Helpers: `ctx.amps_for(w)` (the current that draws `w` watts), `ctx.minutes_until("HH:MM")`
//! (to the next time the local clock shows it, DST-correct).

use super::target_by_departure::next_departure;
use crate::control::policy::PolicyContext;
use crate::units::LocalTime;
use crate::units::{Amps, Supply, Watts};
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use rhai::{Dynamic, EvalAltResult, Map};
use std::sync::{Arc, Mutex, MutexGuard};

/// The script's `ctx.state`: a map shared with the policy, so what the script writes stays (a Rhai
/// map handed to a function is a copy). Values are read and written by key (`ctx.state.n`,
/// `ctx.state["n"]`); a key never written reads `()`.
#[derive(Debug, Clone, Default)]
pub struct State(Arc<Mutex<Map>>);

impl State {
    pub fn new(map: Map) -> State {
        State(Arc::new(Mutex::new(map)))
    }
    pub fn lock(&self) -> MutexGuard<'_, Map> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A snapshot of the policy context for one script call.
#[derive(Debug, Clone)]
pub struct Ctx {
    now: DateTime<Utc>,
    tz: Tz,
    supply: Supply,
    floor: f64,
    max: f64,
    step: f64,
    meter: Option<(f64, f64)>,
    car_w: f64,
    soc: Option<f64>,
    target: f64,
    capacity_kwh: Option<f64>,
    efficiency: f64,
    departure: Option<LocalTime>,
    command_a: f64,
    /// The `[params]` map, converted once: a read hands the script a copy of it.
    params: Dynamic,
    state: State,
}

impl Ctx {
    pub fn new(c: &PolicyContext<'_>, params: Dynamic, state: State) -> Ctx {
        Ctx {
            now: c.now,
            tz: c.tz,
            supply: c.supply,
            floor: c.floor.0,
            max: c.max.0,
            step: c.step.0,
            meter: c.meter.map(|m| (m.available.0, m.grid.0)),
            car_w: c.car_power.0,
            soc: c.soc.map(|s| s.pct()),
            target: c.target.pct(),
            capacity_kwh: c.capacity_kwh,
            efficiency: c.efficiency,
            departure: c.departure,
            command_a: c.command.current().0,
            params,
            state,
        }
    }
}

fn opt(v: Option<f64>) -> Dynamic {
    v.map(Dynamic::from_float).unwrap_or(Dynamic::UNIT)
}

fn number(v: &Dynamic) -> Option<f64> {
    v.as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|i| i as f64))
}

/// Register `Ctx` and its properties.
pub fn register_ctx(e: &mut rhai::Engine) {
    e.register_type_with_name::<Ctx>("Ctx");
    e.register_get("available_w", |c: &mut Ctx| opt(c.meter.map(|m| m.0)));
    e.register_get("grid_w", |c: &mut Ctx| opt(c.meter.map(|m| m.1)));
    e.register_get("meter_fresh", |c: &mut Ctx| c.meter.is_some());
    e.register_get("car_w", |c: &mut Ctx| c.car_w);
    e.register_get("soc_pct", |c: &mut Ctx| opt(c.soc));
    e.register_get("target_pct", |c: &mut Ctx| c.target);
    e.register_get("capacity_kwh", |c: &mut Ctx| opt(c.capacity_kwh));
    e.register_get("efficiency", |c: &mut Ctx| c.efficiency);
    e.register_get("floor_a", |c: &mut Ctx| c.floor);
    e.register_get("max_a", |c: &mut Ctx| c.max);
    e.register_get("step_a", |c: &mut Ctx| c.step);
    e.register_get("floor_w", |c: &mut Ctx| c.supply.power(Amps(c.floor)).0);
    e.register_get("max_w", |c: &mut Ctx| c.supply.power(Amps(c.max)).0);
    e.register_get("phases", |c: &mut Ctx| {
        rhai::INT::from(c.supply.phases.count())
    });
    e.register_get("volts", |c: &mut Ctx| c.supply.voltage.0);
    e.register_get("command_a", |c: &mut Ctx| c.command_a);
    e.register_get("charging", |c: &mut Ctx| c.command_a > 0.0);
    e.register_get("plugged", |_: &mut Ctx| true);
    e.register_get("time_s", |c: &mut Ctx| c.now.timestamp() as f64);
    e.register_get("local_time", |c: &mut Ctx| {
        c.now.with_timezone(&c.tz).format("%H:%M").to_string()
    });
    e.register_get("hour", |c: &mut Ctx| {
        rhai::INT::from(c.now.with_timezone(&c.tz).hour())
    });
    e.register_get("minute_of_day", |c: &mut Ctx| {
        let t = c.now.with_timezone(&c.tz);
        rhai::INT::from(t.hour() * 60 + t.minute())
    });
    e.register_get("weekday", |c: &mut Ctx| {
        rhai::INT::from(c.now.with_timezone(&c.tz).weekday().number_from_monday())
    });
    e.register_get("departure", |c: &mut Ctx| match c.departure {
        Some(d) => Dynamic::from(d.0.format("%H:%M").to_string()),
        None => Dynamic::UNIT,
    });
    e.register_get("params", |c: &mut Ctx| c.params.clone());
    e.register_get("state", |c: &mut Ctx| c.state.clone());
    e.register_type_with_name::<State>("State");
    e.register_indexer_get(|s: &mut State, k: &str| {
        s.lock().get(k).cloned().unwrap_or(Dynamic::UNIT)
    });
    e.register_indexer_set(|s: &mut State, k: &str, v: Dynamic| {
        s.lock().insert(k.into(), v);
    });
    e.register_fn("contains", |s: &mut State, k: &str| {
        s.lock().contains_key(k)
    });
    e.register_fn("remove", |s: &mut State, k: &str| {
        s.lock().remove(k).unwrap_or(Dynamic::UNIT)
    });
    e.register_fn("clear", |s: &mut State| s.lock().clear());
    e.register_fn(
        "amps_for",
        |c: &mut Ctx, w: Dynamic| -> Result<f64, Box<EvalAltResult>> {
            let w = number(&w).ok_or_else(|| format!("amps_for({w}): not a number of watts"))?;
            Ok(c.supply.current(Watts(w)).0)
        },
    );
    e.register_fn(
        "minutes_until",
        |c: &mut Ctx, at: &str| -> Result<f64, Box<EvalAltResult>> {
            let t: LocalTime = at
                .parse()
                .map_err(|e| format!("minutes_until(\"{at}\"): {e}"))?;
            let next = next_departure(c.now, c.tz, t);
            Ok((next - c.now).num_seconds() as f64 / 60.0)
        },
    );
}

/// Names a script may use as `state` properties: registered as getters and setters of [`State`]
/// with the same meaning as the indexer (a key never written reads `()`). Rhai looks for a property
/// getter before it falls back to the indexer, so `s.window_wh` on a registered name is one call
/// instead of a failed search and a second one. The names are every identifier after a `.` in the
/// script's text (at most [`MAX_STATE_PROPERTIES`]); any other key still works through the indexer.
pub fn register_state_properties(e: &mut rhai::Engine, script: &str) {
    let mut names: Vec<&str> = Vec::new();
    for (i, _) in script.match_indices('.') {
        let rest = &script[i + 1..];
        let start = rest.len() - rest.trim_start().len();
        let rest = &rest[start..];
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let name = &rest[..len];
        let is_ident = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        // `1.5` and `a..b` give no identifier here: neither names a property.
        if is_ident && !names.contains(&name) && names.len() < MAX_STATE_PROPERTIES {
            names.push(name);
        }
    }
    for name in names {
        let key: rhai::ImmutableString = name.into();
        let (get_key, set_key) = (key.clone(), key);
        e.register_get_set(
            name,
            move |s: &mut State| {
                s.lock()
                    .get(get_key.as_str())
                    .cloned()
                    .unwrap_or(Dynamic::UNIT)
            },
            move |s: &mut State, v: Dynamic| {
                s.lock().insert(set_key.as_str().into(), v);
            },
        );
    }
}

/// At most this many names get a getter and a setter of their own.
const MAX_STATE_PROPERTIES: usize = 256;
