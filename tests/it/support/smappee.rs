//! Shared setup for the Smappee tests: the emulator, a client and a charger on one tokio-driven
//! clock, and a log capture.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use sunplug::chargers::smappee::{ClientSettings, Credentials, SmappeeCharger, SmappeeClient};
use sunplug::clock::{Clock, TokioClock};
use sunplug::config::{ChargerLimits, LimitUnit};
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};
use sunplug::units::Amps;
use sunplug::vendor::Timeouts;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap()
}

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
