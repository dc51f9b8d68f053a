//! The site controller: several loadpoints behind one grid connection, stepped together.
//!
//! Owns: [`SiteController`], [`Loadpoint`] and its [`LoadpointSpec`], [`SiteParams`],
//! [`SiteObservation`] and [`SiteDecision`]; the sharing rules live in [`share`], the per-phase
//! fuse in [`fuse`]. Each loadpoint keeps its own [`Controller`] (policy, PI, start/stop windows,
//! guard), so everything a single charger does, each loadpoint still does. `step(now, &obs)`:
//! 1. **one loadpoint**: its observation goes to its controller untouched, so a one-loadpoint site
//!    decides exactly what a plain [`Controller`] does (tested over a replayed day);
//! 2. **several**: the site's surplus (export positive, with every car's own power added back, and
//!    the home battery counted by the highest-priority loadpoint's policy) is shared by
//!    [`share::share`] (floors by priority, then the rest by priority, a fair split among equals) and each
//!    controller sees its share as [`PowerBalance::Available`], so its own PI and hysteresis work on
//!    it unchanged. A car measured drawing clearly less than its command for [`SHORT_FOR`] (tapering
//!    near full, or limited by its onboard charger) claims only its draw plus a step, so the rest
//!    goes to the others; the cap lifts when it draws near its command again
//!    ([`Loadpoint::track_draw`]). A stale meter is passed on as it is: each controller's fail-safe
//!    applies;
//! 3. **stagger**: two loadpoints never go from paused to charging in the same step; the second
//!    waits until `stagger` after the first (higher priority first, then config order). A joint
//!    start can trip the fuse, and each PI would see the other's step as its own;
//! 4. **fuse**: the per-phase sum of all commands is held within the main fuse minus the house load
//!    ([`fuse::lower_to_fuse`]): commands only come down, and never between 0 and a floor. Grid-
//!    assisted policies (min-plus-pv, fast, a departure plan's grid part) share the headroom this way.
//!
//! A command the site lowers is handed back to its controller ([`Controller::overrule`]), so the
//! guard's ramp and change interval count from what was really sent. No I/O, no clock.

pub mod fuse;
#[cfg(test)]
mod props;
pub mod share;
#[cfg(test)]
mod tests;

pub use fuse::{Line, Wire};

use super::controller::{Controller, ControllerParams, Snapshot, effective_grid};
use super::decision::{Command, Decision};
use super::observation::{
    ChargerObs, MeterSample, Observation, Overrides, PowerBalance, Reading, VehicleObs,
};
use super::plan::outlook::Outlook;
use super::policies::LoadedPolicy;
use crate::units::{Amps, Phases, Supply, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What the config says about one loadpoint besides its controller's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadpointSpec {
    pub name: String,
    /// Higher goes first; equals split fairly.
    pub priority: i32,
    /// The phases the car charges on (over the controller parameters' supply).
    pub phases: Phases,
    /// The line a 1-phase loadpoint loads (ignored for 3-phase).
    pub phase: Line,
    /// A lower maximum than the charger's for this loadpoint (never below the floor).
    pub max_current: Option<Amps>,
}

impl LoadpointSpec {
    /// Priority 0, on L1 when 1-phase, no maximum of its own.
    pub fn new(name: impl Into<String>, phases: Phases) -> LoadpointSpec {
        LoadpointSpec {
            name: name.into(),
            priority: 0,
            phases,
            phase: Line::L1,
            max_current: None,
        }
    }

    pub fn wire(&self) -> Wire {
        Wire {
            phases: self.phases,
            line: self.phase,
        }
    }
}

/// The site's connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteParams {
    /// The main fuse, per phase. `None`: only each loadpoint's own caps apply.
    pub main_fuse: Option<Amps>,
    /// The connection's phases and voltage (the house load is taken as balanced over its phases).
    pub supply: Supply,
    /// The least time between two starts; `None`: the loadpoints' longest `min_change_interval`.
    pub stagger: Option<Duration>,
}

/// One loadpoint's own part of an observation (the meter is the site's).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadpointObs {
    pub charger: ChargerObs,
    pub vehicle: VehicleObs,
    pub overrides: Overrides,
}

