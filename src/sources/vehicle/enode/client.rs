//! The Enode HTTP client: client-credentials token, vehicle reads, link sessions, charge actions.
//!
//! Owns: [`EnodeClient`] (one per process, cheap to clone) and [`classify`] (Enode's problem+json
//! errors onto [`VendorError`]). Every API call carries a cached bearer token; a 401 drops that token,
//! fetches a new one and retries the call once. 429 and 5xx are returned classified (with
//! `Retry-After`) for the poller to back off: this client never loops on its own.
//! The client secret and tokens are exposed only where the request is built.

use super::wire;
use crate::sources::vehicle::http::{self, AccessToken, Answer, Issued, TokenCache};
use crate::vendor::{VendorError, classify_status};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

pub const VENDOR: &str = "enode";
/// The API version the parser (`wire.rs`) is written for, pinned with the `Enode-Version` header on
/// every API call: ENODE-SPEC `info.version` (vendor-apis.md §1.1, §2.10). Without it Enode answers
/// in the version the client was created with, where e.g. `location.id` does not exist yet.
/// The header name is reported by third-party clients, not in ENODE-SPEC itself (vendor-apis.md §1.1);
/// Enode's API reference page on versioning would confirm it. The Enode emulator records it.
pub const ENODE_VERSION: &str = "2024-10-01";
/// Page size for list endpoints (Enode's default is 50).
const PAGE_SIZE: &str = "50";
/// A list longer than this many pages is a server bug, not a garage.
const MAX_PAGES: usize = 100;

#[derive(Clone)]
pub struct EnodeClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api: Url,
    oauth: Url,
    client_id: String,
    secret: SecretString,
    tokens: TokenCache,
}

impl std::fmt::Debug for EnodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnodeClient")
            .field("api", &self.inner.api.as_str())
            .finish_non_exhaustive()
    }
}

/// Charge action kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeKind {
    Start,
    Stop,
}

impl ChargeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeKind::Start => "START",
            ChargeKind::Stop => "STOP",
        }
    }
}

