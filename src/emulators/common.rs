//! What the vehicle emulators share: serving on port 0, the request log, injected faults, rate limits.
//!
//! Owns: [`Server`] (an axum server on 127.0.0.1:0 that stops when dropped), [`Recorded`] (one request
//! as received), [`Fault`] (what to do to the next request instead of answering it properly),
//! [`RateWindow`] (requests per window → 429 with `Retry-After`), [`Incoming`] (a request read in full)
//! and small helpers (Basic auth, bearer tokens). Time is tokio's: paused tests move it.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Response, StatusCode};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One request as the emulator received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status the emulator answered with.
    pub status: u16,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to do to the next request instead of (or before) answering it properly.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status (500, 502, 503...) and a short body.
    Status(u16),
    /// 429, with `Retry-After` in seconds when given.
    RateLimited { retry_after: Option<u64> },
    /// Hold the answer this long first (beyond a client's timeout, it is a timeout).
    Delay(Duration),
    /// 200 with a body that is not JSON.
    Garbage,
    /// 401 whatever the token (as after a server-side revocation).
    Unauthorized,
}

/// A request read in full.
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Incoming {
    pub async fn read(req: axum::extract::Request) -> Incoming {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Incoming {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
        }
    }

    /// Path segments, percent-decoded.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// A query parameter, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        form_pairs(self.query.as_deref()?.as_bytes())
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The form body's fields.
    pub fn form(&self) -> Vec<(String, String)> {
        form_pairs(&self.body)
    }

    /// The bearer token, if any.
    pub fn bearer(&self) -> Option<String> {
        let v = self.headers.get("authorization")?.to_str().ok()?;
        v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
    }

    /// Basic auth (user, password), if any.
    pub fn basic(&self) -> Option<(String, String)> {
        let v = self.headers.get("authorization")?.to_str().ok()?;
        let decoded = base64_decode(v.strip_prefix("Basic ")?.trim())?;
        let text = String::from_utf8(decoded).ok()?;
        let (u, p) = text.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }

    pub fn record(&self, status: u16) -> Recorded {
        Recorded {
            method: self.method.to_string(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_string()))
                .collect(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
            status,
            at: Instant::now(),
        }
    }
}

fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 (with or without padding); `None` for anything else.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}

/// A JSON answer.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "application/json"
            .parse()
            .unwrap_or_else(|_| unreachable!()),
    );
    r
}

/// An answer without a body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// The answer a fault calls for (`Delay` is handled by the caller: it sleeps, then answers normally).
pub fn fault_response(f: &Fault) -> Option<Response<Body>> {
    let mut r = match f {
        Fault::Status(s) => Response::new(Body::from(format!(
            "<html><body>{s} emulated failure</body></html>"
        ))),
        Fault::RateLimited { .. } => Response::new(Body::from("{\"error\":\"too many requests\"}")),
        Fault::Garbage => Response::new(Body::from("\u{1}\u{2}<<garbage>> not json")),
        Fault::Unauthorized => Response::new(Body::from("{\"error\":\"unauthorized\"}")),
        Fault::Delay(_) => return None,
    };
    *r.status_mut() = match f {
        Fault::Status(s) => StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Fault::Unauthorized => StatusCode::UNAUTHORIZED,
        _ => StatusCode::OK,
    };
    if let Fault::RateLimited {
        retry_after: Some(s),
    } = f
    {
        r.headers_mut().insert("retry-after", (*s).into());
    }
    Some(r)
}

/// At most `max` requests per `window`; beyond that, 429 with the seconds until one is allowed.
#[derive(Debug, Clone)]
pub struct RateWindow {
    pub max: usize,
    pub window: Duration,
    seen: VecDeque<Instant>,
}

impl RateWindow {
    pub fn new(max: usize, window: Duration) -> RateWindow {
        RateWindow {
            max,
            window,
            seen: VecDeque::new(),
        }
    }

    /// Count a request now; `Err(retry_after_secs)` when it is over the limit.
    pub fn admit(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        while self
            .seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.seen.pop_front();
        }
        if self.seen.len() >= self.max {
            let oldest = self.seen.front().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.seen.push_back(now);
        Ok(())
    }

    /// Requests still allowed in the current window.
    pub fn remaining(&self) -> usize {
        let now = Instant::now();
        let used = self
            .seen
            .iter()
            .filter(|t| now.duration_since(**t) < self.window)
            .count();
        self.max.saturating_sub(used)
    }
}

/// The state every simple HTTP emulator keeps (aWATTar, Tibber, ENTSO-E, forecast.solar,
/// Open-Meteo): the faults a test queued and the requests it answered.
pub trait Journal: Send + 'static {
    fn faults(&mut self) -> &mut VecDeque<Fault>;
    fn requests(&mut self) -> &mut Vec<Recorded>;
}

/// The emulator's state, even after a test thread panicked holding it.
pub fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One request to a [`Journal`] emulator: the next queued fault if there is one (a delay waits, then
/// the request is answered; the others answer for it), otherwise `route`; recorded either way.
pub async fn answer<S: Journal>(
    shared: Arc<Mutex<S>>,
    req: axum::extract::Request,
    route: fn(&mut S, &Incoming) -> Response<Body>,
) -> Response<Body> {
    let inc = Incoming::read(req).await;
    let fault = lock(&shared).faults().pop_front();
    if let Some(Fault::Delay(d)) = fault {
        tokio::time::sleep(d).await;
    }
    let resp = match fault.as_ref().and_then(fault_response) {
        Some(r) => r,
        None => route(&mut lock(&shared), &inc),
    };
    lock(&shared)
        .requests()
        .push(inc.record(resp.status().as_u16()));
    resp
}

/// An emulator's HTTP server on 127.0.0.1:0. Dropping it stops the server.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl Server {
    /// Serve `handler` for every request.
    pub async fn start<F, Fut>(handler: F) -> std::io::Result<Server>
    where
        F: Fn(axum::extract::Request) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = axum::Router::new().fallback(handler);
        let signal = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::warn!(error = %e, "emulator server stopped");
            }
        });
        Ok(Server { addr, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders() {
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("!!").is_none());
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(
            form_pairs(b"grant_type=refresh_token&x=a+b%3D"),
            [
                ("grant_type".to_string(), "refresh_token".to_string()),
                ("x".to_string(), "a b=".to_string())
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_window_says_when_to_come_back() {
        let mut w = RateWindow::new(2, Duration::from_secs(60));
        assert!(w.admit().is_ok() && w.admit().is_ok());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(w.admit(), Err(40));
        tokio::time::advance(Duration::from_secs(40)).await;
        assert!(w.admit().is_ok());
    }
}
