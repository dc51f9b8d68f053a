//! systemd integration: readiness, watchdog pings, status lines.
//!
//! Owns: [`Notifier`]. Outside systemd (no `NOTIFY_SOCKET`) every call is a cheap no-op. The watchdog
//! is pinged from the control loop itself (not from a separate timer task), so a hung loop stops the
//! pings and systemd restarts the service.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    enabled: bool,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Read the environment systemd set up (`NOTIFY_SOCKET`, `WATCHDOG_USEC`).
    pub fn from_env() -> Notifier {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    /// A notifier that does nothing (tests, `demo`).
    pub fn disabled() -> Notifier {
        Notifier {
            enabled: false,
            watchdog: None,
        }
    }

    /// How often the loop must ping: half the watchdog timeout, as systemd recommends.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    pub fn ready(&self, status: &str) {
        self.send(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(status),
        ]);
    }

    pub fn watchdog(&self) {
        if self.watchdog.is_some() {
            self.send(&[sd_notify::NotifyState::Watchdog]);
        }
    }

    pub fn status(&self, status: &str) {
        self.send(&[sd_notify::NotifyState::Status(status)]);
    }

    pub fn stopping(&self) {
        self.send(&[sd_notify::NotifyState::Stopping]);
    }

    fn send(&self, states: &[sd_notify::NotifyState<'_>]) {
        if self.enabled
            && let Err(e) = sd_notify::notify(states)
        {
            tracing::debug!("sd_notify failed: {e}");
        }
    }
}
