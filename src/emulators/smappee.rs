//! An emulator of the Smappee API (axum on 127.0.0.1:0), for tests and `sunplug demo`.
//!
//! Owns: [`SmappeeEmulator`] (start, base URL, the test handle), [`Fault`] and [`Target`] (faults to
//! inject), [`RecordedRequest`]. Serves `POST /dev/v1/oauth2/token` (and the `/dev/v3` alias), the
//! service location list, the metering configuration, smart devices (the list, with uuids, and one
//! by id), sessions and the connector mode; builds the monitor's `realtime` and retained
//! `channelConfigV2` MQTT payloads.
//! Every request is recorded (method, path, query, authorization, body, status) so tests can assert
//! exactly what was sent, and every accepted mode write is logged with its time, connector and
//! current and the per-phase sum of all cars after it ([`SmappeeEmulator::write_log`]): a station
//! with two connectors (`connectors`, each with its own car, mode, limit and phases) shows whether
//! a site ever exceeded its fuse. The account and station model is in `smappee/model.rs`, the endpoints in
//! `smappee/routes.rs`.
//!
//! Time comes from the injected [`Clock`] (token expiry, session times); injected delays sleep on
//! tokio time, so a paused test clock makes a slow answer a timeout without waiting.

mod model;
mod routes;

pub use model::{Connector, EmulatorConfig, WriteRec};

use crate::chargers::smappee::wire::Mode;
use crate::clock::Clock;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use model::Model;
use routes::{error, parse_form, route};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The token endpoint.
    Token,
    /// Any API call (not the token endpoint).
    Api,
    /// Only `PUT .../mode`.
    Mode,
    /// Any request.
    Any,
    /// Requests whose path contains this, e.g. "/sessions".
    PathContains(&'static str),
}

/// A fault for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and a JSON error body.
    Status(u16),
    /// 429 with an optional `Retry-After` in seconds.
    RateLimited(Option<u64>),
    /// Handle the request, then wait this long (tokio time) before answering.
    Delay(Duration),
    /// 200 with a body that is not JSON.
    Garbage,
    /// Answer with this status and the request body echoed (as a careless server might).
    Echo(u16),
}

/// One request as it arrived, and the status it was answered with (also when the answer was
/// delayed past the client's patience).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    pub status: u16,
}

impl RecordedRequest {
    /// A form field of a token request.
    pub fn form(&self, key: &str) -> Option<String> {
        parse_form(&self.body).remove(key)
    }
    pub fn is_token(&self) -> bool {
        self.path.ends_with("/oauth2/token")
    }
    pub fn is_mode(&self) -> bool {
        self.method == "PUT" && self.path.ends_with("/mode")
    }
}

struct Shared {
    clock: Arc<dyn Clock>,
    model: Mutex<Model>,
    faults: Mutex<VecDeque<(Target, Fault)>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A running emulator. Clones share it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct SmappeeEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: Arc<DropGuard>,
}

impl std::fmt::Debug for SmappeeEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmappeeEmulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SmappeeEmulator {
    /// Bind 127.0.0.1 on a free port and serve until dropped.
    pub async fn start(
        cfg: EmulatorConfig,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<SmappeeEmulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            clock,
            model: Mutex::new(Model::new(cfg)),
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
        });
        let stop = CancellationToken::new();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let until = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(until)
                .await;
        });
        Ok(SmappeeEmulator {
            addr,
            shared,
            _stop: Arc::new(stop.drop_guard()),
        })
    }

    /// `http://127.0.0.1:<port>`: put it in `[smappee] base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn config(&self) -> EmulatorConfig {
        lock(&self.shared.model).cfg.clone()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }
    /// The `grant_type` of each token request.
    pub fn token_grants(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| r.is_token())
            .filter_map(|r| r.form("grant_type"))
            .collect()
    }
    /// The bodies of all mode requests, accepted or not.
    pub fn mode_bodies(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_mode)
            .map(|r| r.body)
            .collect()
    }

    /// Fail the next request matching `target` with `fault`.
    pub fn inject(&self, target: Target, fault: Fault) {
        self.inject_times(target, fault, 1);
    }
    pub fn inject_times(&self, target: Target, fault: Fault, times: usize) {
        let mut f = lock(&self.shared.faults);
        f.extend(std::iter::repeat_n((target, fault), times));
    }

    /// Server-side invalidation of every access token (the next call gets 401).
    pub fn revoke_access_tokens(&self) {
        lock(&self.shared.model).access.clear();
    }
    /// Server-side invalidation of every refresh token (the next refresh gets 400 invalid_grant).
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared.model).refresh.clear();
    }
    pub fn set_expires_in(&self, seconds: u64) {
        lock(&self.shared.model).cfg.expires_in = seconds;
    }

    /// Connect a car (a new session; a PAUSED connector goes back to NORMAL, as the station does).
    pub fn plug_in(&self, position: u8) {
        let now = self.shared.clock.now();
        lock(&self.shared.model).plug_in(position, now);
    }
    /// Disconnect the car (the session ends).
    pub fn unplug(&self, position: u8) {
        let now = self.shared.clock.now();
        lock(&self.shared.model).unplug(position, now);
    }
    pub fn replug(&self, position: u8) {
        self.unplug(position);
        self.plug_in(position);
    }
    /// Every accepted mode write with its time, connector, offered current and the per-phase sum of
    /// every car right after it (for fuse checks).
    pub fn write_log(&self) -> Vec<WriteRec> {
        lock(&self.shared.model).writes.clone()
    }
    /// What every car draws together now, per phase (L1, L2, L3).
    pub fn phase_currents(&self) -> [f64; 3] {
        lock(&self.shared.model).phase_currents()
    }
    /// The phases the car on `position` loads (0, 1, 2 for L1..L3): one for a 1-phase car.
    pub fn set_lines(&self, position: u8, lines: &[usize]) {
        if let Some(c) = lock(&self.shared.model).connector_mut(position) {
            c.lines = lines.to_vec();
        }
    }
    /// Change the mode as the Smappee app would.
    pub fn set_mode_externally(&self, position: u8, mode: Mode) {
        if let Some(c) = lock(&self.shared.model).connector_mut(position) {
            c.mode = mode;
        }
    }
    /// Deliver AMPERE limits off by `error_a` (the station's inexact ampere control).
    pub fn set_ampere_error(&self, position: u8, error_a: f64) {
        if let Some(c) = lock(&self.shared.model).connector_mut(position) {
            c.ampere_error = error_a;
        }
    }
    /// The most the car draws.
    pub fn set_car_max(&self, position: u8, amps: f64) {
        if let Some(c) = lock(&self.shared.model).connector_mut(position) {
            c.car_max = amps;
        }
    }
    pub fn connector(&self, position: u8) -> Option<Connector> {
        lock(&self.shared.model)
            .connectors
            .iter()
            .find(|c| c.position == position)
            .cloned()
    }
    /// Report `word` as the connector's `chargingState` (`None`: the modelled word again).
    pub fn set_state_word(&self, position: u8, word: Option<&str>) {
        if let Some(c) = lock(&self.shared.model).connector_mut(position) {
            c.state_word = word.map(str::to_string);
        }
    }
    /// What the monitor would publish on `servicelocation/<uuid>/realtime` now.
    pub fn realtime_payload(&self) -> String {
        lock(&self.shared.model).realtime().to_string()
    }
    /// The retained `servicelocation/<uuid>/channelConfigV2` the monitor publishes.
    pub fn channel_config_payload(&self) -> String {
        lock(&self.shared.model).channel_config_v2().to_string()
    }
}

