//! `evcc-like`: a faithful model of evcc's PV mode, the baseline to beat.
//!
//! Follows `../shared/reference/baselines.md` §7 (evcc 0.313, single loadpoint, fixed phases since a
//! Smappee station cannot switch 1p/3p): a 30 s tick; `target = max(I_eff − S/(p·V), 0)` with
//! `I_eff = min(I_measured + 2 A, I_offered)` while charging; truncation to what the charger can be
//! commanded; enable after the condition held 60 s, disable after 180 s at ≥ 0 W site power, holding
//! the floor from the grid while the disable timer runs; one shared PV timer that any tick without the
//! condition resets; the timer "elapsed" at plug-in so a plug-in with enough export enables on its first
//! tick. Timers compare with `>=`, like evcc. It runs its own loop, so the controller's PI and
//! hysteresis do not apply (only the guard and the stale-meter fail-safe).

use super::{CheckParams, Module, load_module};
use crate::control::policy::{Policy, PolicyContext, Wish};
use crate::units::HumanDuration;
use crate::units::{Amps, Watts};
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub const MODULE: Module = Module {
    name: "evcc-like",
    summary: "baseline: evcc's PV mode (30 s loop, 1 min enable / 3 min disable delays)",
    needs_soc: false,
    load: |path, text, _| {
        load_module::<Params>(path, text, &MODULE, |p, _| Box::new(EvccLike::new(p)))
    },
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    pub interval: HumanDuration,
    pub enable_delay: HumanDuration,
    pub disable_delay: HumanDuration,
    /// evcc's `residualPower`, W (added to site power; positive keeps a margin of export).
    pub residual_power_w: f64,
    /// evcc's measured-current headroom, A.
    pub headroom_a: f64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            interval: HumanDuration::secs(30),
            enable_delay: HumanDuration::secs(60),
            disable_delay: HumanDuration::secs(180),
            residual_power_w: 0.0,
            headroom_a: 2.0,
        }
    }
}

impl CheckParams for Params {
    fn check(&self) -> Vec<(&'static str, String)> {
        if self.interval.get().is_zero() {
            vec![("interval", "must be more than 0s".into())]
        } else {
            Vec::new()
        }
    }
}

/// evcc's PV timer: zero (inactive), elapsed (fires at the next qualifying check), or started at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Timer {
    Zero,
    Elapsed,
    Started(DateTime<Utc>),
}

/// IEC 61851 vehicle status as evcc sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// A: no vehicle.
    A,
    /// B: connected, not charging.
    B,
    /// C: charging.
    C,
}

#[derive(Debug)]
pub struct EvccLike {
    p: Params,
    last_tick: Option<DateTime<Utc>>,
    status: Status,
    enabled: bool,
    offered: Amps,
    timer: Timer,
}

impl EvccLike {
    fn new(p: Params) -> EvccLike {
        EvccLike {
            p,
            last_tick: None,
            status: Status::A,
            enabled: false,
            offered: Amps::ZERO,
            timer: Timer::Zero,
        }
    }

    fn status(ctx: &PolicyContext<'_>) -> Status {
        let plugged = ctx.obs.charger.plugged.unwrap_or(true);
        let charging = ctx
            .obs
            .charger
            .charging
            .unwrap_or(ctx.car_power > Watts(100.0));
        match (plugged, charging) {
            (false, _) => Status::A,
            (true, true) => Status::C,
            (true, false) => Status::B,
        }
    }

    fn elapsed(&self, now: DateTime<Utc>, delay: HumanDuration) -> bool {
        match self.timer {
            Timer::Zero => false,
            Timer::Elapsed => true,
            Timer::Started(t) => (now - t).to_std().unwrap_or_default() >= delay.get(),
        }
    }

    fn start_timer(&mut self, now: DateTime<Utc>) {
        if self.timer == Timer::Zero {
            self.timer = Timer::Started(now);
        }
    }

    /// One evcc tick (§7 steps 1–11), returning the current to offer (`None` = disabled).
    fn tick(&mut self, ctx: &PolicyContext<'_>, grid: Watts) -> Option<Amps> {
        let now = ctx.now;
        let s = grid.0 + self.p.residual_power_w; // 1. site power
        let status = Self::status(ctx); // 2. status edges
        if self.status == Status::A && status != Status::A {
            self.timer = Timer::Elapsed;
            self.enabled = false;
            self.offered = Amps::ZERO;
        }
        if self.status == Status::C && status != Status::C && self.timer != Timer::Elapsed {
            self.timer = Timer::Zero;
        }
        self.status = status;
        if status == Status::A {
            self.enabled = false;
            self.offered = Amps::ZERO;
            return None;
        }
        let (i_min, i_max) = (ctx.floor, ctx.max);
        let per_amp = ctx.supply.power(Amps(1.0)).0; // p · V
        // 5. effective current
        let i_eff = if status != Status::C {
            0.0
        } else if ctx.obs.charger.power.is_some() {
            let measured = ctx.car_power.0 / per_amp;
            (measured + self.p.headroom_a).min(self.offered.0)
        } else {
            self.offered.0
        };
        let target = (i_eff - s / per_amp).max(0.0); // 6.
        let out = if self.enabled && target < i_min.0 {
            // 8. disable path: hold the floor while the timer runs.
            if s >= 0.0 {
                self.start_timer(now);
                if self.elapsed(now, self.p.disable_delay) {
                    self.timer = Timer::Zero;
                    0.0
                } else {
                    i_min.0
                }
            } else {
                self.timer = Timer::Zero;
                i_min.0
            }
        } else if !self.enabled {
            // 9. enable path: always starts at the floor.
            if target >= i_min.0 {
                self.start_timer(now);
                if self.elapsed(now, self.p.enable_delay) {
                    self.timer = Timer::Zero;
                    i_min.0
                } else {
                    0.0
                }
            } else {
                self.timer = Timer::Zero;
                0.0
            }
        } else {
            // 10.
            self.timer = Timer::Zero;
            target.min(i_max.0)
        };
        // 11. apply, truncated to what the charger can be commanded.
        let i = Amps(out).floor_to_step(step_base(ctx), ctx.step);
        if i != self.offered && i >= i_min {
            self.offered = i;
        }
        if (i >= i_min) != self.enabled {
            self.enabled = i >= i_min;
            if !self.enabled {
                self.offered = Amps::ZERO;
            }
        }
        self.enabled.then_some(self.offered)
    }
}

/// Whole amps from 0, or Smappee percentage steps from the floor.
fn step_base(ctx: &PolicyContext<'_>) -> Amps {
    if (ctx.step.0 - 1.0).abs() < 1e-9 {
        Amps::ZERO
    } else {
        ctx.floor
    }
}

impl Policy for EvccLike {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        let due = self
            .last_tick
            .is_none_or(|t| (ctx.now - t).to_std().unwrap_or_default() >= self.p.interval.get());
        if due && let Some(m) = ctx.meter {
            self.last_tick = Some(ctx.now);
            self.tick(ctx, m.grid);
        }
        let current = self.enabled.then_some(self.offered);
        Wish::Direct {
            current,
            reason: match current {
                Some(a) => format!("evcc-like: offering {a}").into(),
                None => "evcc-like: disabled".into(),
            },
        }
    }

    fn reset(&mut self) {
        self.status = Status::A;
        self.enabled = false;
        self.offered = Amps::ZERO;
        self.timer = Timer::Zero;
    }
}