impl EnodeClient {
    /// A client for the API at `api_url` with tokens from `oauth_url` (full token URL).
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        oauth_url: &str,
        client_id: &str,
        secret: SecretString,
    ) -> Result<EnodeClient, String> {
        let parse = |what: &str, u: &str| {
            Url::parse(u).map_err(|e| format!("{what} \"{u}\" is not a URL: {e}"))
        };
        Ok(EnodeClient {
            inner: Arc::new(Inner {
                http,
                api: parse("api_url", api_url)?,
                oauth: parse("oauth_url", oauth_url)?,
                client_id: client_id.to_string(),
                secret,
                tokens: TokenCache::new(),
            }),
        })
    }

    /// One vehicle (`GET /vehicles/{id}`).
    pub async fn vehicle(&self, id: &str) -> Result<wire::Vehicle, VendorError> {
        let a = self.call(Method::GET, &["vehicles", id], &[], None).await?;
        a.json(VENDOR, "vehicle")
    }

    /// Every vehicle of the client, or of one user, following the pagination cursors.
    pub async fn vehicles(&self, user: Option<&str>) -> Result<Vec<wire::Vehicle>, VendorError> {
        let path: Vec<&str> = match user {
            Some(u) => vec!["users", u, "vehicles"],
            None => vec!["vehicles"],
        };
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("pageSize", PAGE_SIZE.to_string())];
            if let Some(a) = &after {
                query.push(("after", a.clone()));
            }
            let a = self.call(Method::GET, &path, &query, None).await?;
            let page: wire::Page<wire::Vehicle> = a.json(VENDOR, "vehicle list")?;
            let empty = page.data.is_empty();
            out.extend(page.data);
            after = page
                .pagination
                .and_then(|p| p.after)
                .filter(|a| !a.is_empty());
            if after.is_none() || empty {
                return Ok(out);
            }
        }
        Err(VendorError::Protocol {
            vendor: VENDOR,
            detail: format!("vehicle list did not end after {MAX_PAGES} pages"),
        })
    }

    /// Create a link session for `user` (`POST /users/{userId}/link`).
    pub async fn link(
        &self,
        user: &str,
        req: &wire::LinkRequest,
    ) -> Result<wire::LinkResponse, VendorError> {
        let body = serde_json::to_value(req).map_err(|e| VendorError::Protocol {
            vendor: VENDOR,
            detail: e.to_string(),
        })?;
        let a = self
            .call(Method::POST, &["users", user, "link"], &[], Some(&body))
            .await?;
        a.json(VENDOR, "link session")
    }

    /// Ask Enode to start or stop charging (`POST /vehicles/{id}/charging`); the answer is an action to
    /// follow with [`EnodeClient::action`].
    pub async fn charging(
        &self,
        vehicle: &str,
        kind: ChargeKind,
    ) -> Result<wire::ChargeAction, VendorError> {
        let body = serde_json::json!({ "action": kind.as_str() });
        let a = self
            .call(
                Method::POST,
                &["vehicles", vehicle, "charging"],
                &[],
                Some(&body),
            )
            .await;
        let a = a.map_err(|e| charging_error(e, kind))?;
        a.json(VENDOR, "charge action")
    }

    /// Read a vehicle action (`GET /vehicles/actions/{id}`).
    pub async fn action(&self, id: &str) -> Result<wire::ChargeAction, VendorError> {
        let a = self
            .call(Method::GET, &["vehicles", "actions", id], &[], None)
            .await?;
        a.json(VENDOR, "charge action")
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty().extend(segments);
        }
        url
    }

    /// One API call with the cached token; a 401 refreshes the token and retries once.
    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, VendorError> {
        let url = self.url(path);
        let build = |token: &AccessToken| {
            let req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .query(query)
                .header("Enode-Version", ENODE_VERSION)
                .header(reqwest::header::AUTHORIZATION, token.bearer());
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        };
        let inspect = |a: &Answer| {
            tracing::debug!(vendor = VENDOR, %method, path = url.path(), status = a.status.as_u16(), "api call");
        };
        let a = (self.inner.tokens)
            .send_with(VENDOR, || self.fetch_token(), build, inspect)
            .await?;
        if a.status.is_success() {
            return Ok(a);
        }
        Err(classify(a.status, &a.headers, &a.body))
    }

    async fn fetch_token(&self) -> Result<Issued, VendorError> {
        let inner = &self.inner;
        let req = inner
            .http
            .post(inner.oauth.clone())
            .basic_auth(&inner.client_id, Some(inner.secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")]);
        let a = http::send(VENDOR, req).await?;
        tracing::debug!(vendor = VENDOR, status = a.status.as_u16(), "token request");
        if !a.status.is_success() {
            return Err(match classify(a.status, &a.headers, &a.body) {
                VendorError::Rejected { status, detail, .. }
                    if matches!(status, 400 | 401 | 403) =>
                {
                    VendorError::Auth {
                        vendor: VENDOR,
                        detail: format!("client id or secret refused (HTTP {status}): {detail}"),
                    }
                }
                VendorError::Auth { detail, .. } => VendorError::Auth {
                    vendor: VENDOR,
                    detail: format!(
                        "client id or secret refused: {detail}; check enode.client_id, the secret and \
                                     the environment (sandbox and production have separate credentials)"
                    ),
                },
                other => other,
            });
        }
        let t: wire::TokenResponse = a.json(VENDOR, "token answer")?;
        Ok(Issued::new(t.access_token, t.expires_in))
    }
}

/// Enode's problem+json onto the shared vocabulary; the detail is the problem's title and detail.
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> VendorError {
    let detail = match serde_json::from_slice::<wire::Problem>(body) {
        Ok(p) if p.title.is_some() || p.detail.is_some() => {
            let parts: Vec<String> = [p.title, p.detail].into_iter().flatten().collect();
            crate::vendor::excerpt(&parts.join(": "))
        }
        _ => http::describe_body(body),
    };
    match status.as_u16() {
        404 => VendorError::Rejected {
            vendor: VENDOR,
            status: 404,
            detail: format!(
                "not found: {detail} (check enode.vehicle_id with `sunplug enode vehicles`)"
            ),
        },
        _ => classify_status(VENDOR, status, headers, detail),
    }
}

/// The charging endpoint's 400 and 422 have their own meaning (vendor-apis.md §1.8).
fn charging_error(e: VendorError, kind: ChargeKind) -> VendorError {
    match e {
        VendorError::Rejected {
            status: 400,
            detail,
            ..
        } => VendorError::Unsupported {
            vendor: VENDOR,
            detail: format!(
                "{} refused: not capable, fully charged or already in that state ({detail})",
                kind.as_str()
            ),
        },
        VendorError::Rejected {
            status: 422,
            detail,
            ..
        } => VendorError::Rejected {
            vendor: VENDOR,
            status: 422,
            detail: format!(
                "an Enode schedule or smart charging controls this car: turn it off in the app that set it up \
                 ({detail})"
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_become_the_shared_vocabulary() {
        let h = HeaderMap::new();
        let body = br#"{"type":"https://developers.enode.com/api/problems/not-found","title":"Not Found","detail":"Vehicle not found"}"#;
        let e = classify(StatusCode::NOT_FOUND, &h, body);
        assert_eq!(e.kind(), "rejected");
        assert!(
            e.to_string().contains("Not Found: Vehicle not found"),
            "{e}"
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, &h, b"<html>").kind(),
            "transient"
        );
        assert!(
            classify(StatusCode::BAD_GATEWAY, &h, b"<html>")
                .to_string()
                .contains("<html>")
        );
        let e = charging_error(
            classify(StatusCode::UNPROCESSABLE_ENTITY, &h, b"{}"),
            ChargeKind::Start,
        );
        assert!(e.to_string().contains("smart charging"), "{e}");
        let e = charging_error(
            classify(StatusCode::BAD_REQUEST, &h, b"{}"),
            ChargeKind::Stop,
        );
        assert_eq!(e.kind(), "unsupported");
    }

    #[test]
    fn path_segments_are_escaped() {
        let c = EnodeClient::new(
            crate::vendor::http_client(Default::default()),
            "http://h/api/",
            "http://h/t",
            "id",
            "s".to_string().into(),
        )
        .unwrap();
        assert_eq!(
            c.url(&["users", "a b/c", "link"]).as_str(),
            "http://h/api/users/a%20b%2Fc/link"
        );
    }
}
