//! Helpers shared by the control-core tests: parameters of a typical site and a small observation builder.
#![allow(dead_code)]

use super::t0;
use chrono::{DateTime, Utc};
use std::path::Path;
use std::time::Duration;
use sunplug::config::surplus::OnStale;
use sunplug::control::guard::GuardParams;
use sunplug::control::policies::{self, LoadedPolicy};
use sunplug::control::{
    ChargerObs, Controller, ControllerParams, MeterSample, Observation, Reading,
};
use sunplug::units::{Amps, Phases, Soc, Supply, Volts, Watts};

pub const THREE: Supply = Supply {
    phases: Phases::Three,
    voltage: Volts(230.0),
};

pub fn at(s: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(s)
}

/// A 3-phase site, 6..16 A in whole amps, 25 A fuse, no ramp limit to speak of.
pub fn params() -> ControllerParams {
    ControllerParams {
        tz: "Europe/Brussels".parse().unwrap(),
        guard: GuardParams {
            supply: THREE,
            floor: Amps(6.0),
            max: Amps(16.0),
            main_fuse: Some(Amps(25.0)),
            step: Amps(1.0),
            step_base: Amps(0.0),
            ramp_a_per_s: 10.0,
            min_change_interval: Duration::from_secs(5),
        },
        grid_setpoint: Watts(0.0),
        meter_max_age: Duration::from_secs(30),
        on_stale: OnStale::Floor,
        stale_pause_after: Duration::from_secs(60),
        vehicle_max_age: Duration::from_secs(6 * 3600),
        capacity_kwh: Some(60.0),
        efficiency: 0.9,
    }
}

/// A shipped policy file, e.g. "pv-only".
pub fn policy(name: &str) -> LoadedPolicy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(format!("{name}.toml"));
    sunplug::config::load_policy(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A policy from inline TOML.
pub fn policy_str(text: &str) -> LoadedPolicy {
    policies::load_str(Path::new("inline.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn controller(name: &str) -> Controller {
    Controller::new(params(), policy(name))
}

/// A little site model: the car draws exactly what the last command offered, the meter is fresh.
pub struct Site {
    pub pv_w: f64,
    pub load_w: f64,
    pub car_w: f64,
    pub plugged: bool,
    pub soc: Option<(f64, DateTime<Utc>)>,
}

impl Site {
    pub fn new(pv_w: f64) -> Site {
        Site {
            pv_w,
            load_w: 0.0,
            car_w: 0.0,
            plugged: true,
            soc: None,
        }
    }

    pub fn obs(&self, now: DateTime<Utc>) -> Observation {
        let grid = self.load_w + self.car_w - self.pv_w;
        let mut o = Observation {
            meter: Some(Reading::new(MeterSample::grid(Watts(grid)), now)),
            charger: ChargerObs {
                plugged: Some(self.plugged),
                charging: Some(self.car_w > 0.0),
                power: Some(Reading::new(Watts(self.car_w), now)),
                ..ChargerObs::default()
            },
            ..Observation::default()
        };
        if let Some((s, t)) = self.soc {
            o.vehicle.soc = Some(Reading::new(Soc::new(s).unwrap(), t));
        }
        o
    }

    /// Step the controller at `now` and let the car follow the command at once.
    pub fn step(&mut self, c: &mut Controller, now: DateTime<Utc>) -> sunplug::control::Decision {
        let d = c.step(now, &self.obs(now));
        self.car_w = if self.plugged {
            THREE.power(d.command.current()).0
        } else {
            0.0
        };
        d
    }
}
