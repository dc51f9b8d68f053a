//! The solar loop on cloudy days: the PI learns only the charger's own error, and shallow dips are
//! bridged at the floor while deep ones stop.
//!
//! On a cloudy day the wish changes faster than the guard lets the command change (one change per
//! `min_change_interval`), and while the surplus is below the floor the car is held at the floor.
//! Neither gap is an error of the charger: integrating them winds the loop up, so that it overshoots
//! (imports) after every rising edge and undershoots (exports) after every dip. An inexact charger,
//! on the other hand, must still be corrected once the command is steady.

use crate::support::control::{Site, THREE, at, params, policy_str};
use sunplug::control::Controller;
use sunplug::units::Amps;

const PV_ONLY: &str = "module = \"pv-only\"\n[switch]\nstart_energy_wh = 1\n";

fn controller() -> Controller {
    let mut p = params();
    p.guard.min_change_interval = std::time::Duration::from_secs(10);
    p.guard.ramp_a_per_s = 100.0;
    Controller::new(p, policy_str(PV_ONLY))
}

#[test]
fn a_command_held_by_the_change_interval_is_not_integrated() {
    let mut c = controller();
    let mut site = Site::new(5000.0);
    for s in 0..60 {
        site.step(&mut c, at(s * 5));
    }
    // The sun climbs 700 W every 5 s: the wish is always ahead of what the guard lets through.
    for s in 60..120 {
        site.pv_w += 700.0;
        let d = site.step(&mut c, at(s * 5));
        let i = d.factors.pi_i_a.unwrap_or(0.0);
        assert!(
            i.abs() < 1e-9,
            "step {s}: integral {i} A learned from a held command"
        );
    }
}

#[test]
fn holding_the_floor_through_a_dip_does_not_wind_the_integral_down() {
    let mut c = controller();
    let mut site = Site::new(8000.0);
    for s in 0..60 {
        site.step(&mut c, at(s * 5));
    }
    site.pv_w = 3500.0; // below the 4140 W floor: held at 6 A within the stop window
    for s in 60..80 {
        let d = site.step(&mut c, at(s * 5));
        assert_eq!(d.command.current(), Amps(6.0));
    }
    site.pv_w = 8000.0;
    let mut last = None;
    for s in 80..90 {
        last = Some(site.step(&mut c, at(s * 5)));
    }
    let d = last.unwrap();
    assert_eq!(d.factors.pi_i_a, Some(0.0));
    assert_eq!(
        d.command.current(),
        Amps(11.0),
        "8000/690 = 11.6 A at once, rounded down"
    );
}

#[test]
fn an_inexact_charger_is_still_corrected_once_the_command_is_steady() {
    let mut c = controller();
    let mut site = Site::new(8000.0);
    let mut amps = 0.0;
    for s in 0..400 {
        let d = c.step(at(s * 5), &site.obs(at(s * 5)));
        // The charger delivers 92 % of what it is asked.
        site.car_w = THREE.power(d.command.current()).0 * 0.92;
        amps = d.command.current().0;
    }
    assert!(
        amps >= 12.0,
        "asks for more than the 11.6 A the sun gives, to get it: {amps} A"
    );
    assert!(
        site.car_w <= 8000.0 + 1e-9 && site.car_w > 8000.0 - 700.0,
        "draws {} W",
        site.car_w
    );
}

/// `stop_below_pct`: a dip to 90 % of the floor is mostly sunshine and is bridged; a dip to half the
/// floor fills the stop window and stops.
#[test]
fn shallow_dips_are_bridged_deep_ones_stop() {
    let text = "module = \"pv-only\"\n[switch]\nstart_energy_wh = 1\nstop_energy_wh = 30\nstop_below_pct = 85\nmin_on = \"0s\"\n";
    let mut c = Controller::new(params(), policy_str(text));
    let mut site = Site::new(8000.0);
    for s in 0..20 {
        site.step(&mut c, at(s * 5));
    }
    site.pv_w = 0.9 * 4140.0;
    for s in 20..200 {
        let d = site.step(&mut c, at(s * 5));
        assert_eq!(
            d.command.current(),
            Amps(6.0),
            "step {s}: 90 % of the floor is bridged"
        );
    }
    site.pv_w = 0.5 * 4140.0;
    // 35 % of the floor below the 85 % line = 1449 W: 30 Wh in 75 s.
    let stopped = (200..230).find(|s| site.step(&mut c, at(s * 5)).command.current() == Amps(0.0));
    assert_eq!(
        stopped,
        Some(214),
        "stops once 30 Wh of deficit below 85 % are in"
    );
}

/// A meter that goes quiet while the car is paused must not start the car at the floor from the grid.
#[test]
fn a_silent_meter_keeps_a_paused_car_paused() {
    let mut c = controller();
    let mut site = Site::new(1000.0); // far below the floor: paused
    for s in 0..20 {
        assert_eq!(site.step(&mut c, at(s * 5)).command.current(), Amps(0.0));
    }
    let frozen = site.obs(at(95));
    for s in 20..60 {
        let mut obs = frozen;
        obs.charger.power = Some(sunplug::control::Reading::new(
            sunplug::units::Watts(0.0),
            at(s * 5),
        ));
        let d = c.step(at(s * 5), &obs);
        assert_eq!(d.command.current(), Amps(0.0), "step {s}: {}", d.reason);
    }
}

/// A car that takes a minute to wake up after the start, on a charger whose power is not measured
/// (no Smappee realtime): the minute of "not charging" is not a charger error and must not be
/// learned, else the loop imports for the rest of the session. This is what the end-to-end test
/// caught under load: 8 kW of sun gave 12.5 A (625 W of import) instead of 11.5 A.
#[test]
fn a_slow_car_without_power_measurement_settles_on_the_surplus() {
    let mut c = controller();
    let mut site = Site::new(8000.0);
    let mut awake_at = None;
    let mut last = None;
    for s in 0..200 {
        let now = at(s * 5);
        let mut obs = site.obs(now);
        obs.charger.power = None;
        obs.charger.charging = Some(site.car_w > 0.0);
        let d = c.step(now, &obs);
        let asked = THREE.power(d.command.current()).0;
        if asked > 0.0 && awake_at.is_none() {
            awake_at = Some(s + 12);
        }
        site.car_w = if awake_at.is_some_and(|a| s >= a) {
            asked
        } else {
            0.0
        };
        last = Some(d);
    }
    let d = last.unwrap();
    assert_eq!(
        d.command.current(),
        Amps(11.0),
        "8000 W / 690 V = 11.6 A, rounded down; {:?}",
        d.factors
    );
    assert!(
        site.car_w <= 8000.0,
        "no import: the car draws {} W",
        site.car_w
    );
}
