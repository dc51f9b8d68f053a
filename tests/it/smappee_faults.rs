//! The Smappee adapter when the API misbehaves: 429 with Retry-After, 5xx, timeouts, garbage, and
//! a check that no secret reaches a log line or an error text along the way.

use crate::support::smappee::{Applied, Harness};
use std::time::Duration;
use sunplug::chargers::smappee::wire::Mode;
use sunplug::config::LimitUnit;
use sunplug::control::Command;
use sunplug::emulators::smappee::{Fault, Target};
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
async fn a_429_backs_off_for_the_retry_after_it_names() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.inject(Target::Mode, Fault::RateLimited(Some(30)));
    let e = c.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)), "{e}");
    assert_eq!(h.mode_bodies().len(), 1);
    let sent = h.emu.requests().len();

    // While waiting nothing is sent, and the error says how long is left.
    advance(Duration::from_secs(29)).await;
    let e = c.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert_eq!(e.kind(), "rate_limited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(h.mode_bodies().len(), 1, "no write while waiting");
    let _ = sent;
    // A write's backoff does not hold the state reads up (issue 12, defect 5).
    assert!(c.read_state(h.now()).await.is_ok());

    advance(Duration::from_secs(1)).await;
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies().len(), 2);

    // Without Retry-After: 5 s, then 10 s.
    h.emu
        .inject_times(Target::Mode, Fault::RateLimited(None), 2);
    assert!(c.apply(h.now(), &charge(12.0)).await.is_err());
    advance(Duration::from_secs(5)).await;
    assert!(c.apply(h.now(), &charge(12.0)).await.is_err());
    advance(Duration::from_secs(9)).await;
    assert!(c.apply(h.now(), &charge(12.0)).await.is_err());
    assert_eq!(h.mode_bodies().len(), 4, "no request while waiting");
    advance(Duration::from_secs(1)).await;
    assert_eq!(c.apply(h.now(), &charge(12.0)).await, Ok(Applied::Sent));
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_survived_and_the_last_good_state_is_kept() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    let good = c.read_state(h.now()).await.unwrap();

    h.emu.inject_times(Target::Api, Fault::Status(500), 2);
    let e = c.read_state(h.now()).await.unwrap_err();
    assert!(matches!(e, VendorError::Transient { .. }), "{e:?}");
    assert!(e.to_string().contains("HTTP 500"), "{e}");
    assert_eq!(c.last_state(), Some(&good));
    // A failed read does not hold the write up (issue 12, defect 5); the write's own failure makes
    // it wait 5 s, then it succeeds.
    assert!(c.apply(h.now(), &charge(10.0)).await.is_err());
    let e = c.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert!(e.to_string().contains("waiting"), "{e}");
    advance(Duration::from_secs(5)).await;
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(c.act.offered(Some(&s.obs())), Some(Amps(10.0)));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_bounded_and_an_uncertain_write_is_not_trusted() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    c.read_state(h.now()).await.unwrap();
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));

    // The station takes 60 s to answer; the client gives up after its 5 s total timeout...
    h.emu
        .inject(Target::Mode, Fault::Delay(Duration::from_secs(60)));
    let started = tokio::time::Instant::now();
    let e = c.apply(h.now(), &charge(16.0)).await.unwrap_err();
    assert!(
        started.elapsed() <= Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("timed out"), "{e}");
    // ...but the station applied it.
    assert_eq!(h.emu.connector(1).unwrap().mode, Mode::Normal);
    advance(Duration::from_secs(10)).await;

    // The pause is wanted again: it must be sent, not skipped as "already confirmed".
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(h.emu.connector(1).unwrap().mode, Mode::Paused);
}

#[tokio::test(start_paused = true)]
async fn garbage_answers_are_protocol_errors_and_change_nothing() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    let good = c.read_state(h.now()).await.unwrap();
    h.emu.inject(Target::Api, Fault::Garbage);
    let e = c.read_state(h.now()).await.unwrap_err();
    assert_eq!(e.kind(), "protocol", "{e}");
    assert!(e.to_string().contains("not the expected JSON"), "{e}");
    assert_eq!(c.last_state(), Some(&good));
    // Not a reason to wait: the next read goes out and works.
    assert!(c.read_state(h.now()).await.is_ok());

    // Garbage from the token endpoint.
    let h = Harness::new().await;
    h.emu.inject(Target::Token, Fault::Garbage);
    let e = h.client().service_locations().await.unwrap_err();
    assert_eq!(e.kind(), "protocol", "{e}");
    assert!(h.client().service_locations().await.is_ok());
}
