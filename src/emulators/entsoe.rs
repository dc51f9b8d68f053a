//! The ENTSO-E transparency platform's day-ahead prices (`GET /api?documentType=A44&...`), as its
//! RESTful API guide describes them
//! (https://transparency.entsoe.eu/content/static_content/Static%20content/web%20api/Guide.html, 4.2.10
//! "Day Ahead Prices [12.1.D]"; the commented sample in gitlab.entsoe.eu/transparency/xml-examples):
//! a `Publication_MarketDocument` (namespace `...publicationdocument:7:3`) with one `TimeSeries` per
//! market day (23:00Z or 22:00Z to the next), prices in EUR per MWH, curve type A03: a position whose
//! price equals the one before is left out, as the platform sends them. No data for the period or
//! the zone answers 200 with an `Acknowledgement_MarketDocument` (reason 999, "No matching data
//! found ..."); a bad parameter answers 400 with one; a wrong `securityToken` answers 401 with the
//! platform's HTML page. Beyond 400 requests a minute: 429 with `Retry-After`.

use super::common::{Fault, Incoming, Journal, RateWindow, Recorded, Server, answer, lock};
use axum::body::Body;
use axum::http::{Response, StatusCode};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// One market day: its start (UTC), step and prices (€/MWh), one per step.
#[derive(Debug, Clone)]
pub struct Day {
    pub start: DateTime<Utc>,
    pub step: Duration,
    pub prices: Vec<f64>,
}

impl Day {
    pub fn end(&self) -> DateTime<Utc> {
        self.start + self.step * self.prices.len() as i32
    }
}

struct Shared {
    token: String,
    eic: String,
    days: Vec<Day>,
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

pub struct EntsoeEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl EntsoeEmulator {
    /// Serve `days` of the zone `eic` to `token` on 127.0.0.1:0 until dropped.
    pub async fn start(token: &str, eic: &str, days: Vec<Day>) -> std::io::Result<EntsoeEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            token: token.into(),
            eic: eic.into(),
            days,
            faults: VecDeque::new(),
            rate: RateWindow::new(400, std::time::Duration::from_secs(60)),
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| answer(s.clone(), req, route)).await?;
        Ok(EntsoeEmulator { server, shared })
    }

    /// `[prices] base_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared).faults.push_back(fault);
    }

    /// Publish another day (tomorrow's, after the auction).
    pub fn publish(&self, day: Day) {
        lock(&self.shared).days.push(day);
    }

    pub fn set_rate(&self, max: usize, window: std::time::Duration) {
        lock(&self.shared).rate = RateWindow::new(max, window);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
}

fn xml(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = "text/xml".parse() {
        r.headers_mut().insert("content-type", v);
    }
    r
}

/// An acknowledgement with reason `code` and `text`.
pub fn acknowledgement(code: &str, text: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Acknowledgement_MarketDocument \
         xmlns=\"urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0\">\n  <mRID>7d1e1b7a-ack</mRID>\n  \
         <createdDateTime>2026-06-01T18:00:00Z</createdDateTime>\n  \
         <sender_MarketParticipant.mRID codingScheme=\"A01\">10X1001A1001A450</sender_MarketParticipant.mRID>\n  \
         <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>\n  \
         <receiver_MarketParticipant.mRID codingScheme=\"A01\">10X1001A1001A450</receiver_MarketParticipant.mRID>\n  \
         <receiver_MarketParticipant.marketRole.type>A39</receiver_MarketParticipant.marketRole.type>\n  \
         <Reason>\n    <code>{code}</code>\n    <text>{text}</text>\n  </Reason>\n</Acknowledgement_MarketDocument>\n"
    )
}

