//! A Cariad BFF emulator on 127.0.0.1:0, for tests and `sunplug demo`.
//!
//! Owns: [`CariadEmulator`] and its request handling. It behaves as vendor-apis.md §2 describes the
//! real service: a refresh-token grant at `/auth/v1/idk/oidc/token` that rotates the refresh token and
//! retires the old one, access tokens that expire, `selectivestatus` with an explicit job list
//! (`jobs=all` is refused here, so the client is held to explicit jobs), 207 when a job fails, a daily
//! call budget announced in `Vcf-Remaining-Calls` (429 when spent), `parkingposition` (204 while
//! driving) and `vehiclewakeup` (recorded, so tests can prove it is never called).

pub mod car;

use super::common::{Fault, Incoming, Recorded, Server, empty, fault_response, json};
use crate::clock::{Clock, SystemClock};
use axum::http::{Method, StatusCode};
use axum::response::Response;
pub use car::Captured;
use car::CarSim;
use chrono::NaiveDate;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

pub const CLIENT_ID: &str = "sunplug-emulator-cariad@apps_vw-dilab_com";
pub const TOKEN_PATH: &str = "/auth/v1/idk/oidc/token";
pub const VIN: &str = "WAUZZZF21NN000000";
/// The refresh token the emulator starts with.
pub const FIRST_REFRESH_TOKEN: &str = "cariad-rt-0000-first-login-token";

/// What the token endpoint does with the refresh token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rotation {
    /// A new refresh token with every refresh; the old one stops working.
    Rotate,
    /// The same refresh token is returned.
    Same,
    /// No refresh token in the answer (the client must keep its own).
    Omit,
}

struct Shared {
    clock: Arc<dyn Clock>,
    car: CarSim,
    refresh_token: String,
    rotation: Rotation,
    rotations: u64,
    token_ttl: Duration,
    tokens: HashMap<String, Instant>,
    issued: u64,
    issued_log: Vec<String>,
    failed_jobs: Vec<String>,
    daily_calls: u32,
    send_remaining: bool,
    day: Option<(NaiveDate, u32)>,
    faults: VecDeque<Fault>,
    token_faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
}

/// A running emulator. Dropping it stops the server.
pub struct CariadEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CariadEmulator {
    pub async fn start() -> std::io::Result<CariadEmulator> {
        CariadEmulator::start_with(Arc::new(SystemClock)).await
    }

    pub async fn start_with(clock: Arc<dyn Clock>) -> std::io::Result<CariadEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            clock,
            car: CarSim::seed(VIN),
            refresh_token: FIRST_REFRESH_TOKEN.into(),
            rotation: Rotation::Rotate,
            rotations: 0,
            token_ttl: Duration::from_secs(3600),
            tokens: HashMap::new(),
            issued: 0,
            issued_log: Vec::new(),
            failed_jobs: Vec::new(),
            daily_calls: 480,
            send_remaining: true,
            day: None,
            faults: VecDeque::new(),
            token_faults: VecDeque::new(),
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| handle(s.clone(), req)).await?;
        Ok(CariadEmulator { server, shared })
    }

    /// `base_url` for `[cariad]`.
    pub fn base_url(&self) -> String {
        self.server.url()
    }
    /// `token_url` for `[cariad]`.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.server.url())
    }
    pub fn update_car(&self, f: impl FnOnce(&mut CarSim)) {
        f(&mut lock(&self.shared).car);
    }
    /// The refresh token the server accepts now.
    pub fn refresh_token(&self) -> String {
        lock(&self.shared).refresh_token.clone()
    }
    /// Replace the accepted refresh token (as a new login would).
    pub fn set_refresh_token(&self, t: &str) {
        lock(&self.shared).refresh_token = t.into();
    }
    pub fn set_rotation(&self, r: Rotation) {
        lock(&self.shared).rotation = r;
    }
    /// How many times the refresh token rotated.
    pub fn rotations(&self) -> u64 {
        lock(&self.shared).rotations
    }
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.shared).token_ttl = ttl;
    }
    pub fn revoke_access_tokens(&self) {
        lock(&self.shared).tokens.clear();
    }
    /// These jobs answer with errors (a 207) until changed.
    pub fn fail_jobs(&self, jobs: &[&str]) {
        lock(&self.shared).failed_jobs = jobs.iter().map(|j| j.to_string()).collect();
    }
    /// The account's calls per day, and whether `Vcf-Remaining-Calls` is sent.
    pub fn set_daily_calls(&self, n: u32, announce: bool) {
        let mut s = lock(&self.shared);
        s.daily_calls = n;
        s.send_remaining = announce;
    }
    /// Spend calls as the phone app would.
    pub fn spend_calls(&self, n: u32) {
        let mut s = lock(&self.shared);
        let today = s.clock.now().date_naive();
        let used = match s.day {
            Some((d, u)) if d == today => u,
            _ => 0,
        };
        s.day = Some((today, used + n));
    }
    pub fn inject(&self, f: Fault) {
        lock(&self.shared).faults.push_back(f);
    }
    pub fn inject_token(&self, f: Fault) {
        lock(&self.shared).token_faults.push_back(f);
    }
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
    pub fn requests_to(&self, part: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains(part))
            .collect()
    }
    /// Every access token issued so far, revoked or not.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared).issued_log.clone()
    }
}

