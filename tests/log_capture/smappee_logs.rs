//! What the Smappee adapter logs: a 400 once with both bodies, and never a secret, whatever the API
//! answers. These tests share the process-wide log capture, so they live in a binary of their own.

use crate::support::smappee::{Actuated, Applied, Harness, LogBuffer, limits};
use std::time::Duration;
use sunplug::chargers::smappee::SmappeeCharger;
use sunplug::config::LimitUnit;
use sunplug::control::Command;
use sunplug::emulators::smappee::{EmulatorConfig, Fault, Target};
use sunplug::units::{Amps, Phases};
use sunplug::vendor::VendorError;
use tokio::time::advance;

fn charge(a: f64) -> Command {
    Command::Charge {
        current: Amps(a),
        phases: Phases::Three,
    }
}

#[tokio::test(start_paused = true)]
async fn a_400_is_logged_once_with_the_body_and_not_repeated() {
    let (logs, _serial) = LogBuffer::lock().await;
    // A value the station refuses: 40 A on a 32 A station.
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.inject_times(Target::Mode, Fault::Status(400), 1);
    let e = c.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert!(
        matches!(e, VendorError::Rejected { status: 400, .. }),
        "{e:?}"
    );
    let again = c.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert_eq!(again, e);
    assert_eq!(
        h.mode_bodies().len(),
        1,
        "the same request is not sent blindly again"
    );
    let text = logs.text();
    let lines: Vec<_> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains(r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#),
        "{}",
        lines[0]
    );
    // Another request goes out, and clears the memory.
    assert_eq!(c.apply(h.now(), &charge(12.0)).await, Ok(Applied::Sent));
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn no_secret_appears_in_any_log_line_or_error() {
    let (logs, _serial) = LogBuffer::lock().await;
    // Characters that change when form-encoded or JSON-escaped.
    let h = Harness::with(EmulatorConfig {
        password: "p@ss w+rd/\"93ab".into(),
        client_secret: "cs&secret=5f1c%".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut errors: Vec<String> = Vec::new();
    let mut note = |r: Result<(), VendorError>| {
        if let Err(e) = r {
            errors.push(format!("{e} | {e:?}"));
        }
    };

    let client = h.client_in(Some(dir.path().to_path_buf()));
    let serial = h.emu.config().station_serial;
    let mut c = Actuated::new(SmappeeCharger::new(
        client.clone(),
        &serial,
        1,
        limits(LimitUnit::Percentage, 32.0),
        None,
    ));
    h.emu.plug_in(1);
    note(c.read_state(h.now()).await.map(|_| ()));
    note(c.apply(h.now(), &charge(8.6)).await.map(|_| ()));
    // A refresh whose answer echoes the form (refresh token and client secret) back in a 400.
    advance(Duration::from_secs(36_000 - 300)).await;
    h.emu.inject(Target::Token, Fault::Echo(400));
    note(client.service_locations().await.map(|_| ()));
    // The fallback login is echoed too (password and client secret).
    h.emu.revoke_access_tokens();
    h.emu.inject_times(Target::Token, Fault::Echo(401), 3);
    note(client.service_locations().await.map(|_| ()));
    note(client.service_locations().await.map(|_| ()));
    // An API answer that echoes the request, a rejected body, a 500, a timeout, garbage.
    h.emu.inject(Target::Mode, Fault::Echo(400));
    note(c.apply(h.now(), &charge(20.0)).await.map(|_| ()));
    h.emu.inject(Target::Api, Fault::Status(500));
    note(c.read_state(h.now()).await.map(|_| ()));
    advance(Duration::from_secs(10)).await;
    h.emu
        .inject(Target::Api, Fault::Delay(Duration::from_secs(30)));
    note(c.read_state(h.now()).await.map(|_| ()));
    advance(Duration::from_secs(30)).await;
    h.emu.inject(Target::Api, Fault::Garbage);
    note(c.read_state(h.now()).await.map(|_| ()));
    advance(Duration::from_secs(30)).await;
    note(c.apply(h.now(), &Command::Pause).await.map(|_| ()));
    errors.push(format!("{client:?} {c:?}"));

    let mut secrets = h.secrets();
    let cfg = h.emu.config();
    secrets.extend([
        "p%40ss+w%2Brd%2F%2293ab".to_string(),
        "cs%26secret%3D5f1c%25".to_string(),
        r#"p@ss w+rd/\"93ab"#.to_string(),
    ]);
    assert!(secrets.contains(&cfg.password));
    assert!(
        secrets.len() >= 5,
        "the scenario saw the password, the client secret and tokens: {secrets:?}"
    );
    assert!(errors.len() >= 5, "{errors:#?}");
    let text = logs.text();
    assert!(
        text.contains("logged in as owner@example.com"),
        "logs were captured:\n{text}"
    );
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "secret {s} in the logs:\n{text}"
        );
        for e in &errors {
            assert!(!e.contains(s.as_str()), "secret {s} in an error: {e}");
        }
    }
    // The echoed bodies were quoted (redacted), so the masking was exercised, not just silence.
    assert!(errors.iter().any(|e| e.contains("***")), "{errors:#?}");
}
