//! Cariad (VW group "BFF" API, used by the Audi and VW apps): the car's state from `selectivestatus`,
//! within a daily call budget shared with the phone app.
//!
//! Layout: `wire.rs` (payloads as sent), `client.rs` (refresh-token auth, calls, errors),
//! `token_store.rs` (the rotating refresh token on disk), `map.rs` (payload → [`VehicleState`]).
//! This file owns [`CariadSource`]: one client, one VIN, one pacer, and the budget's day count, saved
//! in the state directory so that a restart does not start a fresh budget. It never wakes the car:
//! it reads what the car last uploaded.
//!
//! Note (vendor-apis.md §2.10): third-party logins to VW group clouds are restricted in 2026; this
//! source works as long as a refresh token for the account can be obtained (docs/vehicles.md).

pub mod client;
pub mod map;
pub mod token_store;
pub mod wire;

use crate::clock::Clock;
use crate::config::vehicle::CariadSection;
use crate::sources::vehicle::schedule::{CariadPace, CariadPacer, DailyBudget};
use crate::sources::vehicle::state::{Location, Observed, VehicleState};
use crate::sources::vehicle::timestamps::captured_at;
use crate::vendor::VendorError;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use client::CariadClient;
use std::path::{Path, PathBuf};
use token_store::TokenStore;

/// File in the state directory holding "DATE CALLS" of the current budget day.
pub const BUDGET_FILE: &str = "cariad-budget";
/// How often the parking position is read while nothing else changes (it costs a call).
const PARKING_EVERY: TimeDelta = TimeDelta::hours(2);

/// Polls one car.
#[derive(Debug)]
pub struct CariadSource {
    client: CariadClient,
    vin: String,
    pacer: CariadPacer,
    budget_file: Option<PathBuf>,
    parking_position: bool,
    /// When the parking position was last read, and the plug state then.
    last_parking: Option<(DateTime<Utc>, Option<bool>)>,
    last: Option<VehicleState>,
}

impl CariadSource {
    pub fn new(client: CariadClient, vin: String, pacer: CariadPacer) -> CariadSource {
        CariadSource {
            client,
            vin: vin.to_uppercase(),
            pacer,
            budget_file: None,
            parking_position: false,
            last_parking: None,
            last: None,
        }
    }

    /// From `[cariad]`: the token store (copied into `state_dir` when the configured file cannot be
    /// replaced), the budget count saved there today, and the pacing.
    pub fn from_config(
        c: &CariadSection,
        state_dir: &Path,
        tz: Tz,
        now: DateTime<Utc>,
        http: reqwest::Client,
    ) -> Result<CariadSource, String> {
        let vin = c.vin.clone().ok_or("cariad.vin is missing")?;
        let client_id = c
            .client_id
            .as_deref()
            .ok_or("cariad.client_id is missing")?;
        let file = c
            .refresh_token_file
            .as_deref()
            .ok_or("cariad.refresh_token_file is missing")?;
        let store = TokenStore::open(file, state_dir)?;
        let client = CariadClient::new(http, &c.base_url, &c.token_url, client_id, store)?;
        if let Err(e) = std::fs::create_dir_all(state_dir) {
            tracing::warn!(dir = %state_dir.display(), error = %e, "cannot create the state directory: the call count \
                will not survive a restart");
        }
        let mut budget = DailyBudget::new(c.daily_budget, c.reserve_calls, tz);
        let budget_file = state_dir.join(BUDGET_FILE);
        if let Some((day, used)) = load_budget(&budget_file)
            && day == now.with_timezone(&tz).date_naive()
        {
            budget = budget.with_used(day, used);
        }
        let pace = CariadPace {
            charging: c.poll_charging.get(),
            idle: c.poll_idle.get(),
        };
        let mut s = CariadSource::new(client, vin, CariadPacer::new(pace, budget));
        s.budget_file = Some(budget_file);
        s.parking_position = c.parking_position;
        Ok(s)
    }

    /// When the next call is due.
    pub fn due(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.pacer.due(now)
    }

