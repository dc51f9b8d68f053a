//! The one error vocabulary every vendor adapter speaks, and the HTTP plumbing they share.
//!
//! Owns: [`VendorError`] (what went wrong, in terms the daemon can act on without knowing the vendor),
//! [`classify_status`] (HTTP status → error kind, in one place), [`retry_after`] (the `Retry-After`
//! header), [`http_client`] (one reqwest client with bounded connect and total timeouts, rustls on ring),
//! [`send`] (the one request → status, headers and a body of at most [`MAX_BODY`] bytes, for every
//! vendor) and [`excerpt`] (a short, single-line piece of a body for error messages).
//!
//! Does not own: auth, token caches or endpoint calls; those live in each adapter's `client.rs`.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Why a vendor call failed, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VendorError {
    /// Network trouble, a timeout or a 5xx: try again later with backoff.
    #[error("{vendor}: temporary failure: {detail}")]
    Transient {
        vendor: &'static str,
        detail: String,
    },
    /// The vendor asked us to slow down (429). Wait at least `retry_after` when given.
    #[error("{vendor}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        vendor: &'static str,
        retry_after: Option<Duration>,
    },
    /// Credentials were refused, even after a refresh/re-login. A person must fix the config or re-link.
    #[error("{vendor}: authentication failed: {detail}")]
    Auth {
        vendor: &'static str,
        detail: String,
    },
    /// The vendor refused the request itself (HTTP 400/404/422...). Retrying the same request is pointless.
    #[error("{vendor}: request rejected (HTTP {status}): {detail}")]
    Rejected {
        vendor: &'static str,
        status: u16,
        detail: String,
    },
    /// The device or account cannot do this (capability missing, DC station with a limit...).
    #[error("{vendor}: not supported: {detail}")]
    Unsupported {
        vendor: &'static str,
        detail: String,
    },
    /// The car is asleep or offline; its data will come later. Not an error of ours.
    #[error("{vendor}: vehicle asleep or unreachable")]
    Asleep { vendor: &'static str },
    /// The answer made no sense (not JSON, wrong shape, impossible values).
    #[error("{vendor}: unexpected answer: {detail}")]
    Protocol {
        vendor: &'static str,
        detail: String,
    },
}

impl VendorError {
    /// Whether repeating the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            VendorError::Transient { .. }
                | VendorError::RateLimited { .. }
                | VendorError::Asleep { .. }
        )
    }

    /// The wait the vendor asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            VendorError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-friendly name of the kind, for logs, metrics and MQTT state.
    pub fn kind(&self) -> &'static str {
        match self {
            VendorError::Transient { .. } => "transient",
            VendorError::RateLimited { .. } => "rate_limited",
            VendorError::Auth { .. } => "auth",
            VendorError::Rejected { .. } => "rejected",
            VendorError::Unsupported { .. } => "unsupported",
            VendorError::Asleep { .. } => "asleep",
            VendorError::Protocol { .. } => "protocol",
        }
    }

    /// Classify a failure of the request itself (no HTTP status): timeouts and connection errors are
    /// transient, a body that does not decode is a protocol error. The message never contains the URL's
    /// query (tokens sometimes travel there), only the kind of failure.
    pub fn from_reqwest(vendor: &'static str, err: &reqwest::Error) -> VendorError {
        if err.is_decode() {
            return VendorError::Protocol {
                vendor,
                detail: "response body could not be decoded".into(),
            };
        }
        let what = if err.is_timeout() {
            "timed out"
        } else if is_certificate_failure(err) {
            "the server's TLS certificate was not accepted"
        } else if err.is_connect() {
            "could not connect"
        } else if err.is_body() {
            "connection broke while reading the response"
        } else {
            "request failed"
        };
        let host = err
            .url()
            .and_then(|u| u.host_str().map(|h| format!(" ({h})")))
            .unwrap_or_default();
        VendorError::Transient {
            vendor,
            detail: format!("{what}{host}"),
        }
    }
}

