//! The one actuator in its two shells: the daemon's writer task on tokio's paused clock and the
//! simulator's step function on its own clock get the same requests at the same times; and the
//! writer's shutdown and backoff rules (issue 12, defects 1 and 5).

use crate::support::t0;
use chrono::Utc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::clock::TokioClock;
use sunplug::config::SafeState;
use sunplug::control::actuate::{Actuator, ActuatorSettings, OnManualChange, Request, Resolution};
use sunplug::control::{ChargerObs, Command};
use sunplug::daemon::ports::ChargerPort;
use sunplug::daemon::writer::{ChargerReport, WriterSettings, outcome, spawn_writer};
use sunplug::sim::run::{actuate, since};
use sunplug::units::{Amps, Phases};
use sunplug::vendor::VendorError;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn charge(a: f64) -> Command {
    Command::Charge {
        current: Amps(a),
        phases: Phases::Three,
    }
}

fn settings() -> ActuatorSettings {
    ActuatorSettings {
        resolution: Resolution {
            floor: Amps(6.0),
            percent: None,
            max: Some(Amps(32.0)),
        },
        on_manual_change: OnManualChange::Reassert,
        manual_grace: Duration::from_secs(60),
    }
}

/// A station that follows a script: a replug at 30–40 s, a 429 (Retry-After 30 s) for the request
/// at 50 s, and a 400 for 14 A.
#[derive(Debug, Default)]
struct Station {
    plugged: bool,
    paused: bool,
    /// Times (s since start) and requests executed or refused.
    log: Vec<(u64, Request)>,
    /// Writes fail with a 500 while set.
    failing: bool,
    /// Reads fail while set.
    unreadable: bool,
}

impl Station {
    fn at(&mut self, t: u64) {
        match t {
            30 => self.plugged = false,
            40 => {
                // Smappee: a replug resets PAUSED to NORMAL.
                self.plugged = true;
                self.paused = false;
            }
            _ => {}
        }
    }
    fn execute(&mut self, t: u64, req: Request) -> Result<(), VendorError> {
        self.log.push((t, req));
        if self.failing {
            return Err(VendorError::Transient {
                vendor: "script",
                detail: "HTTP 500".into(),
            });
        }
        if t == 50 {
            return Err(VendorError::RateLimited {
                vendor: "script",
                retry_after: Some(Duration::from_secs(30)),
            });
        }
        if req == Request::Ampere(14) {
            return Err(VendorError::Rejected {
                vendor: "script",
                status: 400,
                detail: "refused".into(),
            });
        }
        self.paused = req == Request::Pause;
        Ok(())
    }
    fn read(&self) -> ChargerObs {
        ChargerObs {
            plugged: Some(self.plugged),
            paused: Some(self.paused),
            ..ChargerObs::default()
        }
    }
}

/// The commands the controller gives, by time.
fn command_at(t: u64) -> Command {
    match t {
        0..20 => charge(10.0),
        20..50 => Command::Pause,
        50..100 => charge(12.0),
        100..110 => charge(14.0),
        _ => charge(15.0),
    }
}

#[derive(Clone)]
struct Shared(Arc<Mutex<Station>>, Instant);

impl Shared {
    fn new(st: Station) -> Shared {
        Shared(Arc::new(Mutex::new(st)), Instant::now())
    }
    fn t(&self) -> u64 {
        (Instant::now() - self.1).as_secs()
    }
    fn log(&self) -> Vec<(u64, Request)> {
        self.0.lock().unwrap().log.clone()
    }
}

impl ChargerPort for Shared {
    async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        let t = self.t();
        self.0.lock().unwrap().execute(t, request)
    }
    async fn read_state(&mut self, _now: chrono::DateTime<Utc>) -> Result<ChargerObs, VendorError> {
        let s = self.0.lock().unwrap();
        if s.unreadable {
            return Err(VendorError::Transient {
                vendor: "script",
                detail: "timeout".into(),
            });
        }
        Ok(s.read())
    }
}