impl LoadpointObs {
    /// The observation its controller sees with `meter`.
    pub fn with_meter(self, meter: Option<Reading<MeterSample>>) -> Observation {
        Observation {
            meter,
            charger: self.charger,
            vehicle: self.vehicle,
            overrides: self.overrides,
        }
    }
}

/// Everything the site controller knows at one step: the site's meter (grid including every car, or
/// the power available) and each loadpoint's charger, vehicle and overrides, in config order (a
/// loadpoint left out counts as one without a car: it pauses).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteObservation {
    pub meter: Option<Reading<MeterSample>>,
    pub loadpoints: Vec<LoadpointObs>,
}

/// One loadpoint's outcome of a site step.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadpointDecision {
    /// Its controller's decision, with the site's cut applied (the command is what to send).
    pub decision: Decision,
    /// The surplus it was shown, W (`None` with one loadpoint or a stale meter).
    pub share_w: Option<f64>,
    /// What the site changed: "stagger" (a start held back) or "site-fuse".
    pub site: Option<&'static str>,
}

/// One site step's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDecision {
    /// In config order.
    pub loadpoints: Vec<LoadpointDecision>,
    /// The site's surplus with every car added back, W (`None` with one loadpoint or a stale meter).
    pub surplus_w: Option<f64>,
    /// What the commands load on each line, A.
    pub load_a: [f64; 3],
    /// The main fuse minus the house load per line, A, when there is a fuse.
    pub headroom_a: Option<[f64; 3]>,
}

impl SiteDecision {
    pub fn commands(&self) -> impl Iterator<Item = Command> + '_ {
        self.loadpoints.iter().map(|l| l.decision.command)
    }
}

/// A loadpoint: its spec and its own controller.
#[derive(Debug)]
pub struct Loadpoint {
    spec: LoadpointSpec,
    controller: Controller,
    /// The command before the last change (what the car drew until the change showed).
    prev: Command,
    /// Since when the car has drawn clearly less than its command (see [`Loadpoint::track_draw`]).
    short: Option<Short>,
}

/// How long a car must draw clearly less than its command before its claim is capped at its draw.
pub const SHORT_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A car drawing clearly less than its command: since when, and the cap on its claim, W.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Short {
    since: DateTime<Utc>,
    cap_w: f64,
}

impl Loadpoint {
    /// The spec's phases and maximum override those in `params`.
    pub fn new(
        spec: LoadpointSpec,
        mut params: ControllerParams,
        policy: LoadedPolicy,
    ) -> Loadpoint {
        params.guard.supply.phases = spec.phases;
        if let Some(max) = spec.max_current.filter(|m| m.is_finite()) {
            params.guard.max = params.guard.max.min(max.max(params.guard.floor));
        }
        Loadpoint {
            spec,
            controller: Controller::new(params, policy),
            prev: Command::Pause,
            short: None,
        }
    }

    pub fn spec(&self) -> &LoadpointSpec {
        &self.spec
    }

    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Its controller, for what the site does not wrap (a policy swap, an outlook, the plan).
    pub fn controller_mut(&mut self) -> &mut Controller {
        &mut self.controller
    }

    fn claim(&self, now: DateTime<Utc>, o: &LoadpointObs) -> share::Claim {
        let p = self.controller.params();
        let plugged = o
            .charger
            .plugged
            .or_else(|| {
                o.vehicle
                    .plugged
                    .and_then(|r| r.fresh(now, p.vehicle_max_age).copied())
            })
            .unwrap_or(true);
        let floor_w = p.supply().power(p.guard.floor).0;
        let max_w = p.supply().power(p.guard.max).0;
        let cap_w = self
            .short
            .filter(|s| now >= s.since + SHORT_FOR)
            .map_or(max_w, |s| s.cap_w.clamp(floor_w, max_w));
        share::Claim {
            floor_w,
            max_w: cap_w,
            priority: self.spec.priority,
            charging: self
                .controller
                .last_command()
                .is_some_and(|(c, _)| c.is_charging()),
            active: plugged && !self.controller.snapshot().target_reached,
        }
    }

    /// Whether its claim is capped at what the car draws now (see [`Loadpoint::track_draw`]).
    pub fn capped(&self, now: DateTime<Utc>) -> bool {
        self.short.is_some_and(|s| now >= s.since + SHORT_FOR)
    }

