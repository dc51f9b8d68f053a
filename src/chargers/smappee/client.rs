//! The Smappee HTTP client: one method per endpoint, authenticated, classified onto [`VendorError`].
//!
//! Owns: [`SmappeeClient`] (cheap to clone; clones share the token cache, so a refresh runs once for
//! all of them) and [`ClientSettings`]. Every call gets a bearer token from [`Auth`]; an HTTP 401
//! renews the token (refresh, else a new login) and repeats the call once. Failures are classified in
//! [`SmappeeClient::classify`]: 429 is rate limited (with `Retry-After`), 5xx, 408, timeouts and broken
//! connections are transient, 401/403 are auth, other 4xx are rejections, a 2xx body that is not the
//! expected JSON is a protocol error. Quoted bodies are redacted and cut short.
//!
//! The base URL is injected (`[smappee] base_url`), so the same client talks to the emulator in tests.

use super::auth::{Auth, Credentials, VENDOR};
use super::mapping::{self, Station};
use super::token_file::TokenFile;
use super::wire::{
    MeteringConfiguration, ModeRequest, ServiceLocationList, Session, Sessions, SmartDevice,
};
use crate::clock::Clock;
use crate::vendor::{Timeouts, VendorError, classify_status, excerpt, http_client};
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use tracing::debug;

/// Where and how to reach the API.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Scheme and host, e.g. `https://app1pub.smappee.net` (or the emulator's address).
    pub base_url: String,
    pub timeouts: Timeouts,
    /// Where the token is persisted; `None` keeps it in memory only.
    pub token_dir: Option<std::path::PathBuf>,
}

/// The Smappee API client.
#[derive(Clone)]
pub struct SmappeeClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
}

impl fmt::Debug for SmappeeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmappeeClient")
            .field("base", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .finish()
    }
}

