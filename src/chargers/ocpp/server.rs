//! The OCPP 1.6J central system: a WebSocket server charge points connect to.
//!
//! Owns: [`CentralSystem`] (started on a listener the caller binds, stopped by a token the caller
//! cancels), one session task per connection, the per charge point state, [`CentralSystem::call`]
//! (a CALL to a charge point and its answer, one outstanding CALL per connection as OCPP-J asks,
//! a missing answer after [`ServerSettings::call_timeout`] is [`CallFailure::Timeout`]), the
//! standing profile re-sent on every (re)connection and BootNotification, and [`OcppEvent`]s for
//! `sunplug ocpp listen` and tests.
//!
//! Bad input never stops the server: a refused upgrade (path, id, password, subprotocol), a frame
//! that is not OCPP-J, an unknown action (CALLERROR NotImplemented) or a frame above
//! [`ServerSettings::max_message`] (connection closed) each gives one log line and one event.

use super::handlers::{Authorize, HandlerCtx, handle};
use super::handshake::{AdmitRules, ChargePointEntry, Refusal, SUBPROTOCOL, admit};
use super::state::ChargePointState;
use super::wire::{Frame, SetChargingProfileReq};
use crate::clock::Clock;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// The largest OCPP message accepted (the biggest 1.6 messages are a few kB).
pub const MAX_MESSAGE: usize = 64 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the central system runs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Charge points connect to `<path>/<id>`.
    pub path: String,
    pub charge_points: Vec<ChargePointEntry>,
    /// Accept ids not listed (`ocpp listen` without passwords); never when a password is set.
    pub accept_unknown: bool,
    pub authorize: Authorize,
    /// The heartbeat interval given in BootNotification.conf.
    pub heartbeat: Duration,
    /// How long a charge point has to answer a CALL.
    pub call_timeout: Duration,
    /// MeterValueSampleInterval asked for at connection.
    pub meter_interval: Duration,
    pub max_message: usize,
    /// Security profile 2 (TLS) when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl ServerSettings {
    /// Plain WebSocket on `path`, for these charge points, with the usual intervals.
    pub fn new(path: &str, charge_points: Vec<ChargePointEntry>) -> ServerSettings {
        ServerSettings {
            path: path.to_string(),
            charge_points,
            accept_unknown: false,
            authorize: Authorize::All,
            heartbeat: Duration::from_secs(300),
            call_timeout: Duration::from_secs(30),
            meter_interval: Duration::from_secs(10),
            max_message: MAX_MESSAGE,
            tls: None,
        }
    }
}

/// Something that happened, for `ocpp listen` and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum OcppEvent {
    Connected {
        cp: String,
        peer: SocketAddr,
    },
    Disconnected {
        cp: String,
        why: String,
    },
    Refused {
        peer: SocketAddr,
        why: String,
    },
    /// A CALL from the charge point, and the status of sunplug's answer ("ok" or the error code).
    Received {
        cp: String,
        action: String,
        payload: Value,
        answer: String,
    },
    /// A CALL sunplug sent, and the charge point's answer (its status, an error code, or "timeout").
    Sent {
        cp: String,
        action: String,
        payload: Value,
        answer: String,
    },
    BadInput {
        cp: String,
        why: String,
    },
}

impl std::fmt::Display for OcppEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OcppEvent::Connected { cp, peer } => write!(f, "{cp}: connected from {peer}"),
            OcppEvent::Disconnected { cp, why } => write!(f, "{cp}: disconnected ({why})"),
            OcppEvent::Refused { peer, why } => write!(f, "refused {peer}: {why}"),
            OcppEvent::Received {
                cp,
                action,
                payload,
                answer,
            } => {
                write!(f, "{cp} → {action} {payload} ← {answer}")
            }
            OcppEvent::Sent {
                cp,
                action,
                payload,
                answer,
            } => {
                write!(f, "{cp} ← {action} {payload} → {answer}")
            }
            OcppEvent::BadInput { cp, why } => write!(f, "{cp}: bad input: {why}"),
        }
    }
}