fn target_of(method: &Method, path: &str) -> Target {
    if path.ends_with("/oauth2/token") {
        Target::Token
    } else if method == Method::PUT && path.ends_with("/mode") {
        Target::Mode
    } else {
        Target::Api
    }
}

fn applies(t: Target, to: Target, path: &str) -> bool {
    match t {
        Target::Any => true,
        Target::PathContains(p) => path.contains(p),
        Target::Api => to == Target::Api || to == Target::Mode,
        t => t == to,
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let target = target_of(&method, &path);
    // Recorded on arrival: a request whose answer the client gave up on is still recorded.
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let index = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_string),
            authorization: header_text(header::AUTHORIZATION),
            content_type: header_text(header::CONTENT_TYPE),
            body: String::from_utf8_lossy(&body).to_string(),
            status: 0,
        });
        requests.len() - 1
    };
    let fault = {
        let mut faults = lock(&shared.faults);
        let i = faults.iter().position(|(t, _)| applies(*t, target, &path));
        i.and_then(|i| faults.remove(i)).map(|(_, f)| f)
    };
    let (response, delay) = match fault {
        // The request takes effect at once; only the answer is late (or lost, if the client gives
        // up first), as with a slow cloud.
        Some(Fault::Delay(d)) => (route(&shared, &method, &uri, &headers, &body), Some(d)),
        Some(Fault::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (error(status, "injected", "injected failure"), None)
        }
        Some(Fault::RateLimited(after)) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "slow down",
            );
            if let Some(s) = after {
                r.headers_mut().insert(header::RETRY_AFTER, s.into());
            }
            (r, None)
        }
        Some(Fault::Garbage) => (
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"serviceLocations\": [{\"serviceLoc",
            )
                .into_response(),
            None,
        ),
        Some(Fault::Echo(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_REQUEST);
            let echo = String::from_utf8_lossy(&body).to_string();
            ((status, echo).into_response(), None)
        }
        None => (route(&shared, &method, &uri, &headers, &body), None),
    };
    let status = response.status().as_u16();
    tracing::debug!("smappee emulator: {method} {path} -> {status}");
    if let Some(r) = lock(&shared.requests).get_mut(index) {
        r.status = status;
    }
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::model::parse_mode_body;

    #[test]
    fn mode_bodies_are_validated_like_the_api() {
        let ok = |b: &str| parse_mode_body(b.as_bytes(), 32.0);
        assert!(ok(r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":100}}"#).is_ok());
        assert!(ok(r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":32}}"#).is_ok());
        assert!(ok(r#"{"mode":"PAUSED"}"#).is_ok());
        for bad in [
            r#"{"mode":"PAUSE"}"#,
            r#"{"mode":"PAUSED","limit":{"unit":"AMPERE","value":10}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":101}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":33}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10.5}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"WATT","value":10}}"#,
            "not json",
        ] {
            assert!(ok(bad).is_err(), "{bad} should be refused");
        }
    }
}