async fn handle(shared: Arc<Mutex<Shared>>, req: axum::extract::Request) -> Response {
    let inc = Incoming::read(req).await;
    let fault = {
        let mut s = lock(&shared);
        if inc.path == TOKEN_PATH {
            s.token_faults.pop_front()
        } else {
            s.faults.pop_front()
        }
    };
    let resp = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            route(&mut lock(&shared), &inc)
        }
        Some(f) => fault_response(&f).unwrap_or_else(|| route(&mut lock(&shared), &inc)),
        None => route(&mut lock(&shared), &inc),
    };
    lock(&shared)
        .requests
        .push(inc.record(resp.status().as_u16()));
    resp
}

fn route(s: &mut Shared, inc: &Incoming) -> Response {
    if inc.path == TOKEN_PATH {
        return token(s, inc);
    }
    let valid = inc
        .bearer()
        .and_then(|t| s.tokens.get(&t).copied())
        .is_some_and(|exp| Instant::now() < exp);
    if !valid {
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": { "message": "Unauthorized", "code": 401 } }),
        );
    }
    // The daily budget of the account.
    let today = s.clock.now().date_naive();
    let used = match s.day {
        Some((d, u)) if d == today => u,
        _ => 0,
    };
    if used >= s.daily_calls {
        return json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "error": { "message": "Too many requests", "code": 429 } }),
        );
    }
    s.day = Some((today, used + 1));
    let remaining = s.daily_calls - used - 1;
    let mut resp = api(s, inc);
    if s.send_remaining {
        resp.headers_mut()
            .insert("vcf-remaining-calls", remaining.into());
    }
    resp
}

fn api(s: &mut Shared, inc: &Incoming) -> Response {
    let seg = inc.segments();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let not_found = || {
        json(
            StatusCode::NOT_FOUND,
            &json!({ "error": { "message": "Not found", "code": 404 } }),
        )
    };
    let now = s.clock.now();
    match (&inc.method, seg.as_slice()) {
        (&Method::GET, ["vehicle", "v1", "vehicles", vin, "selectivestatus"])
            if vin.eq_ignore_ascii_case(&s.car.vin) =>
        {
            let jobs: Vec<String> = inc
                .param("jobs")
                .map(|j| {
                    j.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if jobs.is_empty() || jobs.iter().any(|j| j == "all") {
                let msg = "jobs must list the jobs explicitly";
                return json(
                    StatusCode::BAD_REQUEST,
                    &json!({ "error": { "message": msg, "code": 400 } }),
                );
            }
            let (body, partial) = s.car.status_body(&jobs, &s.failed_jobs, now);
            json(
                if partial {
                    StatusCode::MULTI_STATUS
                } else {
                    StatusCode::OK
                },
                &body,
            )
        }
        (&Method::GET, ["vehicle", "v1", "vehicles", vin, "parkingposition"])
            if vin.eq_ignore_ascii_case(&s.car.vin) =>
        {
            match s.car.parking_body(now) {
                Some(b) => json(StatusCode::OK, &b),
                None => empty(StatusCode::NO_CONTENT),
            }
        }
        (&Method::POST, ["vehicle", "v1", "vehicles", vin, "vehiclewakeup"])
            if vin.eq_ignore_ascii_case(&s.car.vin) =>
        {
            json(
                StatusCode::ACCEPTED,
                &json!({ "data": { "requestID": "wakeup-1" } }),
            )
        }
        (&Method::GET, ["vehicle", "v1", "vehicles"]) => json(
            StatusCode::OK,
            &json!({ "data": [{ "vin": s.car.vin, "model": "Q4 e-tron", "nickname": "Audi" }] }),
        ),
        _ => not_found(),
    }
}

fn token(s: &mut Shared, inc: &Incoming) -> Response {
    let err =
        |status, e: &str, d: &str| json(status, &json!({ "error": e, "error_description": d }));
    let form = inc.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if inc.method != Method::POST || field("grant_type") != Some("refresh_token") {
        return err(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only refresh_token is emulated",
        );
    }
    if field("client_id") != Some(CLIENT_ID) {
        return err(StatusCode::BAD_REQUEST, "invalid_client", "unknown client");
    }
    if field("refresh_token") != Some(s.refresh_token.as_str()) {
        return err(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "refresh token invalid or retired",
        );
    }
    s.issued += 1;
    let access = format!(
        "cariad-at-{:04}-{:016x}",
        s.issued,
        s.issued.wrapping_mul(0xD6E8_FEB8_6659_FD93)
    );
    s.tokens
        .insert(access.clone(), Instant::now() + s.token_ttl);
    s.issued_log.push(access.clone());
    let mut body = json!({ "access_token": access, "expires_in": s.token_ttl.as_secs(), "token_type": "Bearer",
                           "id_token": "emulated.id.token" });
    match s.rotation {
        Rotation::Rotate => {
            s.rotations += 1;
            s.refresh_token = format!(
                "cariad-rt-{:04}-{:012x}",
                s.rotations,
                s.rotations.wrapping_mul(0xA24B_AED4_963E)
            );
            body["refresh_token"] = json!(s.refresh_token);
        }
        Rotation::Same => body["refresh_token"] = json!(s.refresh_token),
        Rotation::Omit => {}
    }
    json(StatusCode::OK, &body)
}
