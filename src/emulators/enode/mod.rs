//! An Enode API emulator (API version 2024-10-01) on 127.0.0.1:0, for tests and `sunplug demo`.
//!
//! Owns: [`EnodeEmulator`] (start, handles to set vehicles, inject faults, read the request log) and
//! the request handling. It behaves like the documented API (vendor-apis.md §1): client-credentials
//! tokens with Basic auth that expire, bearer auth on every call (401 problem otherwise), problem+json
//! errors, paginated lists, link sessions with the spec's required fields, charge actions that go
//! PENDING → CONFIRMED/FAILED as they are read, and an optional rate limit (429 with `Retry-After`).
//! Vehicles start as the seed-001 example ([`vehicle::VehicleSim::seed`]).

pub mod routes;
pub mod vehicle;

use super::common::{Fault, Incoming, RateWindow, Recorded, Server, fault_response};
use crate::clock::{Clock, SystemClock};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;
pub use vehicle::{Timing, VehicleSim};

/// The emulator's client credentials.
pub const CLIENT_ID: &str = "sunplug-emulator-client";
pub const CLIENT_SECRET: &str = "emulator-secret-7f3a9c1e2b";
/// Token path, under the emulator's address.
pub const TOKEN_PATH: &str = "/oauth2/token";

/// How pending charge actions end.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedOutcome {
    Confirmed,
    /// FAILED with this `failureReason.type` (e.g. "NO_RESPONSE").
    Failed(String),
    Cancelled,
    /// Stays PENDING forever.
    Never,
}

#[derive(Debug, Clone)]
pub(crate) struct ActionSim {
    pub id: String,
    pub vehicle_id: String,
    pub user_id: String,
    pub kind: String,
    pub state: String,
    pub reads: u32,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failure: Option<(String, String)>,
}

pub(crate) struct Shared {
    pub clock: Arc<dyn Clock>,
    pub start: DateTime<Utc>,
    pub base_url: String,
    pub token_ttl: Duration,
    pub tokens: HashMap<String, Instant>,
    pub issued: u64,
    pub issued_log: Vec<String>,
    pub vehicles: Vec<VehicleSim>,
    pub actions: Vec<ActionSim>,
    pub reads_until_final: u32,
    pub outcome: PlannedOutcome,
    pub links: Vec<(String, serde_json::Value)>,
    pub faults: VecDeque<Fault>,
    pub token_faults: VecDeque<Fault>,
    pub rate: Option<RateWindow>,
    pub requests: Vec<Recorded>,
}

/// A running emulator. Dropping it stops the server.
pub struct EnodeEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl EnodeEmulator {
    /// Start with the wall clock (for the CLI tests and the demo).
    pub async fn start() -> std::io::Result<EnodeEmulator> {
        EnodeEmulator::start_with(Arc::new(SystemClock)).await
    }

    /// Start with `clock` (a `TokioClock` under a paused test clock).
    pub async fn start_with(clock: Arc<dyn Clock>) -> std::io::Result<EnodeEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            start: clock.now(),
            clock,
            base_url: String::new(),
            token_ttl: Duration::from_secs(3599),
            tokens: HashMap::new(),
            issued: 0,
            issued_log: Vec::new(),
            vehicles: vec![VehicleSim::seed()],
            actions: Vec::new(),
            reads_until_final: 2,
            outcome: PlannedOutcome::Confirmed,
            links: Vec::new(),
            faults: VecDeque::new(),
            token_faults: VecDeque::new(),
            rate: None,
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| handle(s.clone(), req)).await?;
        lock(&shared).base_url = server.url();
        Ok(EnodeEmulator { server, shared })
    }

    /// `api_url` for `[enode]`.
    pub fn api_url(&self) -> String {
        self.server.url()
    }
    /// `oauth_url` for `[enode]`.
    pub fn oauth_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.server.url())
    }
    /// The first vehicle's id.
    pub fn vehicle_id(&self) -> String {
        lock(&self.shared)
            .vehicles
            .first()
            .map(|v| v.id.clone())
            .unwrap_or_default()
    }
    /// Change the first vehicle.
    pub fn update_vehicle(&self, f: impl FnOnce(&mut VehicleSim)) {
        if let Some(v) = lock(&self.shared).vehicles.first_mut() {
            f(v);
        }
    }
    pub fn vehicle(&self) -> Option<VehicleSim> {
        lock(&self.shared).vehicles.first().cloned()
    }
    pub fn add_vehicle(&self, v: VehicleSim) {
        lock(&self.shared).vehicles.push(v);
    }
    pub fn set_vehicles(&self, vs: Vec<VehicleSim>) {
        lock(&self.shared).vehicles = vs;
    }
    /// Lifetime of new access tokens (Enode: 3599 s).
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.shared).token_ttl = ttl;
    }
    /// Invalidate every token issued so far (the next call gets a 401).
    pub fn revoke_tokens(&self) {
        lock(&self.shared).tokens.clear();
    }
    /// Apply `f` to the next API request (not the token endpoint).
    pub fn inject(&self, f: Fault) {
        lock(&self.shared).faults.push_back(f);
    }
    /// Apply `f` to the next token request.
    pub fn inject_token(&self, f: Fault) {
        lock(&self.shared).token_faults.push_back(f);
    }
    /// At most `max` API requests per `window`; beyond: 429 with `Retry-After`.
    pub fn set_rate_limit(&self, max: usize, window: Duration) {
        lock(&self.shared).rate = Some(RateWindow::new(max, window));
    }
    /// Charge actions end as `outcome` on their `reads`-th read.
    pub fn set_action_plan(&self, reads: u32, outcome: PlannedOutcome) {
        let mut s = lock(&self.shared);
        s.reads_until_final = reads;
        s.outcome = outcome;
    }
    /// Link sessions created: (user id, request body).
    pub fn links(&self) -> Vec<(String, serde_json::Value)> {
        lock(&self.shared).links.clone()
    }
    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
    /// Every access token issued so far, revoked or not (to check none of them reaches a log).
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.shared).issued_log.clone()
    }
}

pub(crate) fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(
    shared: Arc<Mutex<Shared>>,
    req: axum::extract::Request,
) -> axum::response::Response {
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
            routes::route(&mut lock(&shared), &inc)
        }
        Some(f) => fault_response(&f).unwrap_or_else(|| routes::route(&mut lock(&shared), &inc)),
        None => routes::route(&mut lock(&shared), &inc),
    };
    lock(&shared)
        .requests
        .push(inc.record(resp.status().as_u16()));
    resp
}
