//! The actuator's rules, one by one, with time as plain seconds.

use super::*;
use crate::units::Phases;

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn charge(a: f64) -> Command {
    Command::Charge {
        current: Amps(a),
        phases: Phases::Three,
    }
}

fn amps() -> Resolution {
    Resolution {
        floor: Amps(6.0),
        percent: None,
        max: Some(Amps(32.0)),
    }
}

fn actuator(on_manual_change: OnManualChange) -> Actuator {
    Actuator::new(ActuatorSettings {
        resolution: amps(),
        on_manual_change,
        manual_grace: s(60),
    })
}

fn read(plugged: bool, paused: bool) -> ChargerObs {
    ChargerObs {
        plugged: Some(plugged),
        paused: Some(paused),
        ..ChargerObs::default()
    }
}

/// One control step: the command in, the request (if any) sent and acknowledged at once.
fn step(a: &mut Actuator, now: Duration, cmd: Command) -> Option<Request> {
    a.command(Some(cmd));
    let req = a.next(now)?;
    a.sending(req);
    a.written(now, req, Outcome::Ok);
    Some(req)
}

#[test]
fn one_rounding_rule_down_to_the_step_and_pause_below_the_floor() {
    let r = amps();
    assert_eq!(r.request(charge(16.7)), Request::Ampere(16));
    assert_eq!(
        r.request(charge(10.999_999_9)),
        Request::Ampere(11),
        "float noise"
    );
    assert_eq!(r.request(charge(5.9)), Request::Pause);
    assert_eq!(r.request(charge(40.0)), Request::Ampere(32), "capped");
    assert_eq!(r.request(charge(f64::NAN)), Request::Pause);
    assert_eq!(r.request(Command::Pause), Request::Pause);
    let odd = Resolution {
        floor: Amps(6.8),
        ..amps()
    };
    assert_eq!(
        odd.request(charge(6.9)),
        Request::Pause,
        "6 A is below 6.8 A"
    );
    let pct = Resolution {
        floor: Amps(6.0),
        percent: PercentScale::new(Amps(6.0), Amps(32.0)),
        max: Some(Amps(20.0)),
    };
    assert_eq!(pct.request(charge(8.6)), Request::Percent(10));
    assert_eq!(
        pct.request(charge(31.0)),
        Request::Percent(53),
        "capped at 20 A"
    );
    assert_eq!(pct.request(charge(5.0)), Request::Pause);
}

#[test]
fn dedupes_remembers_a_rejection_and_reasserts_after_a_replug() {
    let mut a = actuator(OnManualChange::Reassert);
    a.observed(s(0), &read(true, false));
    assert_eq!(step(&mut a, s(0), charge(10.0)), Some(Request::Ampere(10)));
    assert_eq!(step(&mut a, s(5), charge(10.4)), None, "same whole amps");
    // A refused request is not repeated until the command changes.
    a.command(Some(charge(12.0)));
    let req = a.next(s(10)).unwrap();
    a.sending(req);
    a.written(s(10), req, Outcome::Rejected);
    assert_eq!(a.next(s(15)), None);
    assert_eq!(a.deadline(), None, "nothing to wake up for");
    assert_eq!(step(&mut a, s(20), Command::Pause), Some(Request::Pause));
    assert_eq!(step(&mut a, s(25), charge(12.0)), Some(Request::Ampere(12)));
    assert_eq!(step(&mut a, s(30), Command::Pause), Some(Request::Pause));
    // Unplugged, then plugged: the station reset PAUSED to NORMAL.
    a.observed(s(40), &read(false, false));
    assert_eq!(step(&mut a, s(40), Command::Pause), None);
    a.observed(s(50), &read(true, false));
    assert_eq!(step(&mut a, s(50), Command::Pause), Some(Request::Pause));
    assert_eq!(a.writes, 5);
}

#[test]
fn a_paused_connector_stays_paused_with_one_request_for_ten_minutes_of_polls() {
    let mut a = actuator(OnManualChange::Reassert);
    a.observed(s(0), &read(true, false));
    let mut sent = Vec::new();
    for t in (0..600).step_by(5) {
        if t % 10 == 0 && t > 0 {
            // The station reports the pause (or says nothing about it).
            let obs = ChargerObs {
                paused: if t % 20 == 0 { Some(true) } else { None },
                ..read(true, true)
            };
            a.observed(s(t), &obs);
        }
        sent.extend(step(&mut a, s(t), Command::Pause));
        assert_eq!(
            a.offered(None),
            Some(Amps::ZERO),
            "0 A offered while paused"
        );
    }
    assert_eq!(sent, [Request::Pause]);
}

#[test]
fn a_charger_read_as_paused_needs_no_pause_sent() {
    let mut a = actuator(OnManualChange::Reassert);
    a.observed(s(0), &read(true, true));
    assert_eq!(step(&mut a, s(0), Command::Pause), None);
    assert_eq!(step(&mut a, s(5), charge(6.0)), Some(Request::Ampere(6)));
}