    /// Read the car's state once, now, and plan the next read.
    pub async fn poll(&mut self, clock: &dyn Clock) -> Result<VehicleState, VendorError> {
        self.count_call(clock.now());
        let result = self.client.selective_status(&self.vin).await;
        let now = clock.now();
        if let Some(n) = self.client.take_remaining_calls() {
            self.pacer.on_remaining_calls(now, n);
        }
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                self.pacer.on_error(now, &e);
                return Err(e);
            }
        };
        let mut state = map::vehicle_state(&answer.status, &self.vin, now);
        let failed = map::failed_jobs(&answer.status);
        if answer.multi_status || !failed.is_empty() {
            tracing::debug!(vendor = client::VENDOR, failed = ?failed, "partial answer");
        }
        if let Some(prev) = &self.last {
            carry_over(prev, &mut state, &failed);
        }
        if self.parking_due(now, &state) {
            self.read_parking(clock, &mut state).await;
        } else if let Some(prev) = &self.last {
            state.location = prev.location.clone();
        }
        self.pacer.on_success(clock.now(), &state);
        self.last = Some(state.clone());
        Ok(state)
    }

    pub fn latest(&self) -> Option<&VehicleState> {
        self.last.as_ref()
    }

    pub fn client(&self) -> &CariadClient {
        &self.client
    }

    fn count_call(&mut self, now: DateTime<Utc>) {
        self.pacer.on_call(now);
        if let Some(f) = &self.budget_file {
            let (day, used) = self.pacer.budget_mut().snapshot(now);
            if let Err(e) = token_store::write_atomic(f, format!("{day} {used}\n").as_bytes()) {
                tracing::debug!(file = %f.display(), error = %e, "could not save the call count");
            }
        }
    }

    fn parking_due(&mut self, now: DateTime<Utc>, s: &VehicleState) -> bool {
        if !self.parking_position || self.pacer.budget_mut().remaining(now) < 2 {
            return false;
        }
        let plugged = s.plugged.as_ref().map(|p| p.value);
        match self.last_parking {
            None => true,
            Some((at, was)) => was != plugged || now - at >= PARKING_EVERY,
        }
    }

    async fn read_parking(&mut self, clock: &dyn Clock, state: &mut VehicleState) {
        self.count_call(clock.now());
        let now = clock.now();
        self.last_parking = Some((now, state.plugged.as_ref().map(|p| p.value)));
        match self.client.parking_position(&self.vin).await {
            Ok(Some(p)) => match p
                .lat
                .zip(p.lon)
                .and_then(|(lat, lon)| Location::new(lat, lon))
            {
                Some(l) => state.location = Some(Observed::new(l, captured_at(p.captured, now).0)),
                None => state
                    .notes
                    .push("parking position without usable coordinates".into()),
            },
            Ok(None) => state
                .notes
                .push("no parking position: the car is driving".into()),
            Err(e) => {
                state
                    .notes
                    .push(format!("parking position unavailable: {e}"));
                state.location = self.last.as_ref().and_then(|l| l.location.clone());
            }
        }
    }
}

/// Values of jobs that failed this time are kept from the previous answer, with their old capture
/// times (so they age honestly), instead of turning unknown for one poll.
fn carry_over(prev: &VehicleState, new: &mut VehicleState, failed: &[&str]) {
    fn keep<T: Clone>(new: &mut Option<T>, prev: &Option<T>) -> bool {
        let kept = new.is_none() && prev.is_some();
        if kept {
            *new = prev.clone();
        }
        kept
    }
    let mut kept = false;
    if failed.contains(&"charging") {
        kept |= keep(&mut new.soc, &prev.soc);
        kept |= keep(&mut new.plugged, &prev.plugged);
        kept |= keep(&mut new.charging, &prev.charging);
        kept |= keep(&mut new.charge_limit, &prev.charge_limit);
        kept |= keep(&mut new.charge_power, &prev.charge_power);
        kept |= keep(&mut new.power_delivery, &prev.power_delivery);
        kept |= keep(&mut new.vendor_state, &prev.vendor_state);
        kept |= keep(&mut new.range_km, &prev.range_km);
    }
    if failed.contains(&"measurements") {
        kept |= keep(&mut new.odometer_km, &prev.odometer_km);
    }
    if failed.contains(&"readiness") {
        kept |= keep(&mut new.reachable, &prev.reachable);
    }
    if kept {
        new.notes.push(
            "values of failed jobs kept from the previous answer, with their capture times".into(),
        );
    }
}

fn load_budget(path: &Path) -> Option<(NaiveDate, u32)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let day = parts.next()?.parse().ok()?;
    let used = parts.next()?.parse().ok()?;
    Some((day, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Soc;
    use chrono::TimeZone;

    #[test]
    fn failed_jobs_keep_their_old_values_and_times() {
        let t = |m| Utc.with_ymd_and_hms(2026, 6, 1, 12, m, 0).unwrap();
        let mut prev = VehicleState::empty("cariad", t(0));
        prev.soc = Some(Observed::new(Soc::new(60.0).unwrap(), Some(t(0))));
        prev.odometer_km = Some(Observed::new(1000.0, Some(t(0))));
        let mut new = VehicleState::empty("cariad", t(10));
        new.odometer_km = Some(Observed::new(1001.0, Some(t(9))));
        carry_over(&prev, &mut new, &["charging"]);
        assert_eq!(new.soc, prev.soc, "kept, with the old capture time");
        assert_eq!(
            new.odometer_km.unwrap().value,
            1001.0,
            "a job that worked is not overwritten"
        );
        let mut other = VehicleState::empty("cariad", t(10));
        carry_over(&prev, &mut other, &["measurements"]);
        assert_eq!(other.soc, None, "charging did not fail: no carry-over");
    }

    #[test]
    fn budget_file_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(BUDGET_FILE);
        token_store::write_atomic(&f, b"2026-06-01 37\n").unwrap();
        assert_eq!(
            load_budget(&f),
            Some((NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), 37))
        );
        std::fs::write(&f, "garbage").unwrap();
        assert_eq!(load_budget(&f), None);
    }
}
