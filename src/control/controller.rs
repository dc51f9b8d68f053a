//! The controller: one pure step from an observation to a decision.
//!
//! Owns: [`Controller`] (per-step state: PI loop, start/stop switch, guard, SoC estimate, fail-safe
//! timer) and [`ControllerParams`]. `step(now, &obs)` does, in order:
//! 1. derive the car's power, the meter view (fresh or not) and the SoC estimate;
//! 2. the common rules every policy obeys: no car → pause; "charge now" → max; target SoC (or the car's
//!    own limit) reached → pause, resuming 2 % below; below the minimum SoC → max from the grid;
//! 3. otherwise the policy's wish;
//! 4. the wish becomes a current: solar wishes go through feed-forward + PI and the start/stop switch,
//!    or the stale-meter fail-safe (floor, then pause) when the meter is silent;
//! 5. the guard makes it safe.
//!
//! No I/O, no clock: `now` comes in. The daemon and the simulator both call this.

use super::decision::{Command, Decision, Factors};
use super::guard::{Guard, GuardParams};
use super::hysteresis::{Switch, SwitchInput, Volatility};
use super::observation::{Observation, PowerBalance};
use super::pi::{PiLoop, Saturation};
use super::plan::Plan;
use super::plan::outlook::Outlook;
use super::policies::{HomeBattery, LoadedPolicy};
use super::policy::{MeterView, PolicyContext, Wish};
use super::soc::SocEstimator;
use crate::units::{Amps, Soc, Supply, Watts};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the car draws, for one step.
#[derive(Debug, Clone, Copy)]
struct Car {
    /// Measured with the meter reading, else what the last command draws.
    power: Watts,
    /// Measured, and the car follows the command: what the PI may learn from.
    for_pi: Option<Watts>,
    /// The car's power is not measured and the grid reading was taken within `settle` of the last
    /// change: it cannot say what that change did, so the present current is kept until one that
    /// can arrives.
    awaiting_meter: Option<Amps>,
}

/// Grid power as the car should see it, given the home battery (charge positive) and the policy's rule.
pub fn effective_grid(grid: Watts, battery: Option<Watts>, rule: HomeBattery) -> Watts {
    let Some(b) = battery else { return grid };
    match rule {
        // Charging counts as surplus, discharging as import: grid − b either way.
        HomeBattery::CarFirst => grid - b,
        // Charging is the battery's; discharging still counts as import.
        HomeBattery::BatteryFirst => grid + (-b).max(Watts::ZERO),
        // Charging counts as surplus; discharging may feed the car.
        HomeBattery::AllowDischarge => grid - b.max(Watts::ZERO),
    }
}

/// SoC below the target at which charging resumes after the target was reached.
const RESUME_BELOW_TARGET_PCT: f64 = 2.0;
/// The car's measured power is used only when measured within this many seconds of the meter reading.
const CAR_METER_SYNC_S: i64 = 3;
/// Longest step the PI loop integrates over (a long gap is not a long error).
const MAX_DT_S: f64 = 60.0;
/// The PI learns from the car only while it draws at least this share of the floor's power: a car
/// that does not follow the command (still waking up, full, on its own schedule) is not a charger
/// delivering a little more or less than asked, and learning from it winds the loop up.
const CAR_FOLLOWS_FRACTION: f64 = 0.5;

/// What to do when the surplus reading is older than `max_age`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Drop to the floor current at once, then pause if it stays stale for `stale_pause_after`.
    Floor,
    /// Pause at once.
    Pause,
}

/// Everything fixed about the site, charger and loop, from the config (or a simulation scenario).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerParams {
    pub tz: Tz,
    pub guard: GuardParams,
    /// Grid power the loop steers toward (import positive), unless the policy overrides it.
    pub grid_setpoint: Watts,
    pub meter_max_age: Duration,
    pub on_stale: OnStale,
    pub stale_pause_after: Duration,
    pub vehicle_max_age: Duration,
    pub capacity_kwh: Option<f64>,
    pub efficiency: f64,
}

impl ControllerParams {
    pub fn supply(&self) -> Supply {
        self.guard.supply
    }
}

/// What survives a restart: the daemon persists it and hands it back to [`Controller::restore`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub switch: Switch,
    pub target_reached: bool,
}

