//! From configuration sections to the controller: the one way a daemon's `sunplug.toml` and a
//! scenario's sections become the controller's parameters, so a site runs the same in both.
//!
//! Owns: [`Site`] (a checked `[site]`, from [`SiteSection::resolve`], the one `[site]` check),
//! [`ChargerLimits`] (the charger's resolved limits and the guard they give), [`Feeds`] (how fresh
//! the meter and the vehicle must be) and [`controller_params`], the one builder of
//! [`ControllerParams`], used by `Config::controller_params` and `sim::Scenario::controller_params`.

use super::schema::{ControlSection, LimitUnit, SiteSection};
use crate::control::controller::ControllerParams;
use crate::control::controller::OnStale;
use crate::control::guard::GuardParams;
use crate::units::{Amps, Phases, Supply, Volts, Watts};
use chrono_tz::Tz;
use std::time::Duration;

/// A checked `[site]`: the timezone, the supply the controller is configured for, the main fuse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    pub tz: Tz,
    pub supply: Supply,
    pub main_fuse: Option<Amps>,
}

impl SiteSection {
    /// The one check of `[site]`, for `sunplug.toml` and for a scenario: every problem is pushed as
    /// (key, message). The returned site is only meaningful when nothing was pushed (a bad value is
    /// replaced by a stand-in so the other sections can still be checked).
    pub fn resolve(&self, push: &mut dyn FnMut(&str, String)) -> Site {
        let tz = match &self.timezone {
            None => {
                push(
                    "site.timezone",
                    "missing: set the site's IANA timezone, e.g. \"Europe/Brussels\" (departure and \
                     plug-in times are local)"
                        .into(),
                );
                None
            }
            Some(name) => name.parse::<Tz>().ok().or_else(|| {
                push(
                    "site.timezone",
                    format!(
                        "unknown timezone \"{name}\": use an IANA name such as \"Europe/Brussels\""
                    ),
                );
                None
            }),
        };
        let phases = Phases::try_from(self.phases).unwrap_or_else(|_| {
            push(
                "site.phases",
                format!("{} is not possible: use 1 or 3", self.phases),
            );
            Phases::Three
        });
        if !(100.0..=260.0).contains(&self.voltage_v) {
            push(
                "site.voltage_v",
                format!(
                    "{} V is not a mains phase voltage: use 230 (or 100..260)",
                    self.voltage_v
                ),
            );
        }
        if let Some(f) = self.main_fuse_a
            && !(6.0..=400.0).contains(&f)
        {
            push(
                "site.main_fuse_a",
                format!("{f} A is not plausible: use the fuse rating per phase, e.g. 25"),
            );
        }
        Site {
            tz: tz.unwrap_or(Tz::UTC),
            supply: Supply::new(phases, Volts(self.voltage_v)),
            main_fuse: self.main_fuse_a.map(Amps),
        }
    }
}

/// The charger's limits, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChargerLimits {
    pub unit: LimitUnit,
    pub floor: Amps,
    /// The station's configured maximum (Smappee's 100 %).
    pub station_max: Amps,
    /// The lowest of station, cable and car maximum.
    pub max: Amps,
}

impl ChargerLimits {
    /// The guard for these limits on a supply: the floor, the maximum (with cable and car), and the
    /// command resolution the limit unit gives.
    pub fn guard_params(
        &self,
        supply: Supply,
        main_fuse: Option<Amps>,
        ramp_a_per_s: f64,
        min_change_interval: Duration,
    ) -> GuardParams {
        let (step_base, step) = self.resolution();
        GuardParams {
            supply,
            floor: self.floor,
            max: self.max,
            main_fuse,
            step,
            step_base,
            ramp_a_per_s,
            min_change_interval,
        }
    }

    /// Command resolution: (base, step). Whole amps from 0, or percent steps from the floor.
    pub fn resolution(&self) -> (Amps, Amps) {
        match self.unit {
            LimitUnit::Ampere => (Amps::ZERO, Amps(1.0)),
            LimitUnit::Percentage => (
                self.floor,
                Amps((self.station_max.0 - self.floor.0) / 100.0),
            ),
        }
    }
}

/// How fresh the meter and the vehicle must be, and the battery size: from `[surplus]` and
/// `[vehicle]` in `sunplug.toml`, from `[meter]`, `[vehicle_api]` and `[car]` in a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feeds {
    pub meter_max_age: Duration,
    pub on_stale: OnStale,
    pub stale_pause_after: Duration,
    pub vehicle_max_age: Duration,
    pub capacity_kwh: Option<f64>,
}

/// The controller's parameters for a site, its `[control]` section, its charger and its feeds: the
/// one builder, for the daemon and the simulator alike.
pub fn controller_params(
    site: &Site,
    control: &ControlSection,
    charger: &ChargerLimits,
    feeds: &Feeds,
) -> ControllerParams {
    ControllerParams {
        tz: site.tz,
        guard: charger.guard_params(
            site.supply,
            site.main_fuse,
            control.ramp_a_per_s,
            control.min_change_interval.get(),
        ),
        grid_setpoint: Watts(control.grid_setpoint_w),
        meter_max_age: feeds.meter_max_age,
        on_stale: feeds.on_stale,
        stale_pause_after: feeds.stale_pause_after,
        vehicle_max_age: feeds.vehicle_max_age,
        capacity_kwh: feeds.capacity_kwh,
        efficiency: control.charge_efficiency,
    }
}
