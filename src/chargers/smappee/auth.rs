//! Smappee OAuth: the password grant for the first token, the refresh_token grant afterwards, and a
//! token cache that refreshes ahead of expiry.
//!
//! Owns: [`Credentials`] and [`Auth`] (the cache: one refresh at a time, behind a tokio mutex); the
//! token and its renewal rule are in `token.rs`, the token file in `token_file.rs`. Rules:
//! - `expires_in` is trusted as sent (36000 and 86400 both occur) up to a year, and the arithmetic
//!   saturates; the token is renewed once less than a tenth of its life (at most 10 minutes, at
//!   least 1 minute) is left;
//! - a refused refresh token (HTTP 400/401) falls back to the password grant, once; a transient
//!   failure does not (the refresh token may still be good) and the current token is kept while valid;
//! - a rotated refresh token replaces the old one; an answer without one keeps the old one;
//! - before renewing, the token file is read again: another sunplug process (the CLI next to the
//!   service) may already have renewed, which invalidated our refresh token;
//! - secrets never reach a log line or an error: bodies are redacted with [`Auth::redact`] before they
//!   are quoted, and `Debug` of every type here hides them.

use super::redact::Redactor;
pub use super::token::Token;
use super::token::expiry;
use super::token_file::TokenFile;
use super::wire::{OAuthError, TokenResponse};
use crate::clock::Clock;
use crate::vendor::{VendorError, classify_status, excerpt};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use tracing::{debug, info, warn};

pub const VENDOR: &str = "smappee";

/// When the answer has no usable `expires_in`.
const FALLBACK_LIFETIME_S: f64 = 3600.0;

/// The account and API client. Only `client_id` and `username` are shown by `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
    pub username: String,
    pub password: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

enum Grant {
    Password,
    Refresh(SecretString),
}

/// The token cache. Cheap to share behind the client's `Arc`.
pub struct Auth {
    http: reqwest::Client,
    token_url: reqwest::Url,
    creds: Credentials,
    clock: Arc<dyn Clock>,
    file: Option<TokenFile>,
    /// `None` until the first use (then loaded from the file, or obtained).
    state: tokio::sync::Mutex<Option<Token>>,
    /// Secrets to mask in any text we quote: the password, the client secret, recent tokens.
    known: Redactor,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("token_url", &self.token_url.as_str())
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(
        http: reqwest::Client,
        token_url: reqwest::Url,
        creds: Credentials,
        clock: Arc<dyn Clock>,
        file: Option<TokenFile>,
    ) -> Auth {
        let known = Redactor::new(&[creds.password.clone(), creds.client_secret.clone()]);
        Auth {
            http,
            token_url,
            creds,
            clock,
            file,
            state: tokio::sync::Mutex::new(None),
            known,
        }
    }

    pub fn username(&self) -> &str {
        &self.creds.username
    }

