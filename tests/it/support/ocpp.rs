//! A minimal OCPP 1.6J charge point written for the tests (tokio-tungstenite client), and a
//! central system on port 0. The charge point answers the central system's CALLs by itself
//! (SetChargingProfile with the status the test sets, or not at all) and records every CALL it got.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::chargers::ocpp::{CentralSystem, ChargePointEntry, ServerSettings};
use sunplug::clock::TokioClock;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::DEADLINE;

/// A central system on 127.0.0.1:0 for `settings`.
pub async fn central(settings: ServerSettings) -> (CentralSystem, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let clock = Arc::new(TokioClock::starting_at(super::t0()));
    let cs = CentralSystem::start(listener, settings, clock, stop.clone()).unwrap();
    (cs, stop)
}

pub fn entry(id: &str, password: Option<&str>) -> ChargePointEntry {
    ChargePointEntry {
        id: id.into(),
        password: password.map(|p| p.to_string().into()),
        connector: 1,
    }
}

/// How the test charge point answers SetChargingProfile: a status, or `None` for no answer.
pub type Answer = Arc<Mutex<Option<String>>>;

pub struct TestCp {
    out: mpsc::UnboundedSender<Message>,
    /// CALLRESULT / CALLERROR frames for the charge point's own CALLs.
    results: mpsc::UnboundedReceiver<Value>,
    /// Every CALL the central system sent: (action, payload).
    pub calls: mpsc::UnboundedReceiver<(String, Value)>,
    pub answer: Answer,
    /// Resolves when the connection ended.
    pub closed: tokio::sync::watch::Receiver<bool>,
    counter: u64,
}

/// Connect as `id` offering `proto`, with Basic `auth` when given.
pub async fn connect(
    addr: SocketAddr,
    id: &str,
    proto: Option<&str>,
    auth: Option<(&str, &str)>,
) -> Result<TestCp, WsError> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    connect_over(tcp, &format!("ws://{addr}/ocpp/{id}"), proto, auth).await
}

pub async fn connect_over<S>(
    stream: S,
    url: &str,
    proto: Option<&str>,
    auth: Option<(&str, &str)>,
) -> Result<TestCp, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut req = url.into_client_request()?;
    if let Some(p) = proto {
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
    }
    if let Some((u, p)) = auth {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Basic {b}")).unwrap(),
        );
    }
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    Ok(spawn_cp(ws))
}

fn spawn_cp<S>(ws: tokio_tungstenite::WebSocketStream<S>) -> TestCp
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use futures_util::{SinkExt, StreamExt};
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let (res_tx, results) = mpsc::unbounded_channel();
    let (call_tx, calls) = mpsc::unbounded_channel();
    let (closed_tx, closed) = tokio::sync::watch::channel(false);
    let answer: Answer = Arc::new(Mutex::new(Some("Accepted".into())));
    let ans = answer.clone();
    tokio::spawn(async move {
        let (mut sink, mut stream) = ws.split();
        loop {
            tokio::select! {
                m = out_rx.recv() => match m {
                    Some(m) => if sink.send(m).await.is_err() { break },
                    None => { let _ = sink.close().await; break }
                },
                m = stream.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap();
                        if v[0] == 2 {
                            let action = v[2].as_str().unwrap().to_string();
                            let _ = call_tx.send((action.clone(), v[3].clone()));
                            let status = if action == "SetChargingProfile" {
                                ans.lock().unwrap().clone()
                            } else {
                                Some("Accepted".to_string())
                            };
                            if let Some(s) = status {
                                let reply = json!([3, v[1], {"status": s}]).to_string();
                                if sink.send(Message::text(reply)).await.is_err() { break }
                            }
                        } else {
                            let _ = res_tx.send(v);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
            }
        }
        let _ = closed_tx.send(true);
    });
    TestCp {
        out: out_tx,
        results,
        calls,
        answer,
        closed,
        counter: 0,
    }
}

