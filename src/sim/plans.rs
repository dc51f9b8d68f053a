//! The departure plans a planning policy made during a run (`planner`, `target-by-departure` with
//! `use_plan`), kept for `--json`, the table and the report's plan chart.
//!
//! Owns: [`PlanLog`] (fed by the run after every controller step; it keeps a plan only when the
//! policy made a new one), [`SessionPlan`] (per plug-in: the plan as it was at plug-in, and what each
//! re-plan said for the slot it was made in), [`Segment`] and [`Overlay`] (what the plan chart draws
//! over a window, with the tariff's prices). Nothing here plans: the plans are the controller's own
//! (`Controller::plan`).

use super::tariff::Prices;
use crate::control::plan::Plan;
use chrono::{DateTime, Utc};

/// Planned grid power over `[start_ms, end_ms)`, at the price the plan saw there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Mean grid power the plan buys over the segment, W.
    pub grid_w: f64,
    /// Import price per kWh the plan counted on.
    pub price: f64,
}

/// The plans of one plug-in session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPlan {
    /// The session's index in the scenario's schedule.
    pub session: usize,
    /// The first plan made after plug-in.
    pub at_plug_in: Plan,
    /// What each plan said for the slot it was made in, cut where the next plan was made: the plan
    /// as it was followed.
    pub followed: Vec<Segment>,
}

impl SessionPlan {
    /// The plan at plug-in as segments, one per slot.
    pub fn at_plug_in_segments(&self) -> Vec<Segment> {
        self.at_plug_in
            .slots
            .iter()
            .map(|s| Segment {
                start_ms: s.start.timestamp_millis(),
                end_ms: s.end.timestamp_millis(),
                grid_w: s.grid.0,
                price: s.price,
            })
            .collect()
    }
}

/// Every plan worth keeping from one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanLog {
    pub sessions: Vec<SessionPlan>,
    /// The first slot's start of the last plan seen: a new plan starts at the step it was made.
    last: Option<DateTime<Utc>>,
}

impl PlanLog {
    /// After a controller step at `now`: the session plugged in (if any) and the policy's plan.
    pub fn observe(&mut self, now: DateTime<Utc>, session: Option<usize>, plan: Option<&Plan>) {
        let (Some(k), Some(p)) = (session, plan) else {
            return;
        };
        let Some(first) = p.slots.first() else {
            return;
        };
        if self.last == Some(first.start) && self.sessions.last().is_some_and(|s| s.session == k) {
            return;
        }
        self.last = Some(first.start);
        if self.sessions.last().is_none_or(|s| s.session != k) {
            self.sessions.push(SessionPlan {
                session: k,
                at_plug_in: p.clone(),
                followed: Vec::new(),
            });
        }
        let now_ms = now.timestamp_millis();
        let s = self.sessions.last_mut().expect("pushed above");
        if let Some(prev) = s.followed.last_mut() {
            prev.end_ms = prev.end_ms.min(now_ms);
        }
        s.followed.push(Segment {
            start_ms: first.start.timestamp_millis(),
            end_ms: first.end.timestamp_millis(),
            grid_w: first.grid.0,
            price: first.price,
        });
    }

    /// The expected cost of the plans made at plug-in, summed over the sessions (`None`: no plan).
    pub fn cost(&self) -> Option<f64> {
        (!self.sessions.is_empty()).then(|| self.sessions.iter().map(|s| s.at_plug_in.cost).sum())
    }

    /// The first session's planned start at plug-in: the first slot that buys grid energy (`None`
    /// without a plan, or when the plan expected the sun to cover it all).
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.sessions.first().and_then(|s| s.at_plug_in.start())
    }

    /// The plan of the session `k`, if one was made.
    pub fn session(&self, k: usize) -> Option<&SessionPlan> {
        self.sessions.iter().find(|s| s.session == k)
    }
}

/// The plans of a run over a chart's window, with the import price there.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// Every session's plan at plug-in, slot by slot.
    pub at_plug_in: Vec<Segment>,
    /// Every session's plan as re-planned.
    pub followed: Vec<Segment>,
    /// The tariff's import price over the window, one segment per price (grid power 0).
    pub prices: Vec<Segment>,
    /// The first planned start at plug-in, ms.
    pub start_ms: Option<i64>,
    /// The expected cost at plug-in, summed over the sessions.
    pub cost: f64,
}