    /// Follow whether the car draws clearly less than its command (a car tapering near full, or
    /// one whose onboard charger or phases limit it), so the site can hand the rest to others.
    /// The band is one command step, at least 1 A (a percent-resolution step is within a car's
    /// noise). A fresh measurement more than a band below what the command draws, taken once the
    /// command has been steady for the PI's `settle`, starts the count; after [`SHORT_FOR`] of it
    /// the claim's maximum is the car's draw plus a band, rounded up to a command step (so a car
    /// given exactly its cap still draws a band less, and a car that follows its command shows it),
    /// never below the floor. The count ends when the car draws within half a band of its command
    /// (the cap lifts), stops, or is not measured. A start or raise resets a count that has not
    /// capped yet (the car needs time to follow) and is not judged until `settle` has passed; a cap
    /// already in force is kept through a raise (a PI nudge or the share moving within it).
    fn track_draw(&mut self, now: DateTime<Utc>, o: &LoadpointObs) {
        let c = &self.controller;
        let p = c.params();
        let charging = c.last_command().filter(|(cmd, _)| cmd.is_charging());
        let reading = o.charger.power.filter(|r| r.is_fresh(now, p.meter_max_age));
        let (Some((command, at)), Some(r)) = (charging, reading) else {
            self.short = None;
            return;
        };
        let settle = chrono::Duration::from_std(c.policy().common.pi.settle.get())
            .unwrap_or(chrono::Duration::MAX);
        if r.at < at + settle || now < at + settle {
            if command.current() > self.prev.current() && !self.capped(now) {
                self.short = None;
            }
            return;
        }
        let g = &p.guard;
        let supply = p.supply();
        let band = g.step.max(Amps(1.0));
        let draw = r.value.max(Watts::ZERO);
        let gap = supply.current(supply.power(command.current()) - draw);
        let short = match self.short {
            None => gap > band,
            Some(_) => gap >= band * 0.5,
        };
        if !short {
            self.short = None;
            return;
        }
        let wanted = supply.current(draw) + band;
        let q = g.quantize(wanted);
        let cap = if q.0 < wanted.0 - 1e-6 { q + g.step } else { q };
        self.short = Some(Short {
            since: self.short.map_or(now, |s| s.since),
            cap_w: supply.power(cap).0,
        });
    }

    /// What the car drew when the meter read at `meter_at`: measured if fresh, nothing when the
    /// charger says it does not charge, else what the command then in force draws.
    fn car_power(&self, now: DateTime<Utc>, meter_at: DateTime<Utc>, o: &LoadpointObs) -> Watts {
        let c = &self.controller;
        let p = c.params();
        if let Some(r) = o.charger.power.filter(|r| r.is_fresh(now, p.meter_max_age)) {
            return r.value;
        }
        let Some((command, at)) = c.last_command() else {
            return Watts::ZERO;
        };
        let settle = chrono::Duration::from_std(c.policy().common.pi.settle.get())
            .unwrap_or(chrono::Duration::MAX);
        if o.charger.charging == Some(false) && now >= at + settle {
            return Watts::ZERO;
        }
        let in_force = if meter_at >= at + settle {
            command
        } else {
            self.prev
        };
        p.supply().power(in_force.current())
    }
}

/// Several loadpoints on one connection (see the module doc).
#[derive(Debug)]
pub struct SiteController {
    params: SiteParams,
    loadpoints: Vec<Loadpoint>,
    /// When the last start went out.
    last_start: Option<DateTime<Utc>>,
}

impl SiteController {
    pub fn new(params: SiteParams, loadpoints: Vec<Loadpoint>) -> SiteController {
        SiteController {
            params,
            loadpoints,
            last_start: None,
        }
    }

    pub fn params(&self) -> &SiteParams {
        &self.params
    }

    pub fn len(&self) -> usize {
        self.loadpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loadpoints.is_empty()
    }

    pub fn loadpoints(&self) -> &[Loadpoint] {
        &self.loadpoints
    }

    pub fn loadpoint(&self, i: usize) -> Option<&Loadpoint> {
        self.loadpoints.get(i)
    }

    pub fn loadpoint_mut(&mut self, i: usize) -> Option<&mut Loadpoint> {
        self.loadpoints.get_mut(i)
    }