struct Writer {
    wish: watch::Sender<Option<Command>>,
    report: watch::Receiver<ChargerReport>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn writer(charger: Shared, safe_state: SafeState) -> Writer {
    let (wish, wish_rx) = watch::channel(None);
    let (report_tx, report) = watch::channel(ChargerReport::default());
    let stop = CancellationToken::new();
    let clock = Arc::new(TokioClock::starting_at(t0()));
    let task = spawn_writer(
        charger,
        clock,
        wish_rx,
        report_tx,
        WriterSettings {
            poll_interval: Duration::from_secs(5),
            safe_state,
            actuator: settings(),
            dry_run: false,
        },
        stop.clone(),
    );
    Writer {
        wish,
        report,
        stop,
        task,
    }
}

/// Let the writer task run everything that is ready at this instant.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

async fn daemon_requests() -> Vec<(u64, Request)> {
    let st = Shared::new(Station {
        plugged: true,
        ..Station::default()
    });
    let w = writer(st.clone(), SafeState::Keep);
    for t in (0..=130).step_by(5) {
        st.0.lock().unwrap().at(t);
        w.wish.send_replace(Some(command_at(t)));
        settle().await;
        tokio::time::advance(Duration::from_secs(5)).await;
    }
    w.stop.cancel();
    w.task.await.unwrap();
    st.log()
}

/// As `sim::run` drives it: the state poll, then the control step, every 5 s.
fn simulator_requests() -> Vec<(u64, Request)> {
    let mut st = Station {
        plugged: true,
        ..Station::default()
    };
    let mut act = Actuator::new(settings());
    let start = 1_000_000;
    for t in (0..=130u64).step_by(5) {
        let t_ms = start + t as i64 * 1000;
        st.at(t);
        act.observed(since(start, t_ms), &st.read());
        actuate(&mut act, since(start, t_ms), command_at(t), |req| {
            let r = st.execute(t, req);
            let kind = r
                .as_ref()
                .map_or_else(outcome, |_| sunplug::control::actuate::Outcome::Ok);
            (kind, since(start, t_ms))
        });
    }
    st.log
}

#[tokio::test(start_paused = true)]
async fn the_daemon_and_the_simulator_send_the_same_requests_at_the_same_times() {
    let daemon = daemon_requests().await;
    let sim = simulator_requests();
    let expected = [
        (0, Request::Ampere(10)),
        (20, Request::Pause),
        (40, Request::Pause),      // re-asserted after the replug
        (50, Request::Ampere(12)), // 429, Retry-After 30 s
        (80, Request::Ampere(12)),
        (100, Request::Ampere(14)), // refused, not repeated
        (110, Request::Ampere(15)),
    ];
    assert_eq!(daemon, expected);
    assert_eq!(sim, expected);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_never_starts_a_paused_car() {
    let st = Shared::new(Station {
        plugged: true,
        ..Station::default()
    });
    let w = writer(st.clone(), SafeState::Floor);
    w.wish.send_replace(Some(Command::Pause));
    settle().await;
    tokio::time::advance(Duration::from_secs(10)).await;
    w.stop.cancel();
    w.task.await.unwrap();
    assert_eq!(st.log(), [(0, Request::Pause)], "no 6 A at shutdown");

    // Charging: the floor.
    let st = Shared::new(Station {
        plugged: true,
        ..Station::default()
    });
    let w = writer(st.clone(), SafeState::Floor);
    w.wish.send_replace(Some(charge(16.0)));
    settle().await;
    tokio::time::advance(Duration::from_secs(10)).await;
    w.stop.cancel();
    w.task.await.unwrap();
    assert_eq!(
        st.log(),
        [(0, Request::Ampere(16)), (10, Request::Ampere(6))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_backoff_wait_still_leaves_the_safe_state() {
    let st = Shared::new(Station {
        plugged: true,
        failing: true,
        ..Station::default()
    });
    let w = writer(st.clone(), SafeState::Pause);
    w.wish.send_replace(Some(charge(16.0)));
    settle().await;
    // 0 s, 5 s, 15 s, 35 s, 75 s: doubling.
    for _ in 0..100 {
        tokio::time::advance(Duration::from_secs(1)).await;
        settle().await;
    }
    let times: Vec<u64> = st.log().iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [0, 5, 15, 35, 75]);
    // Stopped in the middle of the 80 s wait: the pause goes out at once.
    st.0.lock().unwrap().failing = false;
    w.stop.cancel();
    tokio::time::timeout(Duration::from_secs(1), w.task)
        .await
        .expect("not held up by the backoff")
        .unwrap();
    assert_eq!(st.log().last(), Some(&(100, Request::Pause)));
}

#[tokio::test(start_paused = true)]
async fn a_failing_state_read_never_holds_a_write() {
    let st = Shared::new(Station {
        plugged: true,
        unreadable: true,
        ..Station::default()
    });
    let w = writer(st.clone(), SafeState::Keep);
    // Minutes of failing reads build up the read backoff.
    tokio::time::advance(Duration::from_secs(600)).await;
    settle().await;
    w.wish.send_replace(Some(charge(8.0)));
    settle().await;
    assert_eq!(st.log(), [(600, Request::Ampere(8))]);
    assert_eq!(w.report.borrow().offered, Some(Amps(8.0)));
    w.stop.cancel();
    w.task.await.unwrap();
}
