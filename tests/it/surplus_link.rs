//! The MQTT link against real brokers: broker restart with resubscribe, publishing while the
//! broker is away, last will vs clean DISCONNECT, refused credentials (never logged), MQTT 5,
//! subscribe/unsubscribe while connected, and the reconnect backoff on paused tokio time.

use crate::support::harness::{Harness, options};
use crate::support::logs::LogBuffer;
use crate::support::{
    CANARY, Kind, Publisher, TestBroker, kinds, next_event, until_subscribed, wait_for,
};
use std::collections::HashMap;
use std::time::Duration;
use sunplug::mqtt::{LastWill, LinkState, MqttError, MqttEvent, MqttLink, Protocol, QoS};

#[tokio::test]
async fn broker_restart_resubscribes_and_readings_resume() {
    for kind in kinds() {
        let mut h = Harness::start(&kind, "topic = \"meter/grid\"").await;
        h.send("meter/grid", "250", false).await;
        assert_eq!(h.grid_w(), Some(250.0));

        h.broker.stop();
        let ev = wait_for(&mut h.events, |e| matches!(e, MqttEvent::Disconnected(_))).await;
        assert!(
            matches!(ev, MqttEvent::Disconnected(ref r) if !r.is_empty()),
            "{ev:?}"
        );
        assert_eq!(
            h.handle.publish("x", "y", false, QoS::AtMostOnce),
            Err(MqttError::NotConnected),
            "publishing while the broker is away fails at once"
        );
        h.broker.restart();
        wait_for(&mut h.events, |e| *e == MqttEvent::Connected).await;
        assert_eq!(h.handle.status().connects, 2, "{kind:?}");

        // The restarted broker knows no subscription of ours: only a resubscribe brings messages.
        h.meter = Publisher::connect(h.broker.port, "meter").await;
        until_subscribed(&mut h.meter, &mut h.events).await;
        h.advance(3);
        h.send("meter/grid", "-1800", false).await;
        assert_eq!(h.grid_w(), Some(-1800.0));
        assert_eq!(h.reading().unwrap().at, h.now);
        h.shutdown().await;
    }
}

#[tokio::test]
async fn a_resubscribe_does_not_make_a_retained_value_fresh_again() {
    for kind in kinds() {
        let mut h = Harness::start(
            &kind,
            "preset = \"homeassistant\"\ndevice = \"sensor.grid\"",
        )
        .await;
        let topic = "homeassistant/sensor/grid/state";
        h.send(topic, "400", true).await;
        let at = h.reading().unwrap().at;
        // The link reconnects (the broker restarts; rumqttd keeps retained messages, mosquitto
        // without persistence does not): the retained copy of the same message comes again.
        h.advance(20);
        h.broker.stop();
        h.broker.restart();
        wait_for(&mut h.events, |e| *e == MqttEvent::Connected).await;
        h.meter = Publisher::connect(h.broker.port, "meter").await;
        let early = until_subscribed(&mut h.meter, &mut h.events).await;
        let mut got_copy = false;
        for ev in early {
            got_copy |=
                matches!(&ev, MqttEvent::Message { topic: t, retained: true, .. } if t == topic);
            h.feed(ev);
        }
        if kind == Kind::Rumqttd && !got_copy {
            let ev = wait_for(&mut h.events, |e| {
                matches!(e, MqttEvent::Message { retained: true, .. })
            })
            .await;
            h.feed(ev);
        }
        let r = h
            .tracker
            .reading(h.now)
            .expect("the live value is still within max_age");
        assert_eq!(r.at, at, "its age keeps counting from the live message");
        h.shutdown().await;
    }
}

#[tokio::test]
async fn subscribe_and_unsubscribe_while_connected() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let (handle, mut events) = MqttLink::start(options(broker.port, "sub-test")).unwrap();
        handle.subscribe(CANARY, QoS::AtMostOnce).unwrap();
        wait_for(&mut events, |e| *e == MqttEvent::Connected).await;
        let mut meter = Publisher::connect(broker.port, "meter").await;
        until_subscribed(&mut meter, &mut events).await;

        handle.subscribe("late/topic", QoS::AtLeastOnce).unwrap();
        assert!(handle.subscriptions().contains(&"late/topic".to_string()));
        // Published until seen: the SUBSCRIBE may still be on its way.
        loop {
            meter.publish("late/topic", "1", false).await;
            let got = tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    if let Some(MqttEvent::Message { topic, .. }) = events.recv().await
                        && topic == "late/topic"
                    {
                        return;
                    }
                }
            })
            .await;
            if got.is_ok() {
                break;
            }
        }
        handle.unsubscribe("late/topic").unwrap();
        // After the UNSUBSCRIBE is through (the canary round trip), nothing more on that topic.
        until_subscribed(&mut meter, &mut events).await;
        meter.publish("late/topic", "2", false).await;
        meter.publish(CANARY, "last", false).await;
        loop {
            match next_event(&mut events).await {
                MqttEvent::Message { topic, payload, .. }
                    if topic == CANARY && payload == b"last" =>
                {
                    break;
                }
                // A late copy of "1" (published again while the SUBSCRIBE was slow, on a loaded
                // machine) may still be in flight; "2" was published after the UNSUBSCRIBE was through.
                MqttEvent::Message { topic, payload, .. } => assert!(
                    !(topic == "late/topic" && payload == b"2"),
                    "still subscribed"
                ),
                _ => {}
            }
        }
        handle.shutdown().await;
        assert_eq!(handle.status().state, LinkState::Stopped);
        assert_eq!(
            handle.publish("x", "y", false, QoS::AtMostOnce),
            Err(MqttError::Stopped)
        );
    }
}

