//! A Smappee access token and when to renew it: below both the OAuth cache (`auth.rs`) and the
//! token file (`token_file.rs`), which share it.
//!
//! Owns: [`Token`] (whose `Debug` hides the secrets), its renewal rule (renew once less than a
//! tenth of its life, 1..10 minutes, is left; never send one within 30 s of expiry) and the
//! saturating expiry arithmetic (a vendor's `expires_in`, or a token file's dates, cannot panic).

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A longer `expires_in` is read as this (a year): the token is renewed well before, and a refused
/// token falls back to the grants anyway.
const MAX_LIFETIME_S: f64 = 365.0 * 86_400.0;
/// Renew when this share of the token's life is left, within the bounds below.
const RENEW_SHARE: f64 = 0.1;
const RENEW_MIN_S: i64 = 60;
const RENEW_MAX_S: i64 = 600;
/// A token this close to its expiry is not used any more, even if renewing failed.
const EXPIRY_SAFETY_S: i64 = 30;

/// An access token with its refresh token and validity.
#[derive(Clone)]
pub struct Token {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Time to renew: less than a tenth of the life (1..10 min) left.
    pub fn renew_due(&self, now: DateTime<Utc>) -> bool {
        let life = (self.expires_at - self.issued_at).num_seconds().max(0);
        let margin = ((life as f64 * RENEW_SHARE) as i64).clamp(RENEW_MIN_S, RENEW_MAX_S);
        now >= minus_secs(self.expires_at, margin)
    }
    /// Too close to expiry to be sent at all.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= minus_secs(self.expires_at, EXPIRY_SAFETY_S)
    }
    pub(super) fn same_access(&self, other: &SecretString) -> bool {
        self.access.expose_secret() == other.expose_secret()
    }
}

/// `at - secs`, or the earliest time when that is out of range (a token file may hold any date).
fn minus_secs(at: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    at.checked_sub_signed(chrono::Duration::seconds(secs))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// When a token issued at `now` for `lifetime_s` seconds expires. The vendor's number is capped at
/// [`MAX_LIFETIME_S`] and the sum saturates: no `expires_in` can panic.
pub(super) fn expiry(now: DateTime<Utc>, lifetime_s: f64) -> DateTime<Utc> {
    let ms = (lifetime_s.clamp(0.0, MAX_LIFETIME_S) * 1000.0) as i64;
    now.checked_add_signed(chrono::Duration::milliseconds(ms))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
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
    fn renewal_starts_ten_minutes_early_for_long_tokens() {
        let t = token(36_000);
        assert!(!t.renew_due(t.expires_at - chrono::Duration::seconds(601)));
        assert!(t.renew_due(t.expires_at - chrono::Duration::seconds(600)));
        let t = token(86_400);
        assert!(!t.renew_due(t.expires_at - chrono::Duration::seconds(601)));
    }

    #[test]
    fn renewal_margin_is_a_tenth_for_short_tokens_but_at_least_a_minute() {
        let t = token(1200);
        assert!(!t.renew_due(t.expires_at - chrono::Duration::seconds(121)));
        assert!(t.renew_due(t.expires_at - chrono::Duration::seconds(120)));
        let t = token(100);
        assert!(t.renew_due(t.issued_at + chrono::Duration::seconds(40)));
    }
}
