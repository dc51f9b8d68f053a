//! When to fetch the car's state next: pure pacing, by car state, call budgets and errors.
//!
//! Owns: [`HourlyBudget`] (a sliding hour, Enode), [`DailyBudget`] (calls per local day, with the
//! vendor's own remaining count, Cariad), [`Backoff`], and the two pacers [`EnodePacer`] and
//! [`CariadPacer`]. Everything takes `now` and returns instants; nothing here sleeps or reads a clock,
//! so a whole simulated day runs in a test in milliseconds.

pub use crate::backoff::Backoff;
use crate::sources::vehicle::state::VehicleState;
use crate::vendor::VendorError;
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::VecDeque;
use std::time::Duration;

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// At most `max` calls in any sliding hour.
#[derive(Debug, Clone)]
pub struct HourlyBudget {
    max: u32,
    calls: VecDeque<DateTime<Utc>>,
}

impl HourlyBudget {
    pub fn new(max: u32) -> HourlyBudget {
        HourlyBudget {
            max: max.max(1),
            calls: VecDeque::new(),
        }
    }

    pub fn record(&mut self, at: DateTime<Utc>) {
        self.calls.push_back(at);
        while self.calls.len() > self.max as usize {
            self.calls.pop_front();
        }
    }

    /// The earliest instant at or after `t` when one more call stays within the budget.
    pub fn earliest(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let hour = TimeDelta::hours(1);
        let in_window: Vec<&DateTime<Utc>> = self.calls.iter().filter(|c| **c > t - hour).collect();
        if in_window.len() < self.max as usize {
            return t;
        }
        // The oldest call that must leave the window for one more to fit.
        let oldest = in_window[in_window.len() - self.max as usize];
        (*oldest + hour).max(t)
    }

    /// Calls in the hour before `t` (inclusive of `t`).
    pub fn used(&self, t: DateTime<Utc>) -> usize {
        self.calls
            .iter()
            .filter(|c| **c > t - TimeDelta::hours(1) && **c <= t)
            .count()
    }
}

/// Calls per local day (the Cariad budget resets at midnight). `vendor_remaining` is what the vendor
/// last said is left on the whole account (`Vcf-Remaining-Calls`), shared with the phone app, of
/// which `reserve` calls are left for the app.
#[derive(Debug, Clone)]
pub struct DailyBudget {
    max: u32,
    reserve: u32,
    tz: Tz,
    day: Option<NaiveDate>,
    used: u32,
    vendor_remaining: Option<u32>,
}

impl DailyBudget {
    pub fn new(max: u32, reserve: u32, tz: Tz) -> DailyBudget {
        DailyBudget {
            max,
            reserve,
            tz,
            day: None,
            used: 0,
            vendor_remaining: None,
        }
    }

    /// Resume a count saved earlier today (a restart must not get a fresh budget).
    pub fn with_used(mut self, day: NaiveDate, used: u32) -> DailyBudget {
        self.day = Some(day);
        self.used = used;
        self
    }

    fn roll(&mut self, now: DateTime<Utc>) {
        let today = now.with_timezone(&self.tz).date_naive();
        if self.day.is_none_or(|d| today > d) {
            self.day = Some(today);
            self.used = 0;
            self.vendor_remaining = None;
        }
    }

    pub fn record(&mut self, now: DateTime<Utc>) {
        self.roll(now);
        self.used += 1;
        self.vendor_remaining = self.vendor_remaining.map(|v| v.saturating_sub(1));
    }

    /// The vendor's count after our last call.
    pub fn observe_vendor_remaining(&mut self, now: DateTime<Utc>, remaining: u32) {
        self.roll(now);
        self.vendor_remaining = Some(remaining);
    }

    /// Calls we may still make today.
    pub fn remaining(&mut self, now: DateTime<Utc>) -> u32 {
        self.roll(now);
        let own = self.max.saturating_sub(self.used);
        match self.vendor_remaining {
            Some(v) => own.min(v.saturating_sub(self.reserve)),
            None => own,
        }
    }

