//! The Cariad BFF HTTP client: refresh-token auth with rotation, `selectivestatus`, parking position.
//!
//! Owns: [`CariadClient`] and [`classify`]. The access token comes from the stored refresh token
//! (`grant_type=refresh_token`); when the answer carries a new refresh token it is saved (atomically)
//! before the access token is used. A 401 drops the access token and retries once. 200 and 207 are
//! both answers: per-job errors inside a 207 are the mapping's business. The account's remaining calls
//! (`Vcf-Remaining-Calls`) are kept for the pacer. This client never wakes the car.

use super::token_store::TokenStore;
use super::wire;
use crate::sources::vehicle::http::{self, AccessToken, Answer, Issued, TokenCache};
use crate::vendor::{VendorError, classify_status};
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{Arc, Mutex};

pub const VENDOR: &str = "cariad";
/// Where the remaining daily calls are announced.
pub const REMAINING_CALLS_HEADER: &str = "vcf-remaining-calls";

#[derive(Clone)]
pub struct CariadClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    token_url: Url,
    client_id: String,
    store: TokenStore,
    refresh: tokio::sync::Mutex<SecretString>,
    tokens: TokenCache,
    remaining_calls: Mutex<Option<u32>>,
}

impl std::fmt::Debug for CariadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CariadClient")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A `selectivestatus` answer.
#[derive(Debug)]
pub struct StatusAnswer {
    pub status: wire::SelectiveStatus,
    /// HTTP 207: some jobs failed; see each job.
    pub multi_status: bool,
}

impl CariadClient {
    /// A client for the BFF at `base_url`; the refresh token is read from `store` now.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        token_url: &str,
        client_id: &str,
        store: TokenStore,
    ) -> Result<CariadClient, String> {
        let parse = |what: &str, u: &str| {
            Url::parse(u).map_err(|e| format!("{what} \"{u}\" is not a URL: {e}"))
        };
        let refresh = store.load()?;
        Ok(CariadClient {
            inner: Arc::new(Inner {
                http,
                base: parse("base_url", base_url)?,
                token_url: parse("token_url", token_url)?,
                client_id: client_id.to_string(),
                store,
                refresh: tokio::sync::Mutex::new(refresh),
                tokens: TokenCache::new(),
                remaining_calls: Mutex::new(None),
            }),
        })
    }

    /// The stored refresh token's file.
    pub fn token_file(&self) -> &std::path::Path {
        self.inner.store.path()
    }

    /// The last `Vcf-Remaining-Calls` seen, taken (so each value is reported once).
    pub fn take_remaining_calls(&self) -> Option<u32> {
        self.inner
            .remaining_calls
            .lock()
            .map(|mut r| r.take())
            .unwrap_or(None)
    }

    /// `GET /vehicle/v1/vehicles/{vin}/selectivestatus?jobs=...` with the jobs in [`wire::JOBS`].
    pub async fn selective_status(&self, vin: &str) -> Result<StatusAnswer, VendorError> {
        let a = self
            .call(
                &["vehicle", "v1", "vehicles", vin, "selectivestatus"],
                &[("jobs", wire::JOBS.join(","))],
            )
            .await?;
        if !a.body.trim_ascii_start().starts_with(b"{") {
            return Err(VendorError::Protocol {
                vendor: VENDOR,
                detail: format!(
                    "selectivestatus: expected a JSON object, got {}",
                    http::describe_body(&a.body)
                ),
            });
        }
        let status = a.json(VENDOR, "selectivestatus")?;
        Ok(StatusAnswer {
            status,
            multi_status: a.status == StatusCode::MULTI_STATUS,
        })
    }

    /// `GET /vehicle/v1/vehicles/{vin}/parkingposition`: `None` while the car is driving (no body).
    pub async fn parking_position(
        &self,
        vin: &str,
    ) -> Result<Option<wire::ParkingData>, VendorError> {
        let a = self
            .call(&["vehicle", "v1", "vehicles", vin, "parkingposition"], &[])
            .await?;
        if a.status == StatusCode::NO_CONTENT || a.body.trim_ascii().is_empty() {
            return Ok(None);
        }
        let p: wire::ParkingPosition = a.json(VENDOR, "parkingposition")?;
        Ok(p.data)
    }

    async fn call(&self, path: &[&str], query: &[(&str, String)]) -> Result<Answer, VendorError> {
        let mut url = self.inner.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty().extend(path);
        }
        let build = |token: &AccessToken| {
            self.inner
                .http
                .get(url.clone())
                .query(query)
                .header(reqwest::header::AUTHORIZATION, token.bearer())
                .header(reqwest::header::ACCEPT, "application/json")
        };
        let inspect = |a: &Answer| {
            self.note_remaining_calls(&a.headers);
            tracing::debug!(vendor = VENDOR, status = a.status.as_u16(), "api call");
        };
        let a = (self.inner.tokens)
            .send_with(VENDOR, || self.refresh(), build, inspect)
            .await?;
        if a.status.is_success() {
            return Ok(a);
        }
        Err(classify(a.status, &a.headers, &a.body))
    }

    fn note_remaining_calls(&self, headers: &HeaderMap) {
        let n = headers
            .get(REMAINING_CALLS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        if let (Some(n), Ok(mut r)) = (n, self.inner.remaining_calls.lock()) {
            *r = Some(n);
        }
    }

    /// Exchange the refresh token; save a rotated one before anything uses it.
    async fn refresh(&self) -> Result<Issued, VendorError> {
        let inner = &self.inner;
        let mut refresh = inner.refresh.lock().await;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", inner.client_id.as_str()),
        ];
        let req = inner.http.post(inner.token_url.clone()).form(&form);
        let a = http::send(VENDOR, req).await?;
        tracing::debug!(vendor = VENDOR, status = a.status.as_u16(), "token refresh");
        if !a.status.is_success() {
            return Err(token_error(a.status, &a.headers, &a.body));
        }
        let t: wire::TokenResponse = a.json(VENDOR, "token answer")?;
        if let Some(new) = t
            .refresh_token
            .filter(|n| n.expose_secret() != refresh.expose_secret())
        {
            if let Err(e) = inner.store.save(&new) {
                // The old token is probably retired already: keep working, and say loudly what a restart needs.
                tracing::error!(vendor = VENDOR, file = %inner.store.path().display(), error = %e,
                    "could not save the rotated refresh token; after a restart a new one will be needed");
            } else {
                tracing::debug!(vendor = VENDOR, "refresh token rotated and saved");
            }
            *refresh = new;
        }
        Ok(Issued::new(t.access_token, t.expires_in))
    }
}