/// Why a CALL to a charge point got no CALLRESULT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFailure {
    #[error("the charge point is not connected")]
    NotConnected,
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("the connection closed before the answer")]
    Closed,
    #[error("CALLERROR {code}: {description}")]
    CallError { code: String, description: String },
}

type Answer = Result<Value, CallFailure>;

struct Outgoing {
    action: String,
    payload: Value,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Slot {
    state: ChargePointState,
    session: Option<(u64, mpsc::Sender<Outgoing>)>,
    standing: Option<SetChargingProfileReq>,
}

struct Inner {
    settings: ServerSettings,
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<String, Slot>>,
    events: broadcast::Sender<OcppEvent>,
    changed: watch::Sender<u64>,
    next_transaction: AtomicI64,
    generation: AtomicU64,
    stop: CancellationToken,
    local_addr: SocketAddr,
}

/// The running central system. Cheap to clone.
#[derive(Clone)]
pub struct CentralSystem {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CentralSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CentralSystem({})", self.inner.local_addr)
    }
}

impl CentralSystem {
    /// Serve on `listener` until `stop` is cancelled.
    pub fn start(
        listener: TcpListener,
        settings: ServerSettings,
        clock: Arc<dyn Clock>,
        stop: CancellationToken,
    ) -> std::io::Result<CentralSystem> {
        let local_addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            settings,
            clock,
            slots: Mutex::new(HashMap::new()),
            events,
            changed: watch::Sender::new(0),
            // Unique enough across restarts without a stored counter.
            next_transaction: AtomicI64::new(1),
            generation: AtomicU64::new(0),
            stop,
            local_addr,
        });
        let acceptor = inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = acceptor.stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, peer)) => { tokio::spawn(connection(acceptor.clone(), tcp, peer)); }
                        Err(e) => warn!("ocpp: accept failed: {e}"),
                    },
                }
            }
        });
        Ok(CentralSystem { inner })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }
    pub fn settings(&self) -> &ServerSettings {
        &self.inner.settings
    }
    pub fn events(&self) -> broadcast::Receiver<OcppEvent> {
        self.inner.events.subscribe()
    }
    /// Bumped on every change of any charge point's state.
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }
    /// A copy of what is known about `cp`.
    pub fn state(&self, cp: &str) -> Option<ChargePointState> {
        lock(&self.inner.slots).get(cp).map(|s| s.state.clone())
    }
    /// The ids of charge points seen since the start.
    pub fn charge_points(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.inner.slots).keys().cloned().collect();
        ids.sort();
        ids
    }
    /// The profile `cp` gets on every (re)connection and boot (the latest wish, sent or not).
    pub fn set_standing(&self, cp: &str, profile: Option<SetChargingProfileReq>) {
        lock(&self.inner.slots)
            .entry(cp.to_string())
            .or_default()
            .standing = profile;
    }
    /// Send a CALL to `cp` and wait for its answer.
    pub async fn call(&self, cp: &str, action: &str, payload: Value) -> Answer {
        call(&self.inner, cp, action, payload).await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn emit(inner: &Inner, event: OcppEvent) {
    let _ = inner.events.send(event);
}

async fn call(inner: &Arc<Inner>, cp: &str, action: &str, payload: Value) -> Answer {
    let tx = lock(&inner.slots)
        .get(cp)
        .and_then(|s| s.session.as_ref().map(|(_, tx)| tx.clone()))
        .ok_or(CallFailure::NotConnected)?;
    let (reply, answer) = oneshot::channel();
    let out = Outgoing {
        action: action.to_string(),
        payload,
        reply,
    };
    tx.send(out).await.map_err(|_| CallFailure::NotConnected)?;
    // The session times the CALL out itself; this bounds a wait in a queue of calls.
    let t = inner.settings.call_timeout;
    match tokio::time::timeout(t * 4, answer).await {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => Err(CallFailure::Closed),
        Err(_) => Err(CallFailure::Timeout(t)),
    }
}

async fn connection(inner: Arc<Inner>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    match inner.settings.tls.clone() {
        Some(cfg) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => upgrade(inner, tls, peer).await,
                Ok(Err(e)) => refused(&inner, peer, format!("TLS handshake failed: {e}")),
                Err(_) => refused(&inner, peer, "TLS handshake timed out".into()),
            }
        }
        None => upgrade(inner, tcp, peer).await,
    }
}

