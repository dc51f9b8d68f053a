//! The aWATTar market-data API (`GET /v1/marketdata?start=&end=`), as documented at
//! https://www.awattar.de/services/api: a list of `{start_timestamp, end_timestamp, marketprice,
//! unit: "Eur/MWh"}` entries overlapping the asked span; without `start`/`end` the whole list it
//! holds (the real one answers the next 24 hours). A fair-use window (100 requests a day by default)
//! answers 429 with `Retry-After` beyond it; faults are injected per request.

use super::common::{Fault, Incoming, Journal, RateWindow, Recorded, Server, answer, json, lock};
use axum::http::StatusCode;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One published price: (start ms, end ms, €/MWh).
pub type Price = (i64, i64, f64);

struct Shared {
    prices: Vec<Price>,
    unit: String,
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

pub struct AwattarEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl AwattarEmulator {
    /// Serve `prices` on 127.0.0.1:0 until dropped.
    pub async fn start(prices: Vec<Price>) -> std::io::Result<AwattarEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            prices,
            unit: "Eur/MWh".into(),
            faults: VecDeque::new(),
            rate: RateWindow::new(100, Duration::from_secs(86_400)),
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| answer(s.clone(), req, route)).await?;
        Ok(AwattarEmulator { server, shared })
    }

    /// `[prices] base_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The next request gets `fault` instead of its answer.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared).faults.push_back(fault);
    }

    /// Publish more prices (tomorrow's list, after 14:00).
    pub fn publish(&self, more: &[Price]) {
        lock(&self.shared).prices.extend_from_slice(more);
    }

    /// Answer in another unit (a changed API must not be read as €/MWh).
    pub fn set_unit(&self, unit: &str) {
        lock(&self.shared).unit = unit.into();
    }

    /// Allow `max` requests per `window`.
    pub fn set_rate(&self, max: usize, window: Duration) {
        lock(&self.shared).rate = RateWindow::new(max, window);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
}

fn route(s: &mut Shared, inc: &Incoming) -> axum::response::Response {
    if let Err(secs) = s.rate.admit() {
        let mut r = json(
            StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({"error": "Too many requests"}),
        );
        r.headers_mut().insert("retry-after", secs.into());
        return r;
    }
    if inc.method != axum::http::Method::GET || inc.path != "/v1/marketdata" {
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "Not found"}),
        );
    }
    let num = |name: &str| inc.param(name).map(|v| v.parse::<i64>());
    let (start, end) = match (num("start"), num("end")) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": "start and end are epoch milliseconds"}),
            );
        }
        (s, e) => (
            s.and_then(Result::ok).unwrap_or(i64::MIN),
            e.and_then(Result::ok).unwrap_or(i64::MAX),
        ),
    };
    let data: Vec<serde_json::Value> = s
        .prices
        .iter()
        .filter(|(a, b, _)| *b > start && *a < end)
        .map(|(a, b, p)| {
            serde_json::json!({"start_timestamp": a, "end_timestamp": b, "marketprice": p, "unit": s.unit})
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"object": "list", "data": data, "url": "/de/v1/marketdata"}),
    )
}