/// Price segments are read at this step (day-ahead prices come by the hour or the quarter hour).
const PRICE_STEP_MS: i64 = 15 * 60_000;

impl PlanLog {
    /// What the plan chart draws over `[from_ms, to_ms)`; `None` for a run without a plan.
    pub fn overlay(&self, prices: &Prices, (from_ms, to_ms): (i64, i64)) -> Option<Overlay> {
        let cost = self.cost()?;
        let inside = |s: &Segment| s.end_ms > from_ms && s.start_ms < to_ms;
        let mut price_segs: Vec<Segment> = Vec::new();
        let mut t = from_ms;
        while t < to_ms {
            let end = (t + PRICE_STEP_MS).min(to_ms);
            let price = prices.import_at(t);
            match price_segs.last_mut() {
                Some(last) if last.price == price => last.end_ms = end,
                _ => price_segs.push(Segment {
                    start_ms: t,
                    end_ms: end,
                    grid_w: 0.0,
                    price,
                }),
            }
            t = end;
        }
        Some(Overlay {
            at_plug_in: self
                .sessions
                .iter()
                .flat_map(SessionPlan::at_plug_in_segments)
                .filter(inside)
                .collect(),
            followed: self
                .sessions
                .iter()
                .flat_map(|s| s.followed.iter().copied())
                .filter(inside)
                .collect(),
            prices: price_segs,
            start_ms: self.start().map(|t| t.timestamp_millis()),
            cost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::plan::{Limits, SlotInput, plan};
    use crate::units::Watts;
    use chrono::Duration;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Hourly slots from `from`, priced `prices`, no sun.
    fn a_plan(from: DateTime<Utc>, prices: &[f64], need_wh: f64) -> Plan {
        let slots: Vec<SlotInput> = prices
            .iter()
            .enumerate()
            .map(|(i, &price)| SlotInput {
                start: from + Duration::hours(i as i64),
                end: from + Duration::hours(i as i64 + 1),
                surplus: Watts(0.0),
                price,
            })
            .collect();
        let limits = Limits {
            floor: Watts(4140.0),
            max: Watts(11_040.0),
        };
        plan(need_wh, &slots, limits)
    }

    #[test]
    fn keeps_the_plan_at_plug_in_and_each_re_plans_first_slot() {
        let t0 = utc("2026-06-01T18:00:00Z");
        let first = a_plan(t0, &[0.30, 0.10, 0.20], 11_040.0);
        let mut log = PlanLog::default();
        log.observe(t0, None, Some(&first));
        assert!(log.sessions.is_empty(), "no session: nothing kept");
        log.observe(t0, Some(0), Some(&first));
        // The same plan at the next steps: nothing new.
        log.observe(t0 + Duration::seconds(10), Some(0), Some(&first));
        assert_eq!(log.sessions.len(), 1);
        assert_eq!(log.sessions[0].followed.len(), 1);
        assert_eq!(log.start(), Some(t0 + Duration::hours(1)), "the cheap hour");
        assert!(
            (log.cost().unwrap() - 1.104).abs() < 1e-9,
            "{:?}",
            log.cost()
        );

        // Re-planned 15 min later, now from 18:15: the first segment ends there.
        let t1 = t0 + Duration::minutes(15);
        let second = a_plan(t1, &[0.05, 0.10, 0.20], 11_040.0);
        log.observe(t1, Some(0), Some(&second));
        let s = &log.sessions[0];
        assert_eq!(s.at_plug_in, first, "the plug-in plan stays");
        assert_eq!(s.followed.len(), 2);
        assert_eq!(s.followed[0].end_ms, t1.timestamp_millis());
        assert_eq!(s.followed[1].start_ms, t1.timestamp_millis());
        assert!(s.followed[1].grid_w > 10_000.0, "{:?}", s.followed[1]);
        assert_eq!(s.at_plug_in_segments().len(), 3);

        // The next plug-in starts a new session's plan; the cost adds up.
        let t2 = t0 + Duration::days(1);
        log.observe(t2, Some(1), Some(&a_plan(t2, &[0.10], 1000.0)));
        assert_eq!(log.sessions.len(), 2);
        assert_eq!(log.session(1).unwrap().followed.len(), 1);
        assert!((log.cost().unwrap() - 1.204).abs() < 1e-9);
        assert_eq!(PlanLog::default().cost(), None);
    }
}
