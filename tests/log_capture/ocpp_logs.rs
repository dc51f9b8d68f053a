//! What the OCPP central system logs for bad input: one warning per refused connection or bad
//! frame, none repeated, and never a charge point's password (right or wrong).

use crate::support::logs::LogBuffer;
use crate::support::ocpp::{central, connect, entry, settings};
use serde_json::json;

#[tokio::test]
async fn bad_input_is_logged_once_each_and_no_password_ever() {
    let (logs, _serial) = LogBuffer::lock().await;
    let (cs, stop) = central(settings(vec![entry("CP1", Some("right-password-42"))])).await;
    let addr = cs.local_addr();
    let auth = Some(("CP1", "right-password-42"));
    assert!(
        connect(
            addr,
            "CP1",
            Some("ocpp1.6"),
            Some(("CP1", "wrong-password-17"))
        )
        .await
        .is_err()
    );
    assert!(connect(addr, "CP1", Some("ocpp2.0.1"), auth).await.is_err());
    assert!(connect(addr, "NOPE", Some("ocpp1.6"), auth).await.is_err());
    let mut cp = connect(addr, "CP1", Some("ocpp1.6"), auth).await.unwrap();
    cp.send_text("{{{ not json".into());
    let r = cp.call("FlyToTheMoon", json!({})).await;
    assert_eq!(r[2], "NotImplemented");
    cp.send_text(format!(
        "[2,\"x\",\"DataTransfer\",\"{}\"]",
        "y".repeat(1 << 20)
    ));
    cp.wait_closed().await;
    let mut events = cs.events();
    let _again = connect(addr, "CP1", Some("ocpp1.6"), auth).await.unwrap();
    // The new connection is registered: every earlier line has been written.
    while !matches!(
        events.recv().await.unwrap(),
        sunplug::chargers::ocpp::OcppEvent::Connected { .. }
    ) {}
    stop.cancel();

    let text = logs.text();
    let warns: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ")).collect();
    let count = |needle: &str| warns.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(count("wrong user name or password"), 1, "{text}");
    assert_eq!(count("subprotocol"), 1, "{text}");
    assert_eq!(count("\"NOPE\" is not in"), 1, "{text}");
    assert_eq!(count("not JSON"), 1, "{text}");
    assert_eq!(count("FlyToTheMoon"), 1, "{text}");
    assert_eq!(count("the limit is"), 1, "{text}");
    assert_eq!(warns.len(), 6, "{text}");
    for secret in ["right-password-42", "wrong-password-17"] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}
