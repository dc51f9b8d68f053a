//! Tibber's GraphQL API (`POST /v1-beta/gql`), as its developer docs describe it
//! (https://developer.tibber.com/docs/reference and the changelog): `viewer.homes[].currentSubscription
//! .priceInfo(resolution: HOURLY | QUARTER_HOURLY) { today tomorrow }` with `total`, `energy`, `tax`,
//! `startsAt` (local time with its offset, e.g. `2026-06-01T00:00:00.000+02:00`) and `currency`;
//! without the argument the list is hourly. A wrong token answers HTTP 200 with
//! `errors[].extensions.code = "UNAUTHENTICATED"` (the behaviour since 2025-01-03); more than 100
//! requests per 5 minutes answer 429 with `Retry-After`. The account has two homes: one without a
//! contract (`currentSubscription: null`) listed first, then [`HOME_ID`]. Today is the local date the
//! test sets; tomorrow's list is empty until its prices are published. Faults are injected per request.

use super::common::{Fault, Incoming, Journal, RateWindow, Recorded, Server, answer, json, lock};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json as j};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The id of the home with a contract.
pub const HOME_ID: &str = "96a14971-525a-4420-aae9-e5aedaa129ff";
/// The id of the home without one.
pub const EMPTY_HOME_ID: &str = "68e6938b-91a6-4199-a0d4-f24c22be87bb";

/// One quarter hour's price: start (UTC), energy, tax (per kWh); total = energy + tax.
pub type Quarter = (DateTime<Utc>, f64, f64);

struct Shared {
    token: String,
    tz: Tz,
    today: NaiveDate,
    quarters: Vec<Quarter>,
    currency: String,
    faults: VecDeque<Fault>,
    rate: RateWindow,
    requests: Vec<Recorded>,
}

impl Journal for Shared {
    fn faults(&mut self) -> &mut VecDeque<Fault> {
        &mut self.faults
    }
    fn requests(&mut self) -> &mut Vec<Recorded> {
        &mut self.requests
    }
}

pub struct TibberEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl TibberEmulator {
    /// Serve `quarters` to `token` on 127.0.0.1:0 until dropped; the home is in `tz` and today is
    /// `today` there.
    pub async fn start(
        token: &str,
        tz: Tz,
        today: NaiveDate,
        quarters: Vec<Quarter>,
    ) -> std::io::Result<TibberEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            token: token.into(),
            tz,
            today,
            quarters,
            currency: "EUR".into(),
            faults: VecDeque::new(),
            rate: RateWindow::new(100, std::time::Duration::from_secs(300)),
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| answer(s.clone(), req, route)).await?;
        Ok(TibberEmulator { server, shared })
    }

    /// `[prices] base_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared).faults.push_back(fault);
    }

    /// Publish more prices (tomorrow's, in the afternoon).
    pub fn publish(&self, more: &[Quarter]) {
        lock(&self.shared).quarters.extend_from_slice(more);
    }

    pub fn set_currency(&self, c: &str) {
        lock(&self.shared).currency = c.into();
    }

    pub fn set_rate(&self, max: usize, window: std::time::Duration) {
        lock(&self.shared).rate = RateWindow::new(max, window);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
}

fn gql_error(message: &str, code: &str) -> Value {
    j!({"errors": [{"message": message, "locations": [], "path": [], "extensions": {"code": code}}], "data": null})
}

fn route(s: &mut Shared, inc: &Incoming) -> axum::response::Response {
    if let Err(secs) = s.rate.admit() {
        let mut r = json(
            StatusCode::TOO_MANY_REQUESTS,
            &gql_error("Too Many Requests", "RATE_LIMIT_EXCEEDED"),
        );
        r.headers_mut().insert("retry-after", secs.into());
        return r;
    }
    if inc.method != axum::http::Method::POST || inc.path != "/v1-beta/gql" {
        return json(StatusCode::NOT_FOUND, &j!({"error": "Not found"}));
    }
    if inc.bearer().as_deref() != Some(s.token.as_str()) {
        return json(
            StatusCode::OK,
            &gql_error("Context creation failed: invalid token", "UNAUTHENTICATED"),
        );
    }
    let Some(query) = serde_json::from_slice::<Value>(&inc.body)
        .ok()
        .and_then(|v| v.get("query").and_then(Value::as_str).map(str::to_string))
    else {
        return json(
            StatusCode::BAD_REQUEST,
            &gql_error("Must provide query string.", "BAD_USER_INPUT"),
        );
    };
    if !query.contains("priceInfo") {
        return json(
            StatusCode::OK,
            &gql_error(
                "this emulator answers priceInfo only",
                "GRAPHQL_VALIDATION_FAILED",
            ),
        );
    }
    let quarterly = query.contains("QUARTER_HOURLY");
    let day = |d: NaiveDate| list(s, d, quarterly);
    let tomorrow = s.today.succ_opt().unwrap_or(s.today);
    let info = j!({"today": day(s.today), "tomorrow": day(tomorrow)});
    json(
        StatusCode::OK,
        &j!({"data": {"viewer": {"homes": [
            {"id": EMPTY_HOME_ID, "currentSubscription": null},
            {"id": HOME_ID, "currentSubscription": {"priceInfo": info}}
        ]}}}),
    )
}

/// The prices of local day `d`: every quarter, or hourly means of whole hours.
fn list(s: &Shared, d: NaiveDate, quarterly: bool) -> Vec<Value> {
    let midnight = |d: NaiveDate| {
        s.tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    let Some(start) = midnight(d) else {
        return Vec::new();
    };
    let end = midnight(d.succ_opt().unwrap_or(d)).unwrap_or(start + Duration::days(1));
    let mut q: Vec<&Quarter> = s
        .quarters
        .iter()
        .filter(|(t, _, _)| *t >= start && *t < end)
        .collect();
    q.sort_by_key(|(t, _, _)| *t);
    let entry = |t: DateTime<Utc>, energy: f64, tax: f64| {
        j!({
            "total": ((energy + tax) * 1e4).round() / 1e4,
            "energy": energy,
            "tax": tax,
            "startsAt": t.with_timezone(&s.tz).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
            "currency": s.currency,
        })
    };
    if quarterly {
        return q.iter().map(|(t, e, x)| entry(*t, *e, *x)).collect();
    }
    q.chunk_by(|a, b| a.0.timestamp() / 3600 == b.0.timestamp() / 3600)
        .filter(|h| h.len() == 4)
        .map(|h| {
            let n = h.len() as f64;
            entry(
                h[0].0,
                h.iter().map(|x| x.1).sum::<f64>() / n,
                h.iter().map(|x| x.2).sum::<f64>() / n,
            )
        })
        .collect()
}