#[test]
fn backoff_by_kind_reset_by_success_and_429_does_not_escalate() {
    let mut b = RetryGate::new(WRITE_BACKOFF_MAX);
    let waits: Vec<u64> = (0..8)
        .map(|i| b.record(s(i), Outcome::Transient).unwrap().as_secs())
        .collect();
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
    b.record(s(10), Outcome::Ok);
    assert!(b.ready(s(10)));
    assert_eq!(b.record(s(10), Outcome::Transient), Some(s(5)));
    // A 429 waits what it names and leaves the next transient wait where it was.
    assert_eq!(
        b.record(s(20), Outcome::RateLimited(Some(s(42)))),
        Some(s(42))
    );
    assert!(!b.ready(s(61)) && b.ready(s(62)));
    assert_eq!(b.record(s(62), Outcome::Transient), Some(s(10)));
    assert_eq!(
        b.record(s(80), Outcome::RateLimited(Some(Duration::ZERO))),
        Some(s(1)),
        "never a busy loop"
    );
    assert_eq!(b.record(s(90), Outcome::Rejected), None);
    assert_eq!(b.record(s(90), Outcome::Auth), Some(WRITE_BACKOFF_MAX));
    // Reads are capped lower.
    let mut r = RetryGate::new(READ_BACKOFF_MAX);
    let last = (0..10)
        .map(|i| r.record(s(i), Outcome::Transient).unwrap())
        .last();
    assert_eq!(last, Some(s(60)));
}

#[test]
fn a_failing_read_never_holds_a_write() {
    let mut a = actuator(OnManualChange::Reassert);
    for t in 0..10 {
        a.read_failed(s(t), Outcome::Transient);
    }
    assert!(!a.read_due(s(10)));
    assert_eq!(step(&mut a, s(10), charge(8.0)), Some(Request::Ampere(8)));
}

#[test]
fn a_shutdown_floors_only_a_charging_car() {
    let mut a = actuator(OnManualChange::Reassert);
    assert_eq!(a.shutdown_request(SafeAction::Floor), None, "nothing known");
    step(&mut a, s(0), Command::Pause);
    assert_eq!(
        a.shutdown_request(SafeAction::Floor),
        None,
        "leave it paused"
    );
    assert_eq!(a.shutdown_request(SafeAction::Pause), Some(Request::Pause));
    step(&mut a, s(5), charge(16.0));
    assert_eq!(
        a.shutdown_request(SafeAction::Floor),
        Some(Request::Ampere(6))
    );
    assert_eq!(a.shutdown_request(SafeAction::Keep), None);
}

#[test]
fn a_change_in_the_app_is_reasserted_once_after_the_grace() {
    let mut a = actuator(OnManualChange::Reassert);
    a.observed(s(0), &read(true, false));
    step(&mut a, s(0), charge(10.0));
    a.observed(s(10), &read(true, true));
    assert_eq!(a.manual(), Some(("paused outside sunplug", false)));
    assert_eq!(a.offered(Some(&read(true, true))), Some(Amps::ZERO));
    assert_eq!(step(&mut a, s(10), charge(10.0)), None, "grace");
    assert_eq!(
        step(&mut a, s(20), charge(16.0)),
        None,
        "nothing overrides it in the grace"
    );
    a.observed(s(69), &read(true, true));
    assert_eq!(step(&mut a, s(69), charge(10.0)), None, "grace");
    a.observed(s(70), &read(true, true));
    assert_eq!(step(&mut a, s(70), charge(10.0)), Some(Request::Ampere(10)));
    // The station keeps saying paused: not hammered.
    for t in (80..400).step_by(10) {
        a.observed(s(t), &read(true, true));
        assert_eq!(step(&mut a, s(t), charge(10.0)), None);
    }
    // It agrees again: the episode is over.
    a.observed(s(400), &read(true, false));
    assert_eq!(a.manual(), None);
}

#[test]
fn yielding_to_a_change_in_the_app_lasts_until_the_car_leaves() {
    let mut a = actuator(OnManualChange::Yield);
    a.observed(s(0), &read(true, true));
    step(&mut a, s(0), charge(10.0));
    a.observed(s(10), &read(true, true));
    a.observed(s(70), &read(true, true));
    assert_eq!(a.manual(), Some(("paused outside sunplug", true)));
    for t in (70..600).step_by(10) {
        assert_eq!(step(&mut a, s(t), charge(12.0)), None);
    }
    assert_eq!(a.shutdown_request(SafeAction::Floor), None);
    a.observed(s(600), &read(false, true));
    assert_eq!(a.manual(), None);
    a.observed(s(610), &read(true, true));
    assert_eq!(
        step(&mut a, s(610), charge(12.0)),
        Some(Request::Ampere(12))
    );
}

/// A replug between two polls (the unplugged read missed) shows as a new session: the pause the
/// station dropped is re-asserted at once, not after the manual-change grace.
#[test]
fn a_new_session_while_plugged_reasserts_the_pause_at_once() {
    let mut a = actuator(OnManualChange::Reassert);
    let tagged = |session, paused| ChargerObs {
        session: Some(session),
        ..read(true, paused)
    };
    a.observed(s(0), &tagged(1, false));
    assert_eq!(step(&mut a, s(0), Command::Pause), Some(Request::Pause));
    a.observed(s(10), &tagged(1, true));
    assert_eq!(step(&mut a, s(10), Command::Pause), None);
    // The car left and came back between two polls: a new session, NORMAL again.
    a.observed(s(20), &tagged(2, false));
    assert_eq!(
        step(&mut a, s(20), Command::Pause),
        Some(Request::Pause),
        "re-asserted without waiting for the grace"
    );
    assert!(a.manual().is_none(), "a replug is not a manual change");
}