/// A raw answer: status, headers and body text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl SmappeeClient {
    /// A client for `settings.base_url`. Fails only on a base URL that is not a URL.
    pub fn new(
        settings: &ClientSettings,
        creds: Credentials,
        clock: Arc<dyn Clock>,
    ) -> Result<SmappeeClient, String> {
        let trimmed = settings.base_url.trim().trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                format!(
                    "[smappee] base_url \"{}\" is not an http(s) URL",
                    settings.base_url
                )
            })?;
        let http = http_client(settings.timeouts);
        let token_url = base
            .join("dev/v1/oauth2/token")
            .map_err(|e| e.to_string())?;
        let file = settings
            .token_dir
            .as_ref()
            .map(|d| TokenFile::in_dir(d, trimmed, &creds.client_id, &creds.username));
        let auth = Auth::new(http.clone(), token_url, creds, clock, file);
        Ok(SmappeeClient {
            inner: Arc::new(Inner { http, base, auth }),
        })
    }

    /// `<base>/dev/v3/<segments...>`, each segment percent-encoded.
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty().extend(["dev", "v3"]).extend(segments);
        }
        url
    }

    /// The URL of the mode endpoint for a connector.
    pub fn mode_url(&self, serial: &str, position: u8) -> Url {
        let pos = position.to_string();
        self.endpoint(&["chargingstations", serial, "connectors", &pos, "mode"])
    }

    /// The expiry of the token in use, if one was obtained or loaded.
    pub async fn token_expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.auth.expires_at().await
    }

    /// Mask every known secret in `text` (for messages that quote an answer).
    pub fn redact(&self, text: &str) -> String {
        self.inner.auth.redact(text)
    }

    /// `GET /servicelocation`.
    pub async fn service_locations(&self) -> Result<ServiceLocationList, VendorError> {
        self.get_json(self.endpoint(&["servicelocation"]), "service locations")
            .await
    }

    /// `GET /servicelocation/{id}/meteringconfiguration`.
    pub async fn metering_configuration(
        &self,
        location: i64,
    ) -> Result<MeteringConfiguration, VendorError> {
        let id = location.to_string();
        let url = self.endpoint(&["servicelocation", &id, "meteringconfiguration"]);
        self.get_json(url, "metering configuration").await
    }

    /// `GET /servicelocation/{id}/smartdevices/{deviceId}`.
    pub async fn smart_device(
        &self,
        location: i64,
        device: &str,
    ) -> Result<SmartDevice, VendorError> {
        let id = location.to_string();
        let url = self.endpoint(&["servicelocation", &id, "smartdevices", device]);
        self.get_json(url, "smart device").await
    }

    /// `GET /servicelocation/{id}/smartdevices`: every smart device of the location.
    pub async fn smart_devices(&self, location: i64) -> Result<Vec<SmartDevice>, VendorError> {
        let id = location.to_string();
        let url = self.endpoint(&["servicelocation", &id, "smartdevices"]);
        self.get_json(url, "smart devices").await
    }

    /// The id to read `station`'s connector state from: its smart device in the `/smartdevices`
    /// list, matched by the connector's uuid (`chargers[].id` only as the fallback, as smappee_ev
    /// does). A list that cannot be read (HTTP 4xx) or has no match falls back to the metering
    /// configuration's id, with a warning.
    pub async fn resolve_smart_device(
        &self,
        station: &Station,
    ) -> Result<Option<String>, VendorError> {
        let fallback = station.smart_device_id.clone();
        let list = match self.smart_devices(station.location_id).await {
            Ok(l) => l,
            Err(VendorError::Rejected { status, .. }) => {
                tracing::warn!(
                    "smappee: the smart device list cannot be read (HTTP {status}); using the metering \
                     configuration's connector id {}",
                    fallback.as_deref().unwrap_or("(none)")
                );
                return Ok(fallback);
            }
            Err(e) => return Err(e),
        };
        match mapping::smart_device_for(
            &list,
            station.connector_uuid.as_deref(),
            station.smart_device_id.as_deref(),
        ) {
            Some(d) => Ok(d.id.clone().or_else(|| d.uuid.clone()).or(fallback)),
            None => {
                tracing::warn!(
                    "smappee: no smart device with the connector's uuid {} among {} devices; using the \
                     metering configuration's connector id {}",
                    station.connector_uuid.as_deref().unwrap_or("(none)"),
                    list.len(),
                    fallback.as_deref().unwrap_or("(none)")
                );
                Ok(fallback)
            }
        }
    }

    /// `GET /chargingstations/{serial}/sessions?range=<from>&active=<bool>`: sessions started since
    /// `from` (the end of the range is left open).
    pub async fn sessions(
        &self,
        serial: &str,
        from: DateTime<Utc>,
        active: bool,
    ) -> Result<Vec<Session>, VendorError> {
        let mut url = self.endpoint(&["chargingstations", serial, "sessions"]);
        url.query_pairs_mut()
            .append_pair("range", &from.timestamp_millis().to_string())
            .append_pair("active", if active { "true" } else { "false" });
        let s: Sessions = self.get_json(url, "sessions").await?;
        Ok(s.into_vec())
    }

    /// `PUT /chargingstations/{serial}/connectors/{position}/mode`. Success is any 2xx.
    pub async fn set_mode(
        &self,
        serial: &str,
        position: u8,
        request: &ModeRequest,
    ) -> Result<(), VendorError> {
        let url = self.mode_url(serial, position);
        self.call(Method::PUT, url, Some(request.to_json()))
            .await
            .map(|_| ())
    }

    /// Map a failed answer onto the shared vocabulary. The body is redacted and cut short.
    pub fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> VendorError {
        let detail = if body.trim().is_empty() {
            "empty answer".to_string()
        } else {
            excerpt(&self.redact(body))
        };
        match status.as_u16() {
            401 => VendorError::Auth {
                vendor: VENDOR,
                detail: format!("the API refused a freshly renewed token (HTTP 401: {detail})"),
            },
            403 => VendorError::Auth {
                vendor: VENDOR,
                detail: format!(
                    "access denied (HTTP 403: {detail}): does the account own this station?"
                ),
            },
            _ => classify_status(VENDOR, status, headers, detail),
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T, VendorError> {
        let body = self.call(Method::GET, url, None).await?;
        serde_json::from_str(&body).map_err(|e| VendorError::Protocol {
            vendor: VENDOR,
            detail: format!(
                "the {what} answer is not the expected JSON (line {}, column {}): {}",
                e.line(),
                e.column(),
                excerpt(&self.redact(&body))
            ),
        })
    }

    /// One authenticated call; a 401 renews the token and repeats it once. Returns the 2xx body.
    async fn call(
        &self,
        method: Method,
        url: Url,
        json: Option<String>,
    ) -> Result<String, VendorError> {
        let auth = &self.inner.auth;
        let token = auth.bearer().await?;
        let mut answer = self.send(&method, &url, json.as_deref(), &token).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            debug!(
                "smappee: {method} {} answered 401: renewing the token",
                url.path()
            );
            let token = auth.unauthorized(&token).await?;
            answer = self.send(&method, &url, json.as_deref(), &token).await?;
        }
        if answer.status.is_success() {
            debug!(
                "smappee: {method} {} -> {}",
                url.path(),
                answer.status.as_u16()
            );
            Ok(answer.body)
        } else {
            Err(self.classify(answer.status, &answer.headers, &answer.body))
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &Url,
        json: Option<&str>,
        token: &SecretString,
    ) -> Result<Answer, VendorError> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| VendorError::Protocol {
                vendor: VENDOR,
                detail: "the access token has characters a header cannot carry".into(),
            })?;
        bearer.set_sensitive(true);
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, bearer);
        if let Some(body) = json {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let answer = crate::vendor::send(VENDOR, req).await?;
        let body = answer.text();
        Ok(Answer {
            status: answer.status,
            headers: answer.headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn client(base: &str) -> Result<SmappeeClient, String> {
        let creds = Credentials {
            client_id: "cid".into(),
            client_secret: SecretString::from("client-secret-xyz".to_string()),
            username: "me".into(),
            password: SecretString::from("password-xyz".to_string()),
        };
        let settings = ClientSettings {
            base_url: base.into(),
            timeouts: Timeouts::default(),
            token_dir: None,
        };
        SmappeeClient::new(&settings, creds, Arc::new(SystemClock))
    }

    #[test]
    fn endpoints_are_built_under_dev_v3_and_encoded() {
        let c = client("https://app1pub.smappee.net/").unwrap();
        assert_eq!(
            c.mode_url("5010000123", 2).as_str(),
            "https://app1pub.smappee.net/dev/v3/chargingstations/5010000123/connectors/2/mode"
        );
        assert_eq!(
            c.endpoint(&["servicelocation", "a b/c"]).as_str(),
            "https://app1pub.smappee.net/dev/v3/servicelocation/a%20b%2Fc"
        );
        let c = client("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            c.endpoint(&["servicelocation"]).as_str(),
            "http://127.0.0.1:8080/dev/v3/servicelocation"
        );
        assert!(client("app1pub.smappee.net").is_err());
        assert!(client("ftp://x").is_err());
    }

    #[test]
    fn classification_redacts_and_names_the_kind() {
        let c = client("http://127.0.0.1:1").unwrap();
        let h = HeaderMap::new();
        let e = c.classify(
            StatusCode::BAD_REQUEST,
            &h,
            r#"{"error":"bad limit","echo":"password-xyz"}"#,
        );
        assert_eq!(e.kind(), "rejected");
        let text = e.to_string();
        assert!(
            text.contains("bad limit") && !text.contains("password-xyz"),
            "{text}"
        );
        assert_eq!(
            c.classify(StatusCode::SERVICE_UNAVAILABLE, &h, "").kind(),
            "transient"
        );
        assert_eq!(c.classify(StatusCode::FORBIDDEN, &h, "no").kind(), "auth");
        assert!(!format!("{c:?}").contains("xyz"));
    }
}