#[derive(Debug)]
pub struct Controller {
    params: ControllerParams,
    policy: LoadedPolicy,
    pi: PiLoop,
    switch: Switch,
    guard: Guard,
    soc: SocEstimator,
    last_now: Option<DateTime<Utc>>,
    plugged: bool,
    target_reached: bool,
    stale_since: Option<DateTime<Utc>>,
    saturation: Saturation,
    /// The last solar step raised the PI's output to the policy's minimum (the floor).
    held_at_minimum: bool,
    /// How fast the surplus moves, for the switch's bridging and share-budget rules.
    volatility: Volatility,
    /// The configured maximum (charger, cable, car); a station that reports a lower one lowers
    /// `params.guard.max` while it does.
    configured_max: Amps,
    /// Whether decisions carry their reason in words (see [`Controller::set_explain`]).
    explain: bool,
    /// Prices and solar forecast, for the policies that plan.
    outlook: Option<Outlook>,
}

impl Controller {
    pub fn new(params: ControllerParams, policy: LoadedPolicy) -> Controller {
        Controller {
            pi: PiLoop::new(policy.common.pi),
            guard: Guard::new(params.guard),
            params,
            policy,
            switch: Switch::default(),
            soc: SocEstimator::default(),
            last_now: None,
            plugged: false,
            target_reached: false,
            stale_since: None,
            saturation: Saturation::None,
            held_at_minimum: false,
            volatility: Volatility::default(),
            configured_max: params.guard.max,
            explain: true,
            outlook: None,
        }
    }

    /// Whether each [`Decision`] says why in words (on by default: the daemon logs it and shows it in
    /// Home Assistant). A simulator run that nobody reads turns it off and saves formatting a sentence
    /// every step; the commands are the same either way (tests/it/sim_fast_path.rs).
    pub fn set_explain(&mut self, explain: bool) {
        self.explain = explain;
    }

    /// `words()` when explaining, else an empty string (which does not allocate).
    #[inline]
    fn say(&self, words: impl FnOnce() -> String) -> String {
        if self.explain { words() } else { String::new() }
    }

    pub fn params(&self) -> &ControllerParams {
        &self.params
    }

    pub fn policy_name(&self) -> &str {
        &self.policy.name
    }

    /// Swap the policy (a Home Assistant select), keeping the guard's memory so nothing jumps.
    pub fn set_policy(&mut self, policy: LoadedPolicy) {
        self.pi = PiLoop::new(policy.common.pi);
        self.policy = policy;
    }

    /// Hand in the prices and the solar forecast (the sources' latest, with their fetch times). Its
    /// generation counts the changes this controller has seen, so a plan is remade when they change.
    pub fn set_outlook(&mut self, mut outlook: Outlook) {
        let prev = self.outlook.as_ref().map_or(0, |o| o.generation);
        outlook.generation = prev;
        if self.outlook.as_ref() != Some(&outlook) {
            outlook.generation = prev + 1;
        }
        self.outlook = Some(outlook);
    }

    pub fn outlook(&self) -> Option<&Outlook> {
        self.outlook.as_ref()
    }

    /// The plan the running policy follows, if it plans.
    pub fn plan(&self) -> Option<&Plan> {
        self.policy.policy.plan()
    }

    /// The running policy (its name, module, knobs and source files).
    pub fn policy(&self) -> &LoadedPolicy {
        &self.policy
    }

    /// The policy's own state worth persisting (a script's `state` map).
    pub fn policy_state(&self) -> Option<serde_json::Value> {
        self.policy.policy.state()
    }

    /// Hand persisted policy state back to the running policy.
    pub fn restore_policy_state(&mut self, state: &serde_json::Value) {
        self.policy.policy.restore_state(state);
    }