/// Run a link with a last will on its own runtime; once it is connected and its "online" is out
/// (`proceed` fires), either shut it down cleanly or drop the runtime (as if the process died: the
/// socket closes without DISCONNECT).
fn link_with_will(
    port: u16,
    clean: bool,
) -> (std::thread::JoinHandle<()>, std::sync::mpsc::Sender<()>) {
    let (proceed_tx, proceed) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Distinct ids: rumqttd fires a session's pending will when the same id reconnects at once.
            let mut o = options(port, if clean { "will-clean" } else { "will-lost" });
            o.last_will = Some(LastWill {
                topic: "sunplug/availability".into(),
                payload: b"offline".to_vec(),
                qos: QoS::AtLeastOnce,
                retain: true,
            });
            let (handle, mut events) = MqttLink::start(o).unwrap();
            wait_for(&mut events, |e| *e == MqttEvent::Connected).await;
            handle
                .publish("sunplug/availability", "online", true, QoS::AtLeastOnce)
                .unwrap();
            // Keep the link running while the test waits for "online".
            let wait = tokio::task::spawn_blocking(move || proceed.recv());
            let _ = wait.await;
            if clean {
                handle.shutdown().await;
            } else {
                std::mem::forget(handle);
            }
        });
        drop(rt);
    });
    (thread, proceed_tx)
}

#[tokio::test]
async fn last_will_on_a_lost_connection_but_not_after_a_clean_shutdown() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let mut watcher = Publisher::connect(broker.port, "watcher").await;
        watcher.subscribe("sunplug/availability").await;
        watcher.subscribe(CANARY).await;
        watcher.publish(CANARY, "sync", false).await;
        assert_eq!(watcher.received.recv().await.unwrap().0, CANARY);

        let (thread, proceed) = link_with_will(broker.port, true);
        assert_eq!(watcher.next_received().await.1, b"online");
        proceed.send(()).unwrap();
        thread.join().unwrap();
        watcher.publish(CANARY, "after-clean", false).await;
        loop {
            let (t, p) = watcher.received.recv().await.unwrap();
            if t == CANARY {
                break;
            }
            assert_ne!(
                p, b"offline",
                "{kind:?}: a clean shutdown sends no last will"
            );
        }

        let (thread, proceed) = link_with_will(broker.port, false);
        assert_eq!(watcher.next_received().await.1, b"online");
        proceed.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(
            watcher.next_received().await.1,
            b"offline",
            "{kind:?}: a lost link leaves its will"
        );
    }
}

#[tokio::test]
async fn refused_credentials_get_a_clear_reason_and_the_password_is_never_logged() {
    let users = HashMap::from([("sunplug".to_string(), "right-horse-battery".to_string())]);
    let broker = TestBroker::start_with_users(&Kind::Rumqttd, Some(users));
    let (logs, _guard) = LogBuffer::capture_thread();

    let mut o = options(broker.port, "auth-test");
    o.credentials = Some(("sunplug".into(), "hunter2-wrong-staple".to_string().into()));
    let (handle, mut events) = MqttLink::start(o).unwrap();
    let MqttEvent::Disconnected(reason) = next_event(&mut events).await else {
        panic!("expected a refusal")
    };
    handle.shutdown().await;
    assert!(
        reason.contains("password"),
        "the reason names the likely cause: {reason}"
    );
    assert!(!reason.contains("hunter2"), "{reason}");
    let text = logs.text();
    assert!(
        text.contains("MQTT connect failed"),
        "the refusal is logged: {text}"
    );
    assert!(
        !text.contains("hunter2"),
        "the password leaked into the logs: {text}"
    );

    let mut o = options(broker.port, "auth-test");
    o.credentials = Some(("sunplug".into(), "right-horse-battery".to_string().into()));
    let (handle, mut events) = MqttLink::start(o).unwrap();
    assert_eq!(next_event(&mut events).await, MqttEvent::Connected);
    handle.shutdown().await;
    assert!(!logs.text().contains("right-horse"));
}