fn refused(inner: &Inner, peer: SocketAddr, why: String) {
    warn!("ocpp: refused a connection from {peer}: {why}");
    emit(inner, OcppEvent::Refused { peer, why });
}

async fn upgrade<S>(inner: Arc<Inner>, stream: S, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let verdict: Arc<Mutex<Option<Result<String, Refusal>>>> = Arc::default();
    let (v, rules_inner) = (verdict.clone(), inner.clone());
    // tungstenite's callback type: its error is an HTTP response by design.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let s = &rules_inner.settings;
        let rules = AdmitRules {
            path: &s.path,
            charge_points: &s.charge_points,
            accept_unknown: s.accept_unknown,
        };
        let result = admit(req.uri().path(), req.headers(), &rules);
        *lock(&v) = Some(result.clone());
        match result {
            Ok(_) => {
                resp.headers_mut().insert(
                    "sec-websocket-protocol",
                    HeaderValue::from_static(SUBPROTOCOL),
                );
                Ok(resp)
            }
            Err(refusal) => {
                let mut e = ErrorResponse::new(Some(refusal.to_string()));
                *e.status_mut() =
                    StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
                if refusal.status() == 401 {
                    e.headers_mut().insert(
                        "www-authenticate",
                        HeaderValue::from_static("Basic realm=\"sunplug\""),
                    );
                }
                Err(e)
            }
        }
    };
    let max = inner.settings.max_message;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let ws = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)),
    )
    .await;
    let verdict = lock(&verdict).take();
    match (ws, verdict) {
        (Ok(Ok(ws)), Some(Ok(cp))) => session(inner, ws, cp, peer).await,
        (_, Some(Err(refusal))) => refused(&inner, peer, refusal.to_string()),
        (Ok(Err(e)), _) => refused(&inner, peer, format!("not a WebSocket upgrade: {e}")),
        (Err(_), _) => refused(&inner, peer, "the WebSocket handshake timed out".into()),
        (Ok(Ok(_)), None) => refused(&inner, peer, "upgrade without a verdict".into()),
    }
}

/// The CALL in flight from sunplug to the charge point.
struct Pending {
    id: String,
    action: String,
    payload: Value,
    reply: oneshot::Sender<Answer>,
    deadline: tokio::time::Instant,
}