/// Whether a failure's cause chain is a TLS certificate rejection (reqwest reports it as a connect
/// error, which would read "could not connect" and send the user to check the network).
pub(crate) fn is_certificate_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        let t = e.to_string().to_ascii_lowercase();
        if t.contains("certificate") || t.contains("unknownissuer") || t.contains("notvalidforname")
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Map a non-success HTTP status onto the vocabulary, following the usual retry rules: 408, 429 and
/// 5xx are worth retrying; 401/403 are auth; other 4xx are rejections. `detail` is a short excerpt of
/// the body (see [`excerpt`]).
pub fn classify_status(
    vendor: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    detail: String,
) -> VendorError {
    match status.as_u16() {
        429 => VendorError::RateLimited {
            vendor,
            retry_after: retry_after(headers),
        },
        401 | 403 => VendorError::Auth { vendor, detail },
        408 | 500..=599 => VendorError::Transient {
            vendor,
            detail: format!("HTTP {}: {detail}", status.as_u16()),
        },
        s => VendorError::Rejected {
            vendor,
            status: s,
            detail,
        },
    }
}

/// `Retry-After` in seconds (the form every vendor here uses). An HTTP date is not worth a clock read
/// in an adapter; it yields `None` and the caller's own backoff applies.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// At most `MAX` characters of `body` on one line, for error messages and logs.
pub fn excerpt(body: &str) -> String {
    const MAX: usize = 160;
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() <= MAX {
        trimmed.to_string()
    } else {
        let cut: String = trimmed.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Connect and total timeouts for vendor calls.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(15),
        }
    }
}

/// The crate's TLS provider (ring), installed once per process. Lighter to build than aws-lc.
pub fn install_crypto_provider() {
    // Err means a provider is already installed (by us or the embedding program): fine either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// One HTTP client for a vendor, with bounded timeouts and no redirects to other hosts' auth.
pub fn http_client(timeouts: Timeouts) -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.total)
        .user_agent(concat!("sunplug/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The largest body a vendor API may send us; anything bigger is a protocol error, not a memory leak.
pub const MAX_BODY: usize = 4 << 20;

/// A response, read in full.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decode the body as `T`, or say it is not what the API documents.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        vendor: &'static str,
        what: &str,
    ) -> Result<T, VendorError> {
        serde_json::from_slice(&self.body).map_err(|e| VendorError::Protocol {
            vendor,
            detail: format!("{what}: {} ({e})", describe_body(&self.body)),
        })
    }
}

/// A short description of a body for errors: an excerpt, or its size when it is not text.
pub fn describe_body(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok("") => "empty body".into(),
        Ok(t) => format!("body \"{}\"", crate::vendor::excerpt(t)),
        Err(_) => format!("{} bytes of binary", body.len()),
    }
}

/// Send `req` and read the answer, at most [`MAX_BODY`] bytes of it.
pub async fn send(
    vendor: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, VendorError> {
    let mut resp = req
        .send()
        .await
        .map_err(|e| VendorError::from_reqwest(vendor, &e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| VendorError::from_reqwest(vendor, &e))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(VendorError::Protocol {
                vendor,
                detail: format!("answer larger than {} MiB", MAX_BODY >> 20),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_certificate_rejection_is_found_in_the_cause_chain() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error trying to connect")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let cert = Outer(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        assert!(is_certificate_failure(&cert));
        let refused = Outer(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(!is_certificate_failure(&refused));
    }
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    #[test]
    fn statuses_map_to_kinds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("42"));
        let e = classify_status("x", StatusCode::TOO_MANY_REQUESTS, &h, String::new());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(42)));
        assert!(e.is_retryable());
        let h = HeaderMap::new();
        assert_eq!(
            classify_status("x", StatusCode::UNAUTHORIZED, &h, "no".into()).kind(),
            "auth"
        );
        assert_eq!(
            classify_status("x", StatusCode::BAD_GATEWAY, &h, "".into()).kind(),
            "transient"
        );
        let bad = classify_status("x", StatusCode::BAD_REQUEST, &h, "limit".into());
        assert_eq!(bad.kind(), "rejected");
        assert!(!bad.is_retryable());
    }

    #[test]
    fn retry_after_ignores_garbage() {
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("-5"));
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        assert_eq!(excerpt("a\nb\tc"), "a b c");
        let long = "x".repeat(500);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), 161);
        assert!(e.ends_with('…'));
    }
}
