//! The central system against a charge point sunplug did not write: `tests/ocpp/charge_point.py`
//! on the Mobility House `ocpp` package, which checks every message against the OCPP 1.6 schemas.
//!
//! It needs Python with `ocpp` and `websockets`: `.ci/run` installs them into `target/ocpp-venv`
//! and sets `SUNPLUG_TEST_OCPP_PYTHON` to its python. With the variable unset and no venv, the test
//! says so and skips; with the variable set to a python that cannot import them, it fails (CI never
//! skips silently). Real time (a child process cannot follow tokio's paused clock): about 20 s, most
//! of it the actuator's backoff between two refused profiles.
//!
//! Setup by hand: `python3 -m venv target/ocpp-venv && target/ocpp-venv/bin/pip install
//! ocpp==2.1.0 websockets==17.4`.

use crate::support::ocpp::{central, entry, settings, until};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use sunplug::chargers::ocpp::OcppCharger;
use sunplug::clock::TokioClock;
use sunplug::control::Command;
use sunplug::control::actuate::{ActuatorSettings, OnManualChange, Request, Resolution};
use sunplug::daemon::ports::ChargerPort;
use sunplug::daemon::writer::{ChargerReport, WriterSettings, spawn_writer};
use sunplug::units::{Amps, Phases, Watts};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const VAR: &str = "SUNPLUG_TEST_OCPP_PYTHON";

fn imports(python: &Path) -> Result<(), String> {
    let out = std::process::Command::new(python)
        .args(["-c", "import ocpp, websockets"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The python to use; `None` (with a message) when none is set up.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(VAR) {
        let p = PathBuf::from(p);
        if let Err(e) = imports(&p) {
            panic!(
                "{VAR}={} cannot import ocpp and websockets: {e}",
                p.display()
            );
        }
        return Some(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ocpp-venv/bin/python");
    if !venv.exists() {
        eprintln!(
            "SKIPPED ocpp_python: needs Python with the `ocpp` package. Run .ci/run, or: python3 -m venv \
             target/ocpp-venv && target/ocpp-venv/bin/pip install ocpp==2.1.0 websockets==17.4 \
             (or set {VAR} to a python that has them)"
        );
        return None;
    }
    if let Err(e) = imports(&venv) {
        panic!(
            "{} exists but cannot import ocpp and websockets: {e}",
            venv.display()
        );
    }
    Some(venv)
}

struct PyCp {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<(Instant, Value)>,
}

impl PyCp {
    async fn command(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }
    /// The next event named `name` (others are skipped), and when it arrived.
    async fn next(&mut self, name: &str) -> (Instant, Value) {
        let wait = async {
            loop {
                let (at, e) = self.events.recv().await.expect("the charge point exited");
                if e["event"] == name {
                    return (at, e);
                }
                assert_ne!(e["event"], "error", "{e}");
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("no {name} event from the python charge point"))
    }
    /// The next profile's limit, checking it is a TxDefaultProfile in amps.
    async fn profile(&mut self) -> (Instant, f64) {
        let (at, e) = self.next("profile").await;
        assert_eq!(e["unit"], "A", "{e}");
        assert_eq!(e["purpose"], "TxDefaultProfile", "{e}");
        (at, e["limit"].as_f64().unwrap())
    }
}

fn spawn(python: &Path, url: &str) -> PyCp {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ocpp/charge_point.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .args([
            "--url",
            url,
            "--id",
            "CP1",
            "--password",
            "py-password-1234",
            "--status",
            "Charging",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| serde_json::json!({"event": "output", "line": line}));
            let _ = tx.send((Instant::now(), v));
        }
    });
    PyCp {
        child,
        stdin,
        events,
    }
}

#[tokio::test]
async fn a_python_ocpp_charge_point_is_driven_by_sunplug() {
    let Some(python) = python() else {
        return;
    };
    let mut s = settings(vec![entry("CP1", Some("py-password-1234"))]);
    s.call_timeout = Duration::from_secs(10);
    let (cs, _stop) = central(s).await;
    let url = format!("ws://{}/ocpp/CP1", cs.local_addr());
    let mut cp = spawn(&python, &url);

    // Boot, status and meter values reach the charger port.
    let (_, boot) = cp.next("booted").await;
    assert_eq!(boot["status"], "Accepted", "{boot}");
    until(&cs, |cs| {
        cs.state("CP1")
            .is_some_and(|s| s.connectors.get(&1).is_some_and(|c| c.status == "Charging"))
    })
    .await;
    cp.command("meter 4140").await;
    cp.next("ok").await;
    let mut port = OcppCharger::new(cs.clone(), "CP1", 1, false);
    let now = crate::support::t0();
    let obs = ChargerPort::read_state(&mut port, now).await.unwrap();
    assert_eq!((obs.plugged, obs.charging), (Some(true), Some(true)));
    assert_eq!(obs.power.map(|p| p.value), Some(Watts(4140.0)));
    let meter = cs.state("CP1").unwrap().meters[&1].clone();
    assert_eq!(meter.currents, [Some(6.0); 3]);
    assert_eq!(meter.energy_wh, Some(1234.0));

    // The actuator's requests arrive as profiles with the right limits.
    port.execute(Request::Ampere(10)).await.unwrap();
    assert_eq!(cp.profile().await.1, 10.0);
    port.execute(Request::Pause).await.unwrap();
    assert_eq!(cp.profile().await.1, 0.0);

    // Rejected: the writer retries with a growing wait, never a burst.
    cp.command("answer Rejected").await;
    cp.next("ok").await;
    let (wish_tx, wish_rx) = tokio::sync::watch::channel(None);
    let (report_tx, _report_rx) = tokio::sync::watch::channel(ChargerReport::default());
    let stop = CancellationToken::new();
    let writer = spawn_writer(
        port.clone(),
        std::sync::Arc::new(TokioClock::starting_at(now)),
        wish_rx,
        report_tx,
        WriterSettings {
            poll_interval: Duration::from_secs(2),
            safe_state: sunplug::config::SafeState::Keep,
            actuator: ActuatorSettings {
                resolution: Resolution {
                    floor: Amps(6.0),
                    percent: None,
                    max: Some(Amps(16.0)),
                },
                on_manual_change: OnManualChange::Reassert,
                manual_grace: Duration::from_secs(60),
            },
            dry_run: false,
        },
        stop.clone(),
    );
    wish_tx
        .send(Some(Command::Charge {
            current: Amps(11.0),
            phases: Phases::Three,
        }))
        .unwrap();
    let mut at = Vec::new();
    for _ in 0..3 {
        let (t, limit) = cp.profile().await;
        assert_eq!(limit, 11.0);
        at.push(t);
    }
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(4500), "gaps {gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(9000), "gaps {gaps:?}");
    stop.cancel();
    writer.await.unwrap();

    // A dropped WebSocket is accepted again and gets the standing profile.
    cp.command("answer Accepted").await;
    cp.next("ok").await;
    port.execute(Request::Ampere(12)).await.unwrap();
    assert_eq!(cp.profile().await.1, 12.0);
    cp.command("drop").await;
    cp.next("closed").await;
    cp.next("connected").await;
    assert_eq!(cp.profile().await.1, 12.0);
    until(&cs, |cs| cs.state("CP1").is_some_and(|s| s.connected)).await;

    cp.command("quit").await;
    let status = tokio::time::timeout(Duration::from_secs(10), cp.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