fn route(s: &mut Shared, inc: &Incoming) -> Response<Body> {
    if let Err(secs) = s.rate.admit() {
        let mut r = xml(
            StatusCode::TOO_MANY_REQUESTS,
            "<html><body>Too many requests</body></html>".into(),
        );
        r.headers_mut().insert("retry-after", secs.into());
        return r;
    }
    if inc.path != "/api" {
        return xml(
            StatusCode::NOT_FOUND,
            "<html><body>Not found</body></html>".into(),
        );
    }
    if inc.param("securityToken").as_deref() != Some(s.token.as_str()) {
        return xml(
            StatusCode::UNAUTHORIZED,
            "<html><head><title>Unauthorized</title></head><body><h1>Unauthorized</h1></body></html>".into(),
        );
    }
    let bad = |text: &str| xml(StatusCode::BAD_REQUEST, acknowledgement("999", text));
    if inc.param("documentType").as_deref() != Some("A44") {
        return bad(
            "The combination of [documentType] is not valid, or the requested data is not allowed to be fetched via this service.",
        );
    }
    let (inn, out) = (inc.param("in_Domain"), inc.param("out_Domain"));
    if inn.is_none() || inn != out {
        return bad(
            "Mandatory parameters in_Domain and out_Domain must be the same bidding zone for A44.",
        );
    }
    let period = |name: &str| {
        inc.param(name)
            .and_then(|v| NaiveDateTime::parse_from_str(&v, "%Y%m%d%H%M").ok())
            .map(|t| t.and_utc())
    };
    let (Some(from), Some(to)) = (period("periodStart"), period("periodEnd")) else {
        return bad("periodStart and periodEnd are mandatory, as yyyyMMddHHmm.");
    };
    let days: Vec<&Day> = s
        .days
        .iter()
        .filter(|d| inn.as_deref() == Some(s.eic.as_str()) && d.start < to && d.end() > from)
        .collect();
    if days.is_empty() {
        return xml(
            StatusCode::OK,
            acknowledgement(
                "999",
                &format!(
                    "No matching data found for Data item Day-ahead Prices [12.1.D] ({0}, {0}) and interval {1}/{2}.",
                    inn.unwrap_or_default(),
                    from.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                    to.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                ),
            ),
        );
    }
    xml(StatusCode::OK, document(&s.eic, &days))
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%MZ").to_string()
}

/// The price document of `days`, compressed as the platform sends A03 curves.
pub fn document(eic: &str, days: &[&Day]) -> String {
    let first = days.iter().map(|d| d.start).min().unwrap_or_default();
    let last = days.iter().map(|d| d.end()).max().unwrap_or_default();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Publication_MarketDocument \
         xmlns=\"urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3\">\n  <mRID>67528d12b93146ee8254870e5a2f78ab</mRID>\n  \
         <revisionNumber>1</revisionNumber>\n  <type>A44</type>\n  \
         <sender_MarketParticipant.mRID codingScheme=\"A01\">10X1001A1001A450</sender_MarketParticipant.mRID>\n  \
         <sender_MarketParticipant.marketRole.type>A32</sender_MarketParticipant.marketRole.type>\n  \
         <receiver_MarketParticipant.mRID codingScheme=\"A01\">10X1001A1001A450</receiver_MarketParticipant.mRID>\n  \
         <receiver_MarketParticipant.marketRole.type>A33</receiver_MarketParticipant.marketRole.type>\n  \
         <createdDateTime>2026-06-01T12:30:44Z</createdDateTime>\n  \
         <period.timeInterval>\n    <start>{}</start>\n    <end>{}</end>\n  </period.timeInterval>\n",
        stamp(first),
        stamp(last)
    );
    for (i, d) in days.iter().enumerate() {
        let res = format!("PT{}M", d.step.num_minutes());
        let _ = write!(
            out,
            "  <TimeSeries>\n    <mRID>{}</mRID>\n    <auction.type>A01</auction.type>\n    <businessType>A62</businessType>\n    \
             <in_Domain.mRID codingScheme=\"A01\">{eic}</in_Domain.mRID>\n    <out_Domain.mRID codingScheme=\"A01\">{eic}</out_Domain.mRID>\n    \
             <contract_MarketAgreement.type>A01</contract_MarketAgreement.type>\n    <currency_Unit.name>EUR</currency_Unit.name>\n    \
             <price_Measure_Unit.name>MWH</price_Measure_Unit.name>\n    <curveType>A03</curveType>\n    <Period>\n      \
             <timeInterval>\n        <start>{}</start>\n        <end>{}</end>\n      </timeInterval>\n      <resolution>{res}</resolution>\n",
            i + 1,
            stamp(d.start),
            stamp(d.end())
        );
        let mut prev = None;
        for (k, p) in d.prices.iter().enumerate() {
            if prev == Some(*p) {
                continue;
            }
            prev = Some(*p);
            let _ = write!(
                out,
                "      <Point>\n        <position>{}</position>\n        <price.amount>{p}</price.amount>\n      </Point>\n",
                k + 1
            );
        }
        out.push_str("    </Period>\n  </TimeSeries>\n");
    }
    out.push_str("</Publication_MarketDocument>\n");
    out
}