    /// A token to send now: the cached one, or a renewed one when due. A renewal that fails for a
    /// passing reason (network, 5xx) keeps the current token while it is still valid.
    pub async fn bearer(&self) -> Result<SecretString, VendorError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if state.is_none() {
            *state = self.load_file(now);
        }
        if let Some(t) = state.as_ref().filter(|t| !t.renew_due(now)) {
            return Ok(t.access.clone());
        }
        match self.renew(&mut state, now).await {
            Ok(t) => Ok(t),
            Err(e) => match state.as_ref() {
                Some(t) if e.is_retryable() && !t.expired(now) => {
                    warn!("smappee: token renewal failed ({e}); the current token is still valid");
                    Ok(t.access.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// The API refused `rejected` (HTTP 401): renew now whatever its expiry says, unless another
    /// caller already replaced it.
    pub async fn unauthorized(&self, rejected: &SecretString) -> Result<SecretString, VendorError> {
        let mut state = self.state.lock().await;
        if let Some(t) = state.as_ref().filter(|t| !t.same_access(rejected)) {
            return Ok(t.access.clone());
        }
        let now = self.clock.now();
        info!("smappee: the API refused the access token; renewing it");
        self.renew(&mut state, now).await
    }

    /// The current token's expiry, if any (for status output).
    pub async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.state.lock().await.as_ref().map(|t| t.expires_at)
    }

    /// `text` with every secret this client knows masked (see [`Redactor`]).
    pub fn redact(&self, text: &str) -> String {
        self.known.redact(text)
    }

    fn remember(&self, t: &Token) {
        self.known.remember(&t.access);
        if let Some(r) = &t.refresh {
            self.known.remember(r);
        }
    }

    fn load_file(&self, now: DateTime<Utc>) -> Option<Token> {
        let t = self.file.as_ref()?.load()?;
        if t.expired(now) && t.refresh.is_none() {
            return None;
        }
        self.remember(&t);
        debug!(
            "smappee: using the stored token (valid until {})",
            t.expires_at
        );
        Some(t)
    }

    fn install(&self, state: &mut Option<Token>, t: Token) -> SecretString {
        self.remember(&t);
        if let Some(f) = &self.file {
            f.save(&t);
        }
        let access = t.access.clone();
        *state = Some(t);
        access
    }

    async fn renew(
        &self,
        state: &mut Option<Token>,
        now: DateTime<Utc>,
    ) -> Result<SecretString, VendorError> {
        // Another process may have renewed already (and thereby spent our refresh token).
        if let Some(stored) = self.file.as_ref().and_then(|f| f.load()) {
            let newer = state
                .as_ref()
                .is_none_or(|t| !t.same_access(&stored.access) && stored.expires_at > t.expires_at);
            if newer && !stored.renew_due(now) {
                debug!("smappee: adopting the token another sunplug process stored");
                self.remember(&stored);
                let access = stored.access.clone();
                *state = Some(stored);
                return Ok(access);
            }
        }
        let refresh = state.as_ref().and_then(|t| t.refresh.clone());
        if let Some(refresh) = refresh {
            let previous = state.as_ref().map(|t| t.refresh.clone());
            match self.grant(Grant::Refresh(refresh), now).await {
                Ok(mut t) => {
                    if t.refresh.is_none() {
                        t.refresh = previous.flatten();
                    }
                    debug!("smappee: token refreshed (valid until {})", t.expires_at);
                    return Ok(self.install(state, t));
                }
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => info!("smappee: refresh refused ({e}); logging in again"),
            }
        }
        let t = self.grant(Grant::Password, now).await?;
        info!(
            "smappee: logged in as {} (token valid until {})",
            self.creds.username, t.expires_at
        );
        Ok(self.install(state, t))
    }

    async fn grant(&self, grant: Grant, now: DateTime<Utc>) -> Result<Token, VendorError> {
        let c = &self.creds;
        let (what, form) = match &grant {
            Grant::Password => (
                "login",
                vec![
                    ("grant_type", "password"),
                    ("client_id", c.client_id.as_str()),
                    ("client_secret", c.client_secret.expose_secret()),
                    ("username", c.username.as_str()),
                    ("password", c.password.expose_secret()),
                ],
            ),
            Grant::Refresh(r) => (
                "token refresh",
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", r.expose_secret()),
                    ("client_id", c.client_id.as_str()),
                    ("client_secret", c.client_secret.expose_secret()),
                ],
            ),
        };
        let req = self.http.post(self.token_url.clone()).form(&form);
        let answer = crate::vendor::send(VENDOR, req).await?;
        let (status, headers, body) = (answer.status, answer.headers.clone(), answer.text());
        if !status.is_success() {
            let detail = self.oauth_detail(&body);
            return Err(match (status.as_u16(), &grant) {
                (400 | 401 | 403, Grant::Password) => VendorError::Auth {
                    vendor: VENDOR,
                    detail: format!(
                        "Smappee refused the login of \"{}\" (HTTP {}: {detail}): check username, \
                         password, client_id and client secret",
                        c.username,
                        status.as_u16()
                    ),
                },
                (400 | 401 | 403, Grant::Refresh(_)) => VendorError::Auth {
                    vendor: VENDOR,
                    detail: format!("refresh token refused (HTTP {}: {detail})", status.as_u16()),
                },
                _ => classify_status(VENDOR, status, &headers, format!("{what}: {detail}")),
            });
        }
        // The answer holds tokens: never quote it.
        let parsed: TokenResponse =
            serde_json::from_str(&body).map_err(|e| VendorError::Protocol {
                vendor: VENDOR,
                detail: format!(
                    "the {what} answer is not the expected JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })?;
        let lifetime = match parsed.expires_in {
            Some(s) if s.is_finite() && s > 0.0 => s,
            _ => {
                warn!("smappee: the {what} answer has no usable expires_in; assuming one hour");
                FALLBACK_LIFETIME_S
            }
        };
        let token = Token {
            access: parsed.access_token,
            refresh: parsed.refresh_token,
            issued_at: now,
            expires_at: expiry(now, lifetime),
        };
        if token.access.expose_secret().is_empty() {
            return Err(VendorError::Protocol {
                vendor: VENDOR,
                detail: format!("the {what} answer has an empty access_token"),
            });
        }
        Ok(token)
    }

    /// A short, redacted description of an OAuth error body.
    fn oauth_detail(&self, body: &str) -> String {
        let text = match serde_json::from_str::<OAuthError>(body) {
            Ok(OAuthError {
                error: Some(e),
                error_description,
            }) => match error_description {
                Some(d) => format!("{e}: {d}"),
                None => e,
            },
            _ if body.trim().is_empty() => "empty answer".into(),
            _ => body.to_string(),
        };
        excerpt(&self.redact(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn token(life_s: i64) -> Token {
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        Token {
            access: SecretString::from("a".to_string()),
            refresh: None,
            issued_at: t0,
            expires_at: t0 + chrono::Duration::seconds(life_s),
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials {
            client_id: "cid".into(),
            client_secret: SecretString::from("s3cr3t-client".to_string()),
            username: "me@example.com".into(),
            password: SecretString::from("hunter2-pw".to_string()),
        };
        let d = format!("{c:?} {:?}", token(10));
        assert!(
            d.contains("cid") && !d.contains("s3cr3t") && !d.contains("hunter2"),
            "{d}"
        );
    }
}