async fn session<S>(
    inner: Arc<Inner>,
    ws: tokio_tungstenite::WebSocketStream<S>,
    cp: String,
    peer: SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, mut out_rx) = mpsc::channel::<Outgoing>(8);
    let generation = inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
    {
        let mut slots = lock(&inner.slots);
        let slot = slots.entry(cp.clone()).or_default();
        // A newer connection replaces an older one: the old session ends when it sees its queue closed.
        slot.session = Some((generation, out_tx));
        slot.state.connected = true;
        slot.state.last_seen = Some(inner.clock.now());
    }
    info!("ocpp: charge point {cp} connected from {peer}");
    emit(
        &inner,
        OcppEvent::Connected {
            cp: cp.clone(),
            peer,
        },
    );
    inner.changed.send_modify(|v| *v += 1);
    tokio::spawn(on_connect(inner.clone(), cp.clone()));

    let (mut sink, mut stream) = ws.split();
    let mut pending: Option<Pending> = None;
    let mut counter = 0u64;
    let why: String = loop {
        let deadline = pending.as_ref().map(|p| p.deadline);
        let timeout = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = inner.stop.cancelled() => break "sunplug is stopping".into(),
            msg = stream.next() => match msg {
                None => break "connection closed".into(),
                Some(Err(WsError::Capacity(e))) => {
                    let why = format!("message refused ({e}; the limit is {} bytes)", inner.settings.max_message);
                    warn!("ocpp: charge point {cp}: {why}: closing the connection");
                    emit(&inner, OcppEvent::BadInput { cp: cp.clone(), why: why.clone() });
                    break why;
                }
                Some(Err(e)) => break format!("connection failed: {e}"),
                Some(Ok(Message::Text(text))) => {
                    let reply = on_text(&inner, &cp, text.as_str(), &mut pending);
                    if let Some(frame) = reply && sink.send(Message::text(frame.to_text())).await.is_err() {
                        break "connection failed while answering".into();
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let why = "binary frame (OCPP-J is text): ignored".to_string();
                    warn!("ocpp: charge point {cp}: {why}");
                    emit(&inner, OcppEvent::BadInput { cp: cp.clone(), why });
                }
                Some(Ok(Message::Close(_))) => break "closed by the charge point".into(),
                Some(Ok(_)) => {}
            },
            out = out_rx.recv(), if pending.is_none() => {
                let Some(out) = out else { break "replaced by a newer connection".into() };
                counter += 1;
                let id = format!("sunplug-{generation}-{counter}");
                let frame = Frame::Call { id: id.clone(), action: out.action.clone(), payload: out.payload.clone() };
                debug!("ocpp: → {cp}: {}", frame.to_text());
                if sink.send(Message::text(frame.to_text())).await.is_err() {
                    let _ = out.reply.send(Err(CallFailure::Closed));
                    break "connection failed while sending".into();
                }
                pending = Some(Pending {
                    id,
                    action: out.action,
                    payload: out.payload,
                    reply: out.reply,
                    deadline: tokio::time::Instant::now() + inner.settings.call_timeout,
                });
            },
            _ = timeout => {
                if let Some(p) = pending.take() {
                    warn!("ocpp: charge point {cp} did not answer {} within {}s", p.action, inner.settings.call_timeout.as_secs());
                    emit(&inner, OcppEvent::Sent { cp: cp.clone(), action: p.action, payload: p.payload, answer: "timeout".into() });
                    let _ = p.reply.send(Err(CallFailure::Timeout(inner.settings.call_timeout)));
                }
            }
        }
    };
    if let Some(p) = pending.take() {
        let _ = p.reply.send(Err(CallFailure::Closed));
    }
    let _ = sink.close().await;
    {
        let mut slots = lock(&inner.slots);
        if let Some(slot) = slots.get_mut(&cp)
            && slot.session.as_ref().is_some_and(|(g, _)| *g == generation)
        {
            slot.session = None;
            slot.state.connected = false;
        }
    }
    info!("ocpp: charge point {cp} disconnected: {why}");
    emit(&inner, OcppEvent::Disconnected { cp, why });
    inner.changed.send_modify(|v| *v += 1);
}