impl TestCp {
    /// Send a raw text frame.
    pub fn send_text(&self, text: String) {
        let _ = self.out.send(Message::text(text));
    }
    /// Send a CALL and wait for its answer frame.
    pub async fn call(&mut self, action: &str, payload: Value) -> Value {
        self.counter += 1;
        let id = format!("cp-{}", self.counter);
        self.send_text(json!([2, id, action, payload]).to_string());
        self.result().await
    }
    /// The next CALLRESULT or CALLERROR.
    ///
    /// Waits on the real clock, not tokio's: on a paused clock an idle runtime jumps to its next
    /// timer, and a 15-s timeout could expire before the loopback frame is even read (the daemon's
    /// own timers then also run ahead). Yielding keeps the runtime busy, so paused time stands still
    /// while the I/O driver still delivers the answer.
    pub async fn result(&mut self) -> Value {
        let start = std::time::Instant::now();
        loop {
            match self.results.try_recv() {
                Ok(v) => return v,
                Err(mpsc::error::TryRecvError::Disconnected) => panic!("connection closed"),
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no answer from the central system within {DEADLINE:?}"
            );
            tokio::task::yield_now().await;
        }
    }
    /// Boot, then report `status` on connector 1.
    pub async fn boot(&mut self, status: &str) {
        let r = self
            .call(
                "BootNotification",
                json!({"chargePointVendor": "sunplug-tests", "chargePointModel": "TestCP"}),
            )
            .await;
        assert_eq!(r[2]["status"], "Accepted", "{r}");
        self.status(status).await;
    }
    pub async fn status(&mut self, status: &str) {
        let r = self
            .call(
                "StatusNotification",
                json!({"connectorId": 1, "errorCode": "NoError", "status": status}),
            )
            .await;
        assert_eq!(r[0], 3, "{r}");
    }
    pub async fn meter(&mut self, watts: f64) {
        let r = self
            .call(
                "MeterValues",
                json!({"connectorId": 1, "meterValue": [{"timestamp": "2026-06-01T12:00:00Z",
                    "sampledValue": [{"value": watts.to_string(), "measurand": "Power.Active.Import", "unit": "W"}]}]}),
            )
            .await;
        assert_eq!(r[0], 3, "{r}");
    }
    /// The next SetChargingProfile received (other CALLs are skipped): its limit in amps.
    pub async fn next_profile(&mut self) -> f64 {
        self.next_profile_within(DEADLINE).await
    }
    /// As [`TestCp::next_profile`], waiting up to `within` (long waits under a paused clock).
    pub async fn next_profile_within(&mut self, within: Duration) -> f64 {
        loop {
            let (action, payload) = tokio::time::timeout(within, self.calls.recv())
                .await
                .expect("no SetChargingProfile arrived")
                .expect("connection closed");
            if action == "SetChargingProfile" {
                let p = &payload["csChargingProfiles"];
                assert_eq!(p["chargingProfilePurpose"], "TxDefaultProfile");
                assert_eq!(p["chargingSchedule"]["chargingRateUnit"], "A");
                return p["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
                    .as_f64()
                    .unwrap();
            }
        }
    }
    pub fn set_answer(&self, status: Option<&str>) {
        *self.answer.lock().unwrap() = status.map(str::to_string);
    }
    /// Close the WebSocket from this side.
    pub fn drop_connection(self) {}
    /// Wait until the server closed the connection.
    pub async fn wait_closed(&mut self) {
        tokio::time::timeout(DEADLINE, self.closed.wait_for(|c| *c))
            .await
            .expect("the central system kept the connection open")
            .unwrap();
    }
}

/// Wait until `f` holds for the central system's state (woken by its change counter).
pub async fn until(cs: &CentralSystem, mut f: impl FnMut(&CentralSystem) -> bool) {
    let mut rx = cs.changed();
    tokio::time::timeout(DEADLINE, async {
        while !f(cs) {
            rx.changed().await.unwrap();
        }
    })
    .await
    .expect("the central system never reached the expected state");
}

pub fn settings(cps: Vec<ChargePointEntry>) -> ServerSettings {
    let mut s = ServerSettings::new("/ocpp", cps);
    s.call_timeout = Duration::from_secs(30);
    s
}

/// An MQTT link that publishes nowhere (the OCPP daemon test feeds the meter through the channel).
pub struct NullMqtt;
impl sunplug::daemon::ports::MqttPort for NullMqtt {
    fn publish(&self, _topic: &str, _payload: &str, _retain: bool) {}
    fn subscribe(&self, _topic: &str) {}
}