    /// The index of the loadpoint called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.loadpoints.iter().position(|l| l.spec.name == name)
    }

    /// The least time between two starts.
    pub fn stagger(&self) -> Duration {
        self.params.stagger.unwrap_or_else(|| {
            self.loadpoints
                .iter()
                .map(|l| l.controller.params().guard.min_change_interval)
                .max()
                .unwrap_or_default()
        })
    }

    /// Whether every decision says why in words (see [`Controller::set_explain`]).
    pub fn set_explain(&mut self, explain: bool) {
        for l in &mut self.loadpoints {
            l.controller.set_explain(explain);
        }
    }

    /// Swap one loadpoint's policy (see [`Controller::set_policy`]).
    pub fn set_policy(&mut self, i: usize, policy: LoadedPolicy) {
        if let Some(l) = self.loadpoints.get_mut(i) {
            l.controller.set_policy(policy);
        }
    }

    /// Hand every loadpoint the site's prices and solar forecast.
    pub fn set_outlook(&mut self, outlook: &Outlook) {
        for l in &mut self.loadpoints {
            l.controller.set_outlook(outlook.clone());
        }
    }

    /// Each loadpoint's state worth persisting, by name, in config order.
    pub fn snapshots(&self) -> Vec<(String, Snapshot)> {
        self.loadpoints
            .iter()
            .map(|l| (l.spec.name.clone(), l.controller.snapshot()))
            .collect()
    }

    /// Resume one loadpoint after a restart (see [`Controller::restore`]).
    pub fn restore(
        &mut self,
        i: usize,
        snapshot: Snapshot,
        charger_now: Command,
        now: DateTime<Utc>,
    ) {
        if let Some(l) = self.loadpoints.get_mut(i) {
            l.controller.restore(snapshot, charger_now, now);
            l.prev = charger_now;
            l.short = None;
        }
    }

    /// One site step: every loadpoint's decision, in config order.
    pub fn step(&mut self, now: DateTime<Utc>, obs: &SiteObservation) -> SiteDecision {
        let n = self.loadpoints.len();
        // A loadpoint the observation leaves out has no car as far as this step knows: it pauses.
        let lp_obs = |i: usize| {
            obs.loadpoints.get(i).copied().unwrap_or(LoadpointObs {
                charger: ChargerObs {
                    plugged: Some(false),
                    ..ChargerObs::default()
                },
                ..LoadpointObs::default()
            })
        };
        let before: Vec<_> = self
            .loadpoints
            .iter()
            .map(|l| l.controller.last_command())
            .collect();
        let max_age = self
            .loadpoints
            .iter()
            .map(|l| l.controller.params().meter_max_age)
            .min()
            .unwrap_or_default();
        let fresh = obs.meter.filter(|m| m.is_fresh(now, max_age));
        for (i, l) in self.loadpoints.iter_mut().enumerate() {
            l.track_draw(now, &lp_obs(i));
        }

        // 1.–2. Each controller with its share (or the site's meter as it is).
        let mut shares: Vec<Option<f64>> = vec![None; n];
        let mut surplus_w = None;
        if n > 1
            && let Some(m) = fresh
        {
            let cars = (0..n).fold(Watts::ZERO, |sum, i| {
                sum + self.loadpoints[i].car_power(now, m.at, &lp_obs(i))
            });
            let rule = self
                .by_priority()
                .first()
                .map(|&i| self.loadpoints[i].controller.policy().common.home_battery)
                .unwrap_or_default();
            let grid = effective_grid(m.value.balance.grid(cars), m.value.battery, rule);
            let surplus = (cars - grid).0;
            let claims: Vec<_> = (0..n)
                .map(|i| self.loadpoints[i].claim(now, &lp_obs(i)))
                .collect();
            for (s, v) in shares.iter_mut().zip(share::share(surplus, &claims)) {
                *s = Some(v);
            }
            surplus_w = Some(surplus);
        }
        let mut decisions: Vec<LoadpointDecision> = Vec::with_capacity(n);
        for (i, l) in self.loadpoints.iter_mut().enumerate() {
            let meter = match (shares[i], fresh) {
                (Some(s), Some(m)) => Some(Reading::new(
                    MeterSample {
                        balance: PowerBalance::Available(Watts(s)),
                        pv: m.value.pv,
                        house_load: m.value.house_load,
                        battery: None,
                    },
                    m.at,
                )),
                _ => obs.meter,
            };
            decisions.push(LoadpointDecision {
                decision: l.controller.step(now, &lp_obs(i).with_meter(meter)),
                share_w: shares[i],
                site: None,
            });
        }

        // 3. Stagger.
        let stagger = chrono::Duration::from_std(self.stagger()).unwrap_or(chrono::Duration::MAX);
        for i in self.by_priority() {
            let was_paused = before[i].is_none_or(|(c, _)| !c.is_charging());
            if !(was_paused && decisions[i].decision.command.is_charging()) {
                continue;
            }
            let recent = self.last_start.filter(|t| now < *t + stagger && now >= *t);
            if let Some(t) = recent {
                let waited = (now - t).num_seconds();
                self.cut(
                    i,
                    now,
                    before[i],
                    Command::Pause,
                    &mut decisions[i],
                    "stagger",
                    || format!("another loadpoint started {waited} s ago: this start waits"),
                );
            } else {
                self.last_start = Some(now);
            }
        }

        // 4. The fuse.
        let site_phases = self.params.supply.phases;
        let headroom_a = self.params.main_fuse.map(|fuse| {
            let house = fresh
                .and_then(|m| m.value.house_load)
                .unwrap_or(Watts::ZERO);
            let per_line = fuse.0 - self.params.supply.current(house.max(Watts::ZERO)).0;
            let mut h = [0.0; 3];
            for x in h.iter_mut().take(fuse::lines(site_phases)) {
                *x = per_line;
            }
            h
        });
        if let Some(h) = headroom_a {
            let cut: Vec<Command> = {
                let mut seats: Vec<fuse::Seat<'_>> = self
                    .loadpoints
                    .iter()
                    .zip(&decisions)
                    .map(|(l, d)| fuse::Seat {
                        command: d.decision.command,
                        wire: l.spec.wire(),
                        priority: l.spec.priority,
                        guard: &l.controller.params().guard,
                    })
                    .collect();
                fuse::lower_to_fuse(site_phases, h, &mut seats);
                seats.iter().map(|s| s.command).collect()
            };
            for (i, c) in cut.into_iter().enumerate() {
                if c != decisions[i].decision.command {
                    let house = h[0];
                    self.cut(i, now, before[i], c, &mut decisions[i], "site-fuse", || {
                        format!("the main fuse leaves {house:.1} A per phase for all cars")
                    });
                }
            }
        }

        // What each car drew before its last change, for the next step's surplus.
        for (l, b) in self.loadpoints.iter_mut().zip(&before) {
            let after = l.controller.last_command();
            if after.map(|(_, at)| at) != b.map(|(_, at)| at) {
                l.prev = b.map(|(c, _)| c).unwrap_or(Command::Pause);
            }
        }
        let load_a = fuse::loads(
            site_phases,
            &self
                .loadpoints
                .iter()
                .zip(&decisions)
                .map(|(l, d)| (d.decision.command, l.spec.wire()))
                .collect::<Vec<_>>(),
        );
        SiteDecision {
            loadpoints: decisions,
            surplus_w,
            load_a,
            headroom_a,
        }
    }

    /// Loadpoint indices, higher priority first, then config order.
    fn by_priority(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.loadpoints.len()).collect();
        order.sort_by_key(|&i| (-i64::from(self.loadpoints[i].spec.priority), i));
        order
    }

    /// Send `command` (lower than decided) instead, and tell the loadpoint's controller.
    #[allow(clippy::too_many_arguments)]
    fn cut(
        &mut self,
        i: usize,
        now: DateTime<Utc>,
        before: Option<(Command, DateTime<Utc>)>,
        command: Command,
        d: &mut LoadpointDecision,
        rule: &'static str,
        why: impl FnOnce() -> String,
    ) {
        self.loadpoints[i].controller.overrule(now, command, before);
        d.decision.command = command;
        d.decision.clamp = Some(rule);
        d.site = Some(rule);
        if !d.decision.reason.is_empty() {
            d.decision.reason = format!("{}; {}", d.decision.reason, why());
        }
    }
}