    /// The state worth persisting.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            switch: self.switch,
            target_reached: self.target_reached,
        }
    }

    /// Resume after a restart: the persisted state and what the charger reports it is doing now.
    /// The guard ramps from that command, so a restart never jumps to a higher current.
    pub fn restore(&mut self, snapshot: Snapshot, charger_now: Command, now: DateTime<Utc>) {
        self.switch = snapshot.switch;
        self.target_reached = snapshot.target_reached;
        self.guard.resume(charger_now, now);
    }

    /// The last command the guard let through (or the site sent, see [`Controller::overrule`]) and
    /// when it changed; `None` before the first step.
    pub fn last_command(&self) -> Option<(Command, DateTime<Utc>)> {
        self.guard.last()
    }

    /// The site controller sent a lower command than this step's decision (a start held back for
    /// the stagger, or the site's fuse). The guard remembers what was really sent (`before` is
    /// [`Controller::last_command`] before the step), and the PI does not wind up against the cut.
    pub fn overrule(
        &mut self,
        now: DateTime<Utc>,
        command: Command,
        before: Option<(Command, DateTime<Utc>)>,
    ) {
        let decided = self.guard.last().map(|(c, _)| c);
        self.guard.overrule(command, now, before);
        if decided.is_some_and(|d| d.current() > command.current()) {
            self.saturation = Saturation::High;
        }
    }

    /// One control step.
    pub fn step(&mut self, now: DateTime<Utc>, obs: &Observation) -> Decision {
        self.follow_station_max(obs.charger.max);
        let p = self.params;
        let supply = p.supply();
        let dt = self
            .last_now
            .map(|t| {
                (now - t)
                    .to_std()
                    .unwrap_or_default()
                    .as_secs_f64()
                    .min(MAX_DT_S)
            })
            .unwrap_or(0.0);
        self.last_now = Some(now);
        let last_command = self.guard.last().map(|(c, _)| c).unwrap_or(Command::Pause);

        // 1. What the car draws: measured if fresh and taken together with the meter reading (the
        //    feed-forward subtracts one from the other) or with the command steady since `settle`
        //    before that reading (the car drew then what it draws now), else what the last command
        //    would draw.
        let settle = chrono::Duration::from_std(self.policy.common.pi.settle.get())
            .unwrap_or(chrono::Duration::MAX);
        let changed = self.guard.last().map(|(_, at)| at);
        let settled_at = |t: DateTime<Utc>| changed.is_none_or(|c| t >= c + settle);
        let car_reading = obs
            .charger
            .power
            .filter(|r| r.is_fresh(now, p.meter_max_age));
        let measured = car_reading.filter(|r| {
            obs.meter.is_none_or(|m| {
                (m.at - r.at).abs() <= chrono::Duration::seconds(CAR_METER_SYNC_S)
                    || (settled_at(m.at) && settled_at(r.at))
            })
        });
        // "Not charging" comes from the charger's state poll, which may predate the last change:
        // it is believed once the command has been steady for `settle`.
        let not_charging = obs.charger.charging == Some(false) && settled_at(now);
        let car_power = match measured {
            Some(r) => r.value,
            None if not_charging => Watts::ZERO,
            None => supply.power(last_command.current()),
        };
        let meter_reading = obs.meter.filter(|m| m.is_fresh(now, p.meter_max_age));
        let battery_rule = self.policy.common.home_battery;
        let meter = meter_reading.map(|m| {
            let grid = effective_grid(
                m.value.balance.grid(car_power),
                m.value.battery,
                battery_rule,
            );
            MeterView {
                grid,
                available: car_power - grid,
            }
        });
        let house_load = meter_reading.and_then(|m| m.value.house_load);
        if let Some(m) = meter {
            self.volatility.update(m.available.0, dt);
        }

        let plugged = obs
            .charger
            .plugged
            .or_else(|| {
                obs.vehicle
                    .plugged
                    .and_then(|r| r.fresh(now, p.vehicle_max_age).copied())
            })
            .unwrap_or(true);
        if self.plugged && !plugged {
            self.soc.reset();
            self.switch.unplugged();
            self.policy.policy.reset();
            self.target_reached = false;
        }
        self.plugged = plugged;
        self.soc
            .update(obs.vehicle.soc, car_power, dt, p.efficiency);
        let soc = self.soc.estimate(now, p.vehicle_max_age, p.capacity_kwh);
        let target = self.target(now, obs);

        let mut factors = Factors {
            grid_w: meter.map(|m| m.grid.0),
            available_w: meter.map(|m| m.available.0),
            car_w: Some(car_power.0),
            meter_age_s: obs.meter.map(|m| m.age(now).as_secs_f64()),
            soc_pct: soc.map(Soc::pct),
            target_soc_pct: Some(target.pct()),
            ..Factors::default()
        };

        // 2. Rules every policy obeys, then 3. the policy.
        if let Some(s) = soc {
            if s >= target {
                self.target_reached = true;
            } else if s.pct() < target.pct() - RESUME_BELOW_TARGET_PCT {
                self.target_reached = false;
            }
        }
        let wish = if !plugged {
            Wish::Pause {
                reason: "no car connected".into(),
            }
        } else if obs.overrides.charge_now {
            Wish::Fixed {
                current: p.guard.max,
                reason: "charge now (override)".into(),
            }
        } else if self.target_reached {
            // Still paused when the SoC has gone stale (no overcharge past the target), but the
            // reason must not claim the target is reached: we do not know the SoC now.
            Wish::Pause {
                reason: self.say(|| match soc {
                    Some(_) => format!("target {target} reached"),
                    None => format!(
                        "SoC unknown (no fresh report): paused, as the last known SoC was at the target {target}"
                    ),
                })
                .into(),
            }
        } else {
            let ctx = PolicyContext {
                now,
                tz: p.tz,
                supply,
                floor: p.guard.floor,
                max: p.guard.max,
                step: p.guard.step,
                obs,
                meter,
                car_power,
                soc,
                target,
                capacity_kwh: p.capacity_kwh,
                efficiency: p.efficiency,
                departure: obs.overrides.departure,
                command: last_command,
                outlook: self.outlook.as_ref(),
            };
            match self.min_soc(obs).filter(|m| soc.is_some_and(|s| s < *m)) {
                // Below the minimum: the policy may plan it (pv-only with prices); else full power.
                Some(min) => (self.policy.common.plan_min_soc)
                    .then(|| {
                        self.policy
                            .policy
                            .below_min(&ctx, min, self.policy.common.min_soc_by)
                    })
                    .flatten()
                    .unwrap_or_else(|| Wish::Fixed {
                        current: p.guard.max,
                        reason: self
                            .say(|| format!("below the minimum SoC {min}: full power"))
                            .into(),
                    }),
                None => self.policy.policy.wish(&ctx),
            }
        };

        // 4. The wish as a current. The start/stop switch counts the car's solar and grid energy
        //    with the best figure there is; the PI learns only from a car measured following it.
        let follows = supply.power(p.guard.floor).0 * CAR_FOLLOWS_FRACTION;
        let car_for_pi = measured
            .map(|r| r.value)
            .filter(|w| w.0 >= follows && obs.charger.charging != Some(false));
        self.held_at_minimum = false;
        // Without a car measurement that goes with it, a grid reading taken before the last change
        // took effect says nothing about that change: `what the command draws − grid` is off by it,
        // and acting on that again each step is an integrator with dead time that oscillates (a 10 s
        // meter read every 10 s swung 6 ↔ 12 A, 480 writes in two hours). So after a change the
        // current is kept until a reading taken `settle` later (or one in step with a measurement).
        // A meter that gives PV and load directly has no such ambiguity: the car is not in it.
        let awaiting_meter = match (measured, self.guard.last(), meter_reading) {
            (None, Some((Command::Charge { current, .. }, _)), Some(m))
                if matches!(m.value.balance, PowerBalance::Grid(_))
                    && !not_charging
                    && !settled_at(m.at) =>
            {
                Some(current)
            }
            _ => None,
        };
        let cars = Car {
            power: car_power,
            for_pi: car_for_pi,
            awaiting_meter,
        };
        let (wanted, reason) = self.resolve(now, dt, &wish, meter, cars, &mut factors);
        let wished = wanted;
        let wanted = self.hold(now, wanted, last_command);
        factors.wanted_a = wanted.map(|a| a.0);

        // 5. The guard.
        let guarded = if plugged {
            self.guard.apply(now, wanted, house_load)
        } else {
            self.guard.idle(now)
        };
        // Which way the integral must not wind: the guard held the command a step or more below
        // the wish (a cap, the ramp, the change interval) or at the cap, or held it above the wish
        // (the change interval), or the wish itself was raised to the policy's minimum. Rounding
        // down to the command resolution (less than a step) is not a hold: that gap is the PI's job.
        let (cap, _) = p.guard.cap(house_load);
        let step = p.guard.step;
        // A hold of the policy's bands counts like a guard hold (judged against the wish).
        self.saturation = match (wished, guarded.command) {
            _ if self.held_at_minimum => Saturation::Low,
            (Some(w), Command::Charge { current, .. })
                if w > current && (current >= cap - step || w - current >= step) =>
            {
                Saturation::High
            }
            (Some(w), Command::Charge { current, .. }) if w < current => Saturation::Low,
            _ => Saturation::None,
        };
        Decision {
            command: guarded.command,
            reason,
            clamp: guarded.clamp,
            factors,
        }
    }

    /// Cap at the station's own maximum when it reports one below the configured maximum (and at
    /// least the floor: a station that says less than the floor is misreporting, not limiting).
    fn follow_station_max(&mut self, station: Option<Amps>) {
        let floor = self.params.guard.floor;
        let max = match station {
            Some(m) if m.is_finite() && m >= floor && m < self.configured_max => m,
            _ => self.configured_max,
        };
        if max != self.params.guard.max {
            self.params.guard.max = max;
            self.guard.set_max(max);
        }
    }

    /// The SoC to stop at: the policy's, the user's override, the car's own limit; the lowest wins.
    fn target(&self, now: DateTime<Utc>, obs: &Observation) -> Soc {
        let mut t = Soc::saturating(self.policy.common.target_soc);
        if let Some(o) = obs.overrides.target_soc {
            t = o;
        }
        if let Some(limit) = obs
            .vehicle
            .charge_limit
            .and_then(|r| r.fresh(now, self.params.vehicle_max_age).copied())
            && limit < t
        {
            t = limit;
        }
        t
    }

    fn min_soc(&self, obs: &Observation) -> Option<Soc> {
        obs.overrides
            .min_soc
            .or_else(|| self.policy.common.min_soc.map(Soc::saturating))
    }

    /// Turn a wish into a wanted current (`None` = pause) and the reason to report.
    fn resolve(
        &mut self,
        now: DateTime<Utc>,
        dt: f64,
        wish: &Wish,
        meter: Option<MeterView>,
        car: Car,
        factors: &mut Factors,
    ) -> (Option<Amps>, String) {
        let p = self.params;
        let floor = p.guard.floor;
        if wish.needs_meter() && meter.is_none() {
            return self.fail_safe(now, wish);
        }
        self.stale_since = None;
        match wish {
            Wish::Pause { reason } => {
                self.switch.set(false, now);
                self.pi.reset();
                (None, self.say(|| reason.to_string()))
            }
            Wish::Fixed { current, reason } => {
                self.switch.set(true, now);
                self.pi.reset();
                (Some(*current), self.say(|| reason.to_string()))
            }
            Wish::Direct { current, reason } => {
                self.switch.set(current.is_some(), now);
                self.pi.reset();
                (*current, self.say(|| reason.to_string()))
            }
            Wish::Solar { minimum, reason } => {
                let m = meter.expect("checked above");
                let setpoint = Watts(
                    self.policy
                        .common
                        .grid_setpoint_w
                        .unwrap_or(p.grid_setpoint.0),
                );
                if let Some(current) = car.awaiting_meter
                    && self.switch.on
                {
                    return (
                        Some(current),
                        self.say(|| {
                            format!(
                                "{reason}: holding {current} until the meter shows the last change"
                            )
                        }),
                    );
                }
                // Positive setpoint = allowed import, so the car may take available + setpoint.
                let was_on = self.switch.on;
                let on = match minimum {
                    Some(_) => {
                        self.switch.set(true, now);
                        true
                    }
                    None => {
                        // The switch judges the surplus against (shares of) the floor power.
                        let car = car.power;
                        let solar = car.min(m.available.max(Watts::ZERO)).0;
                        let input = SwitchInput {
                            available_w: m.available.0 + setpoint.0,
                            floor_w: p.supply().power(floor).0,
                            solar_w: solar,
                            grid_w: car.0 - solar,
                            volatility_w: self.volatility.now_w(),
                        };
                        let on = self
                            .switch
                            .update(&self.policy.common.switch, now, dt, input);
                        factors.window_wh = Some(self.switch.window_wh);
                        on
                    }
                };
                if on != was_on {
                    self.pi.reset();
                }
                if !on {
                    return (
                        None,
                        self.say(|| {
                            format!(
                                "{reason}: waiting for surplus ({:.0} W available)",
                                m.available.0
                            )
                        }),
                    );
                }
                // The PI learns only from a command that has been steady long enough for the
                // charger, the car and the meter to show its effect.
                let settle = self.policy.common.pi.settle.get();
                let settled = self
                    .guard
                    .last()
                    .is_none_or(|(_, at)| (now - at).to_std().unwrap_or_default() >= settle);
                let out = self.pi.step(
                    p.supply(),
                    m.available,
                    setpoint,
                    car.for_pi,
                    p.guard.step,
                    self.saturation,
                    settled,
                    dt,
                );
                factors.feed_forward_a = Some(out.feed_forward.0);
                factors.pi_p_a = Some(out.p.0);
                factors.pi_i_a = Some(out.i.0);
                let lowest = minimum.unwrap_or(floor).max(floor);
                let wanted = out.current.max(lowest);
                self.held_at_minimum = out.current < lowest;
                let why = if out.current < lowest {
                    self.say(|| {
                        format!(
                            "{reason}: holding {lowest} ({:.0} W available)",
                            m.available.0
                        )
                    })
                } else {
                    self.say(|| format!("{reason}: {:.0} W available", m.available.0))
                };
                (Some(wanted), why)
            }
        }
    }

    /// The meter is silent: while charging, the floor at once, then pause after `stale_pause_after` (or
    /// pause at once); while paused, stay paused. A wish with a grid-backed minimum keeps that minimum:
    /// it never needed the meter.
    fn fail_safe(&mut self, now: DateTime<Utc>, wish: &Wish) -> (Option<Amps>, String) {
        let p = self.params;
        let since = *self.stale_since.get_or_insert(now);
        self.pi.reset();
        if let Wish::Solar {
            minimum: Some(m), ..
        } = wish
        {
            return (
                Some(*m),
                self.say(|| format!("meter stale: holding the minimum {m}")),
            );
        }
        let stale_for = (now - since).to_std().unwrap_or_default();
        // "The floor, then pause" protects a car that is charging; a paused car stays paused (starting
        // it at the floor from the grid because the meter went quiet is no fail-safe).
        let charging = self.guard.last().is_some_and(|(c, _)| c.is_charging());
        if !charging {
            self.switch.set(false, now);
            return (
                None,
                self.say(|| format!("meter stale for {}s: staying paused", stale_for.as_secs())),
            );
        }
        if p.on_stale == OnStale::Pause || stale_for >= p.stale_pause_after {
            self.switch.set(false, now);
            (
                None,
                self.say(|| format!("meter stale for {}s: paused", stale_for.as_secs())),
            )
        } else {
            (
                Some(p.guard.floor),
                self.say(|| {
                    format!(
                        "meter stale for {}s: holding the floor",
                        stale_for.as_secs()
                    )
                }),
            )
        }
    }

    /// Keep the present current while the wanted one is only a little lower or higher (the policy's
    /// hold and raise bands), and a raise smaller than `small_change_a` until the present command
    /// is `hold_small_for` old: each change is a call to the charger's cloud. A cut beyond the hold
    /// band goes out at once, however young the command: holding it would import the difference.
    fn hold(&self, now: DateTime<Utc>, wanted: Option<Amps>, last: Command) -> Option<Amps> {
        let c = &self.policy.common;
        let young = self.guard.last().is_some_and(|(_, at)| {
            (now - at).to_std().unwrap_or_default() < c.hold_small_for.get()
        });
        match (wanted, last) {
            (Some(w), Command::Charge { current, .. })
                if (w < current && w > current - Amps(c.hold_band_a))
                    || (w > current && w < current + Amps(c.raise_band_a))
                    || (young && w > current && (w - current).0 < c.small_change_a) =>
            {
                Some(current)
            }
            _ => wanted,
        }
    }
}
