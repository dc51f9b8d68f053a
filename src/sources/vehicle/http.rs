//! HTTP plumbing shared by the vehicle clients: an access-token cache (the bounded request,
//! [`send`], is every vendor's: it lives in [`crate::vendor`]).
//!
//! Owns: [`TokenCache`] (refresh ahead of expiry, one refresh at a time, invalidation
//! after a 401 that cannot throw away a newer token, and [`TokenCache::send_with`]: a call with the
//! token that retries once after a 401) and [`AccessToken`].
//! Time is tokio's, so tests move token expiry with a paused clock.

use crate::vendor::VendorError;
use reqwest::StatusCode;

use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::vendor::{Answer, MAX_BODY, describe_body, send};

/// An access token as handed to a request. `generation` identifies it for [`TokenCache::invalidate`].
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    generation: u64,
}

impl AccessToken {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.secret.expose_secret())
    }
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessToken(#{}, redacted)", self.generation)
    }
}

/// A token just obtained, and how long the vendor says it lives.
pub struct Issued {
    pub token: SecretString,
    pub lifetime: Duration,
}

impl Issued {
    /// A token and the `expires_in` (seconds) its grant answered: a missing or absurd value is read
    /// as one hour, and a lifetime is never trusted beyond a day.
    pub fn new(token: SecretString, expires_in: Option<f64>) -> Issued {
        let secs = expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(3600.0);
        Issued {
            token,
            lifetime: Duration::from_secs_f64(secs.min(86_400.0)),
        }
    }
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
}

/// Caches one access token. `get` refreshes it a little before it expires ([`refresh_margin`]); the
/// lock is held across the refresh, so concurrent callers wait for one refresh instead of starting
/// their own. When a refresh fails while the old token still has time left, the old one is used.
#[derive(Default)]
pub struct TokenCache {
    slot: tokio::sync::Mutex<(Option<Cached>, u64)>,
}

/// How long before expiry a token is refreshed: a minute, or half its life if that is shorter.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    Duration::from_secs(60).min(lifetime / 2)
}

impl TokenCache {
    pub fn new() -> TokenCache {
        TokenCache::default()
    }

    /// The cached token, or a new one from `fetch`.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<AccessToken, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Issued, VendorError>>,
    {
        let mut slot = self.slot.lock().await;
        let now = Instant::now();
        if let Some(c) = &slot.0
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        match fetch().await {
            Ok(issued) => {
                slot.1 += 1;
                let now = Instant::now();
                let token = AccessToken {
                    secret: issued.token,
                    generation: slot.1,
                };
                slot.0 = Some(Cached {
                    token: token.clone(),
                    refresh_at: now + issued.lifetime - refresh_margin(issued.lifetime),
                    expires_at: now + issued.lifetime,
                });
                Ok(token)
            }
            Err(e) => match &slot.0 {
                Some(c) if Instant::now() < c.expires_at && e.is_retryable() => {
                    tracing::debug!(error = %e, "token refresh failed; the current token is still valid");
                    Ok(c.token.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// One call with the cached token (a new one from `fetch` when due): `build` makes the request
    /// for a token and `inspect` sees every answer. A 401 forgets that token and the call is made
    /// once more with a new one; whatever the second answer is, it is returned.
    pub async fn send_with<F, Fut>(
        &self,
        vendor: &'static str,
        fetch: F,
        build: impl Fn(&AccessToken) -> reqwest::RequestBuilder,
        inspect: impl Fn(&Answer),
    ) -> Result<Answer, VendorError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Issued, VendorError>>,
    {
        let token = self.get(&fetch).await?;
        let a = send(vendor, build(&token)).await?;
        inspect(&a);
        if a.status != StatusCode::UNAUTHORIZED {
            return Ok(a);
        }
        tracing::debug!(vendor, "access token refused; fetching a new one");
        self.invalidate(token.generation()).await;
        let token = self.get(&fetch).await?;
        let a = send(vendor, build(&token)).await?;
        inspect(&a);
        Ok(a)
    }

    /// Forget the token of `generation` (it was refused). A newer token is kept.
    pub async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot
            .0
            .as_ref()
            .is_some_and(|c| c.token.generation == generation)
        {
            slot.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn issue(n: &AtomicU32, secs: u64) -> Result<Issued, VendorError> {
        let k = n.fetch_add(1, Ordering::SeqCst);
        Ok(Issued {
            token: SecretString::from(format!("t{k}")),
            lifetime: Duration::from_secs(secs),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn cached_until_a_minute_before_expiry() {
        let cache = TokenCache::new();
        let n = AtomicU32::new(0);
        let a = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        tokio::time::advance(Duration::from_secs(3539)).await;
        let b = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        assert_eq!(a.generation(), b.generation());
        tokio::time::advance(Duration::from_secs(1)).await;
        let c = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        assert_ne!(b.generation(), c.generation());
        assert_eq!(n.load(Ordering::SeqCst), 2);
        assert_eq!(format!("{c:?}"), "AccessToken(#2, redacted)");
    }

    #[tokio::test(start_paused = true)]
    async fn one_refresh_for_many_callers() {
        let cache = Arc::new(TokenCache::new());
        let n = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (cache, n) = (cache.clone(), n.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        issue(&n, 3600)
                    })
                    .await
                    .unwrap()
                    .generation()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_spares_a_newer_token_and_failures_fall_back() {
        let cache = TokenCache::new();
        let n = AtomicU32::new(0);
        let a = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        cache.invalidate(a.generation()).await;
        let b = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        cache.invalidate(a.generation()).await; // stale 401 of an old request
        let c = cache.get(|| async { issue(&n, 3600) }).await.unwrap();
        assert_eq!(b.generation(), c.generation());
        // In the refresh window a failing refresh keeps the still-valid token.
        tokio::time::advance(Duration::from_secs(3570)).await;
        let down = || async {
            Err(VendorError::Transient {
                vendor: "x",
                detail: "down".into(),
            })
        };
        assert_eq!(cache.get(down).await.unwrap().generation(), c.generation());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(cache.get(down).await.is_err(), "expired: no fallback");
    }
}