    /// (day, calls used on it), for saving.
    pub fn snapshot(&mut self, now: DateTime<Utc>) -> (NaiveDate, u32) {
        self.roll(now);
        (self.day.unwrap_or_default(), self.used)
    }

    /// The next local midnight after `now` (DST-safe: the first instant of the next local day).
    pub fn next_reset(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = now.with_timezone(&self.tz).date_naive() + TimeDelta::days(1);
        let mut t = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default();
        for _ in 0..4 {
            if let Some(dt) = self.tz.from_local_datetime(&t).earliest() {
                return dt.with_timezone(&Utc);
            }
            t += TimeDelta::minutes(30); // a zone whose day starts with a DST gap
        }
        now + TimeDelta::days(1)
    }
}

/// How long Enode takes to refresh a car's data (vendor docs): about 2 min while charging, 7 otherwise.
pub const ENODE_REFRESH_CHARGING: Duration = Duration::from_secs(120);
pub const ENODE_REFRESH_IDLE: Duration = Duration::from_secs(420);
/// Poll this long after Enode's expected refresh, so the refresh has landed.
pub const ENODE_REFRESH_SLACK: Duration = Duration::from_secs(20);

/// Enode's poll intervals by car state and the hourly ceiling.
#[derive(Debug, Clone, Copy)]
pub struct EnodePace {
    pub charging: Duration,
    pub plugged: Duration,
    pub away: Duration,
    pub max_per_hour: u32,
}

/// Enode pacing: fast while charging, slower while plugged in, slow when away; aligned with Enode's
/// own refresh when that comes in the second half of the interval; never above the hourly budget.
#[derive(Debug, Clone)]
pub struct EnodePacer {
    pace: EnodePace,
    budget: HourlyBudget,
    backoff: Backoff,
    next: Option<DateTime<Utc>>,
}

impl EnodePacer {
    pub fn new(pace: EnodePace) -> EnodePacer {
        EnodePacer {
            pace,
            budget: HourlyBudget::new(pace.max_per_hour),
            backoff: Backoff::new(Duration::from_secs(30), pace.away),
            next: None,
        }
    }

    /// When the next fetch is due (`now` for the first).
    pub fn due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.budget.earliest(self.next.unwrap_or(now))
    }

    /// A request is being made at `at`.
    pub fn on_call(&mut self, at: DateTime<Utc>) {
        self.budget.record(at);
    }

    /// The base interval for a state: charging, plugged in, or away (unplugged or unknown plug).
    pub fn interval(&self, s: &VehicleState) -> Duration {
        if s.is_charging() {
            self.pace.charging
        } else if s.is_plugged() {
            self.pace.plugged
        } else if s.plugged.is_none() {
            self.pace.plugged.min(self.pace.away)
        } else {
            self.pace.away
        }
    }

    pub fn on_success(&mut self, now: DateTime<Utc>, s: &VehicleState) {
        self.backoff.reset();
        let base = self.interval(s);
        let mut next = now + delta(base);
        let captured = s
            .soc
            .as_ref()
            .and_then(|o| o.at)
            .or(s.plugged.as_ref().and_then(|o| o.at));
        if let Some(at) = captured {
            let period = if s.is_charging() {
                ENODE_REFRESH_CHARGING
            } else {
                ENODE_REFRESH_IDLE
            };
            let expected = next_refresh(at, now, period);
            if expected >= now + delta(base / 2) && expected < next {
                next = expected;
            }
        }
        self.next = Some(self.budget.earliest(next));
    }

    pub fn on_error(&mut self, now: DateTime<Utc>, e: &VendorError) {
        let mut wait = self.backoff.next_delay();
        match e {
            VendorError::RateLimited { retry_after, .. } => {
                wait = wait.max(retry_after.unwrap_or_default())
            }
            // A person has to act; do not hammer the API meanwhile.
            VendorError::Auth { .. } | VendorError::Rejected { .. } => {
                wait = wait.max(Duration::from_secs(300))
            }
            _ => {}
        }
        self.next = Some(self.budget.earliest(now + delta(wait)));
    }

    pub fn budget(&self) -> &HourlyBudget {
        &self.budget
    }
}