#[tokio::test]
async fn mqtt5_carries_retained_and_live_messages() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let mut meter = Publisher::connect(broker.port, "meter").await;
        meter.publish("meter/v5", "111", true).await;
        let mut o = options(broker.port_for(Protocol::V5), "v5-test");
        o.protocol = Protocol::V5;
        let (handle, mut events) = MqttLink::start(o).unwrap();
        handle.subscribe("meter/v5", QoS::AtMostOnce).unwrap();
        handle.subscribe(CANARY, QoS::AtMostOnce).unwrap();
        assert_eq!(
            next_event(&mut events).await,
            MqttEvent::Connected,
            "{kind:?}"
        );
        let retained = wait_for(&mut events, |e| matches!(e, MqttEvent::Message { .. })).await;
        assert_eq!(
            retained,
            MqttEvent::Message {
                topic: "meter/v5".into(),
                payload: b"111".to_vec(),
                retained: true
            }
        );
        if kind == Kind::Rumqttd {
            // rumqttd's MQTT 5 listener is separate: the meter publishes there too.
            meter = Publisher::connect(broker.port, "meter").await;
        }
        until_subscribed(&mut meter, &mut events).await;
        meter.publish("meter/v5", "222", true).await;
        let live = wait_for(
            &mut events,
            |e| matches!(e, MqttEvent::Message { topic, .. } if topic == "meter/v5"),
        )
        .await;
        assert_eq!(
            live,
            MqttEvent::Message {
                topic: "meter/v5".into(),
                payload: b"222".to_vec(),
                retained: false
            },
            "a live message is not flagged retained, even when published with retain"
        );
        handle.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn reconnect_backoff_doubles_up_to_its_cap_on_tokio_time() {
    // Nothing listens there: every attempt is refused at once, so only the backoff spaces them.
    let port = crate::support::free_port();
    let mut o = options(port, "backoff-test");
    o.backoff = sunplug::mqtt::Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
    let (handle, mut events) = MqttLink::start(o).unwrap();
    let mut at = Vec::new();
    for _ in 0..7 {
        let ev = events.recv().await.unwrap();
        assert!(
            matches!(ev, MqttEvent::Disconnected(ref r) if r.contains("connection refused")),
            "{ev:?}"
        );
        at.push(tokio::time::Instant::now());
    }
    let gaps: Vec<u64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps, [1, 2, 4, 8, 8, 8]);
    handle.shutdown().await;
    assert_eq!(handle.status().state, LinkState::Stopped);
}

#[tokio::test]
async fn dropping_every_handle_stops_the_link() {
    let broker = TestBroker::start(&Kind::Rumqttd);
    let (handle, mut events) = MqttLink::start(options(broker.port, "drop-test")).unwrap();
    assert_eq!(next_event(&mut events).await, MqttEvent::Connected);
    let mut status = handle.watch_status();
    let copy = handle.clone();
    drop(handle);
    assert!(copy.is_connected(), "a clone keeps it running");
    drop(copy);
    tokio::time::timeout(
        crate::support::DEADLINE,
        status.wait_for(|s| s.state == LinkState::Stopped),
    )
    .await
    .expect("the link did not stop")
    .unwrap();
}

/// Issue 12, defect 3: a retained message over 256 KiB on a subscribed topic made the connection
/// fail right after each CONNACK and reconnect in a loop (70 times in 34 s). Now the default limit
/// (1 MiB) passes it on, and a message over a configured `max_packet_size` is dropped while the
/// connection stays up.
#[tokio::test]
async fn a_big_retained_message_neither_loops_the_connection_nor_is_passed_when_over_the_limit() {
    for kind in kinds() {
        for (limit, passed) in [(None, true), (Some(64 * 1024), false)] {
            let broker = TestBroker::start(&kind);
            let mut meter = Publisher::connect(broker.port, "meter").await;
            meter
                .publish("big/retained", vec![b'x'; 300 * 1024], true)
                .await;
            let mut o = options(broker.port, "big-test");
            if let Some(l) = limit {
                o.max_packet_bytes = l;
            }
            let (handle, mut events) = MqttLink::start(o).unwrap();
            handle.subscribe(CANARY, QoS::AtMostOnce).unwrap();
            handle.subscribe("big/#", QoS::AtLeastOnce).unwrap();
            wait_for(&mut events, |e| *e == MqttEvent::Connected).await;
            // The retained message comes right after the SUBSCRIBE, before the canary.
            let seen = until_subscribed(&mut meter, &mut events).await;
            meter.publish("big/small", "1", false).await;
            let mut big = seen.iter().any(
                |e| matches!(e, MqttEvent::Message { topic, payload, .. } if topic == "big/retained" && payload.len() == 300 * 1024),
            );
            let mut all = seen.clone();
            loop {
                let ev = next_event(&mut events).await;
                all.push(ev.clone());
                match ev {
                    MqttEvent::Message { topic, .. } if topic == "big/small" => break,
                    MqttEvent::Message { topic, .. } if topic == "big/retained" => big = true,
                    _ => {}
                }
            }
            assert!(
                !all.iter()
                    .any(|e| matches!(e, MqttEvent::Disconnected(_) | MqttEvent::Connected)),
                "{kind:?}, limit {limit:?}: the connection failed: {:?}",
                all.iter()
                    .filter(|e| !matches!(e, MqttEvent::Message { .. }))
                    .collect::<Vec<_>>()
            );
            assert_eq!(big, passed, "{kind:?}, limit {limit:?}");
            assert_eq!(handle.status().connects, 1, "{kind:?}, limit {limit:?}");
            handle.shutdown().await;
        }
    }
}