/// Handle one text frame; returns the frame to answer with, if any.
fn on_text(
    inner: &Arc<Inner>,
    cp: &str,
    text: &str,
    pending: &mut Option<Pending>,
) -> Option<Frame> {
    let bad = |why: String| {
        warn!("ocpp: charge point {cp}: {why}");
        emit(
            inner,
            OcppEvent::BadInput {
                cp: cp.to_string(),
                why,
            },
        );
    };
    let frame = match Frame::parse(text) {
        Ok(f) => f,
        Err(e) => {
            let answer = e
                .call_id()
                .map(|id| Frame::error(id, "FormationViolation", e.to_string()));
            bad(format!("{e}: {}", excerpt(text)));
            return answer;
        }
    };
    match frame {
        Frame::Call {
            id,
            action,
            payload,
        } => {
            let now = inner.clock.now();
            let result = {
                let mut slots = lock(&inner.slots);
                let slot = slots.entry(cp.to_string()).or_default();
                let ctx = HandlerCtx {
                    authorize: &inner.settings.authorize,
                    heartbeat: inner.settings.heartbeat,
                    next_transaction: inner.next_transaction.load(Ordering::Relaxed),
                };
                let r = handle(&action, &payload, &mut slot.state, &ctx, now);
                if action == "StartTransaction" && r.is_ok() {
                    inner.next_transaction.fetch_add(1, Ordering::Relaxed);
                }
                r
            };
            inner.changed.send_modify(|v| *v += 1);
            let (answer, reply) = match result {
                Ok(conf) => ("ok".to_string(), Frame::Result { id, payload: conf }),
                Err(refusal) => {
                    bad(format!(
                        "{action}: {} ({})",
                        refusal.description, refusal.code
                    ));
                    (
                        refusal.code.to_string(),
                        Frame::error(&id, refusal.code, refusal.description),
                    )
                }
            };
            debug!("ocpp: {cp} → {action} {payload}");
            if action == "BootNotification" && answer == "ok" {
                tokio::spawn(on_connect(inner.clone(), cp.to_string()));
            }
            emit(
                inner,
                OcppEvent::Received {
                    cp: cp.to_string(),
                    action,
                    payload,
                    answer,
                },
            );
            Some(reply)
        }
        Frame::Result { id, payload } => {
            match pending.take_if(|p| p.id == id) {
                Some(p) => {
                    let status = payload
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("ok")
                        .to_string();
                    emit(
                        inner,
                        OcppEvent::Sent {
                            cp: cp.to_string(),
                            action: p.action,
                            payload: p.payload,
                            answer: status,
                        },
                    );
                    let _ = p.reply.send(Ok(payload));
                }
                None => bad(format!(
                    "an answer to no pending CALL (id {})",
                    excerpt(&id)
                )),
            }
            None
        }
        Frame::Error {
            id,
            code,
            description,
            ..
        } => {
            match pending.take_if(|p| p.id == id) {
                Some(p) => {
                    emit(
                        inner,
                        OcppEvent::Sent {
                            cp: cp.to_string(),
                            action: p.action,
                            payload: p.payload,
                            answer: code.clone(),
                        },
                    );
                    let _ = p
                        .reply
                        .send(Err(CallFailure::CallError { code, description }));
                }
                None => bad(format!(
                    "a CALLERROR for no pending CALL (id {}): {code}",
                    excerpt(&id)
                )),
            }
            None
        }
    }
}

fn excerpt(s: &str) -> String {
    let mut e: String = s.chars().take(120).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 120 {
        e.push('…');
    }
    e
}

/// What a charge point gets at every connection and boot: first the standing profile (read and
/// queued at once, so a newer request from the port always lands after it), then the asks for the
/// meter values sunplug needs and its connectors' status.
async fn on_connect(inner: Arc<Inner>, cp: String) {
    let standing = lock(&inner.slots).get(&cp).and_then(|s| s.standing.clone());
    if let Some(profile) = standing {
        let limit = profile.limit().unwrap_or_default();
        let payload = serde_json::to_value(&profile).unwrap_or(Value::Null);
        match call(&inner, &cp, "SetChargingProfile", payload).await {
            Ok(answer) => info!(
                "ocpp: charge point {cp}: profile {limit} A re-sent: {}",
                answer
                    .get("status")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
            ),
            Err(CallFailure::NotConnected | CallFailure::Closed) => return,
            Err(e) => {
                warn!("ocpp: charge point {cp}: re-sending the {limit} A profile failed: {e}")
            }
        }
    }
    let interval = inner.settings.meter_interval.as_secs().max(1).to_string();
    let asks = [
        (
            "ChangeConfiguration",
            serde_json::json!({"key": "MeterValueSampleInterval", "value": interval}),
        ),
        (
            "ChangeConfiguration",
            serde_json::json!({"key": "MeterValuesSampledData",
                "value": "Energy.Active.Import.Register,Power.Active.Import,Current.Import"}),
        ),
        (
            "TriggerMessage",
            serde_json::json!({"requestedMessage": "StatusNotification"}),
        ),
    ];
    for (action, payload) in asks {
        match call(&inner, &cp, action, payload).await {
            Ok(answer) => debug!("ocpp: {cp}: {action}: {answer}"),
            Err(CallFailure::NotConnected | CallFailure::Closed) => return,
            Err(e) => debug!("ocpp: {cp}: {action}: {e}"),
        }
    }
}