/// The first expected refresh after `now` of data captured at `at` and refreshed every `period`.
fn next_refresh(at: DateTime<Utc>, now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let first = at + delta(period) + delta(ENODE_REFRESH_SLACK);
    if first > now {
        return first;
    }
    let p = period.as_secs().max(1) as i64;
    let k = (now - first).num_seconds() / p + 1;
    first + TimeDelta::seconds(k * p)
}

/// Cariad's intervals, budget and reserve.
#[derive(Debug, Clone, Copy)]
pub struct CariadPace {
    /// While charging (≥ 5 min).
    pub charging: Duration,
    /// Otherwise (15–30 min).
    pub idle: Duration,
}

/// Cariad pacing: the state's interval, stretched so the rest of today's budget lasts until midnight;
/// with no budget left, nothing until the reset. 429 waits for `Retry-After`, or for midnight.
#[derive(Debug, Clone)]
pub struct CariadPacer {
    pace: CariadPace,
    budget: DailyBudget,
    backoff: Backoff,
    next: Option<DateTime<Utc>>,
}

impl CariadPacer {
    pub fn new(pace: CariadPace, budget: DailyBudget) -> CariadPacer {
        CariadPacer {
            pace,
            budget,
            backoff: Backoff::new(pace.charging, pace.idle.max(pace.charging) * 4),
            next: None,
        }
    }

    /// When the next call is due: the planned time, or the reset if today's budget is spent.
    pub fn due(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let planned = self.next.unwrap_or(now);
        if self.budget.remaining(now) == 0 {
            return self.budget.next_reset(now).max(planned);
        }
        planned
    }

    pub fn on_call(&mut self, at: DateTime<Utc>) {
        self.budget.record(at);
    }

    pub fn on_remaining_calls(&mut self, now: DateTime<Utc>, remaining: u32) {
        self.budget.observe_vendor_remaining(now, remaining);
    }

    /// Today's remaining calls spread evenly until midnight, or `None` when none is left.
    pub fn spread(&mut self, now: DateTime<Utc>) -> Option<Duration> {
        let left = self.budget.remaining(now);
        let until = (self.budget.next_reset(now) - now)
            .to_std()
            .unwrap_or_default();
        (left > 0).then(|| until / left)
    }

    fn plan(&mut self, now: DateTime<Utc>, wait: Duration) {
        self.next = Some(match self.spread(now) {
            Some(spread) => now + delta(wait.max(spread)),
            None => self.budget.next_reset(now),
        });
    }

    pub fn on_success(&mut self, now: DateTime<Utc>, s: &VehicleState) {
        self.backoff.reset();
        let base = if s.is_charging() {
            self.pace.charging
        } else {
            self.pace.idle
        };
        self.plan(now, base);
    }

    pub fn on_error(&mut self, now: DateTime<Utc>, e: &VendorError) {
        let wait = self.backoff.next_delay();
        match e {
            VendorError::RateLimited {
                retry_after: Some(r),
                ..
            } => self.plan(now, wait.max(*r)),
            // The daily budget is spent (vendor-apis.md §2.7): wait for the reset.
            VendorError::RateLimited {
                retry_after: None, ..
            } => self.next = Some(self.budget.next_reset(now)),
            VendorError::Auth { .. } | VendorError::Rejected { .. } => {
                self.plan(now, wait.max(self.pace.idle))
            }
            _ => self.plan(now, wait),
        }
    }

    pub fn budget_mut(&mut self) -> &mut DailyBudget {
        &mut self.budget
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
