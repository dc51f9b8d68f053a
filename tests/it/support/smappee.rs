//! Shared setup for the Smappee tests: the emulator, a client and a charger on one tokio-driven
//! clock, and a log capture.
#![allow(dead_code)]

use super::t0;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use sunplug::chargers::smappee::{
    ChargerState, ClientSettings, Credentials, SmappeeCharger, SmappeeClient, mapping,
};
use sunplug::clock::{Clock, TokioClock};
use sunplug::config::{ChargerLimits, LimitUnit};
use sunplug::control::Command;
use sunplug::control::actuate::{Actuator, ActuatorSettings, OnManualChange, Outcome};
use sunplug::daemon::writer::outcome;
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};
use sunplug::units::Amps;
use sunplug::vendor::Timeouts;
use sunplug::vendor::VendorError;

pub struct Harness {
    pub emu: SmappeeEmulator,
    pub clock: Arc<dyn Clock>,
    pub creds: Credentials,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(EmulatorConfig::default()).await
    }

    pub async fn with(cfg: EmulatorConfig) -> Harness {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
        let emu = SmappeeEmulator::start(cfg.clone(), clock.clone())
            .await
            .unwrap();
        let creds = Credentials {
            client_id: cfg.client_id.clone(),
            client_secret: SecretString::from(cfg.client_secret.clone()),
            username: cfg.username.clone(),
            password: SecretString::from(cfg.password.clone()),
        };
        Harness { emu, clock, creds }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn settings(&self, token_dir: Option<PathBuf>) -> ClientSettings {
        ClientSettings {
            base_url: self.emu.base_url(),
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                total: Duration::from_secs(5),
            },
            token_dir,
        }
    }

    pub fn client(&self) -> SmappeeClient {
        self.client_in(None)
    }

    pub fn client_in(&self, token_dir: Option<PathBuf>) -> SmappeeClient {
        SmappeeClient::new(
            &self.settings(token_dir),
            self.creds.clone(),
            self.clock.clone(),
        )
        .unwrap()
    }

    pub fn charger(&self, unit: LimitUnit) -> SmappeeCharger {
        let serial = self.emu.config().station_serial;
        SmappeeCharger::new(self.client(), &serial, 1, limits(unit, 32.0), None)
    }

    /// The adapter behind the actuator.
    #[allow(dead_code)]
    pub fn actuated(&self, unit: LimitUnit) -> Actuated {
        Actuated::new(self.charger(unit))
    }

    /// PUT .../mode requests so far.
    pub fn mode_bodies(&self) -> Vec<String> {
        self.emu.mode_bodies()
    }

    /// Every token and secret the emulator saw: what must never be logged.
    pub fn secrets(&self) -> Vec<String> {
        let cfg = self.emu.config();
        let mut out = vec![cfg.password, cfg.client_secret];
        for r in self.emu.requests() {
            if let Some(a) = r
                .authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
            {
                out.push(a.to_string());
            }
            if let Some(t) = r.form("refresh_token") {
                out.push(t);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

pub fn limits(unit: LimitUnit, max: f64) -> ChargerLimits {
    ChargerLimits {
        unit,
        floor: Amps(6.0),
        station_max: Amps(32.0),
        max: Amps(max),
    }
}

#[allow(unused_imports)]
pub use super::logs::LogBuffer;

/// What [`Actuated::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Applied {
    Sent,
    Unchanged,
}

/// The Smappee adapter behind the daemon's actuator, driven as the writer drives it but one call at
/// a time: what a test needs to check dedupe, replugs, backoff and rejections against the emulator.
#[derive(Debug)]
pub struct Actuated {
    pub c: SmappeeCharger,
    pub act: Actuator,
    origin: tokio::time::Instant,
    last_err: Option<VendorError>,
}

#[allow(dead_code)]
impl Actuated {
    pub fn new(c: SmappeeCharger) -> Actuated {
        let act = Actuator::new(ActuatorSettings {
            resolution: mapping::resolution(c.limits()),
            on_manual_change: OnManualChange::Reassert,
            manual_grace: Duration::from_secs(60),
        });
        Actuated {
            c,
            act,
            origin: tokio::time::Instant::now(),
            last_err: None,
        }
    }
    fn since(&self) -> Duration {
        tokio::time::Instant::now() - self.origin
    }
    /// Bring the connector to `command`: `Unchanged` when the actuator sends nothing because it is
    /// confirmed; an error while a backoff runs or for a rejected request.
    pub async fn apply(
        &mut self,
        _now: DateTime<Utc>,
        command: &Command,
    ) -> Result<Applied, VendorError> {
        self.act.command(Some(*command));
        let now = self.since();
        if let Some(req) = self.act.next(now) {
            self.act.sending(req);
            let r = self.c.execute(req).await;
            let kind = r.as_ref().map_or_else(outcome, |_| Outcome::Ok);
            self.act.written(self.since(), req, kind);
            return match r {
                Ok(()) => Ok(Applied::Sent),
                Err(e) => {
                    self.last_err = Some(e.clone());
                    Err(e)
                }
            };
        }
        if self.act.confirmed() == self.act.wanted() {
            return Ok(Applied::Unchanged);
        }
        let last = self
            .last_err
            .clone()
            .expect("nothing sent without an error");
        Err(match (self.act.deadline(), &last) {
            (Some(until), VendorError::RateLimited { vendor, .. }) => VendorError::RateLimited {
                vendor,
                retry_after: Some(until.saturating_sub(now)),
            },
            (Some(until), _) => VendorError::Transient {
                vendor: "smappee",
                detail: format!(
                    "waiting {}s after: {last}",
                    until.saturating_sub(now).as_secs()
                ),
            },
            (None, _) => last,
        })
    }
    /// Read the state and hand it to the actuator (replugs, changes made in the app).
    pub async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerState, VendorError> {
        let s = self.c.read_state(now).await?;
        self.act.observed(self.since(), &s.obs());
        Ok(s)
    }
    pub fn last_state(&self) -> Option<&ChargerState> {
        self.c.last_state()
    }
}