/// An API error onto the shared vocabulary.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> VendorError {
    let detail = http::describe_body(body);
    match status.as_u16() {
        404 => VendorError::Rejected {
            vendor: VENDOR,
            status: 404,
            detail: format!("not found: check cariad.vin ({detail})"),
        },
        403 => VendorError::Auth {
            vendor: VENDOR,
            detail: format!(
                "access refused (HTTP 403): the account may need to accept new terms in the app ({detail})"
            ),
        },
        _ => classify_status(VENDOR, status, headers, detail),
    }
}

/// What works per brand (vendor-apis.md §2.10, dated; docs/vehicles.md says the same): given with
/// every refused token and by `check-config`.
pub const BRAND_STATUS: &str = "since late May 2026 VW's token endpoint issues no usable refresh \
     tokens, so VW (and Skoda, Seat, Cupra) accounts cannot be used this way; a stored refresh token \
     works at best for Audi accounts whose token came from the device-code flow, and that flow has \
     been failing since September 2026 (docs/vehicles.md; Enode is the supported path)";

/// A token endpoint error: a refused refresh token is an operator action, not a retry loop.
fn token_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> VendorError {
    let oauth: wire::OAuthError = serde_json::from_slice(body).unwrap_or_default();
    let said = [oauth.error.as_deref(), oauth.error_description.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let said = if said.is_empty() {
        http::describe_body(body)
    } else {
        crate::vendor::excerpt(&said)
    };
    let relogin = format!(
        "obtain a new refresh token and put it in cariad.refresh_token_file; note: {BRAND_STATUS}"
    );
    match status.as_u16() {
        400 | 401 if said.contains("assertion") => VendorError::Auth {
            vendor: VENDOR,
            detail: format!(
                "the token endpoint wants app attestation ({said}): VW group restricts third-party logins since \
                 2026; {relogin}"
            ),
        },
        400 | 401 => VendorError::Auth {
            vendor: VENDOR,
            detail: format!("the refresh token was refused ({said}); {relogin}"),
        },
        403 => VendorError::Auth {
            vendor: VENDOR,
            detail: format!("the token endpoint refused this client (HTTP 403, {said}); {relogin}"),
        },
        _ => classify_status(VENDOR, status, headers, said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors_ask_for_a_new_login() {
        let h = HeaderMap::new();
        let e = token_error(
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"error":"invalid_grant","error_description":"expired"}"#,
        );
        assert_eq!(e.kind(), "auth");
        assert!(
            e.to_string().contains("invalid_grant: expired")
                && e.to_string().contains("docs/vehicles.md")
        );
        let e = token_error(
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"error":"invalid assertion headers"}"#,
        );
        assert!(e.to_string().contains("2026"), "{e}");
        for said in ["late May 2026", "Audi", "device-code", "September 2026"] {
            assert!(e.to_string().contains(said), "{said} missing: {e}");
        }
        assert_eq!(
            token_error(StatusCode::SERVICE_UNAVAILABLE, &h, b"").kind(),
            "transient"
        );
        assert_eq!(classify(StatusCode::NOT_FOUND, &h, b"").kind(), "rejected");
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &h, b"").kind(),
            "rate_limited"
        );
    }
}
