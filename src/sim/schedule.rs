//! When the car is plugged in: daily sessions from the scenario's local plug-in and departure times.
//!
//! Owns: [`Session`], [`sessions`] and [`SessionClock`] (the one rule, shared by the run and the
//! oracle, for which physics step belongs to which session). A departure at or before the plug-in
//! time is the next day's, unless `[car] stay_days` says how many days later it is (a stay over
//! several nights: then only sessions plugged in within the data count, and a plug-in while the car
//! is still plugged in is skipped). Local times are resolved in the site's timezone (a time skipped by a DST
//! change means the first minute after the gap; a repeated one its first occurrence). Sessions are
//! clipped to the data.

use super::spec::CarSpec;
use crate::config::values::LocalTime;
use chrono::{Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub plug_ms: i64,
    pub depart_ms: i64,
    /// Whether the departure lies within the data (else the session is judged at the data's end).
    pub departs_in_data: bool,
}

/// The plug-in sessions within `[start_ms, end_ms)`.
pub fn sessions(car: &CarSpec, tz: Tz, start_ms: i64, end_ms: i64) -> Vec<Session> {
    let (Some(plug), Some(depart)) = (car.plug_in, car.departure) else {
        return vec![Session {
            plug_ms: start_ms,
            depart_ms: end_ms,
            departs_in_data: false,
        }];
    };
    let local_date = |ms: i64| {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.with_timezone(&tz).date_naive())
            .unwrap_or_default()
    };
    let (first, last) = (local_date(start_ms) - Days::new(1), local_date(end_ms));
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let p = resolve(tz, day, plug);
        let dep_day = match car.stay_days {
            Some(n) => day + Days::new(u64::from(n)),
            None if depart > plug => day,
            None => day + Days::new(1),
        };
        let d = resolve(tz, dep_day, depart);
        let away = car.stay_days.is_some()
            && (p < start_ms || out.last().is_some_and(|s: &Session| p < s.depart_ms));
        if d > start_ms && p < end_ms && !away {
            out.push(Session {
                plug_ms: p.max(start_ms),
                depart_ms: d.min(end_ms),
                departs_in_data: d <= end_ms,
            });
        }
        day = day + Days::new(1);
    }
    out
}

fn resolve(tz: Tz, day: NaiveDate, at: LocalTime) -> i64 {
    let mut local = day.and_time(at.0);
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.timestamp_millis();
        }
        local += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&day.and_time(at.0))
        .timestamp_millis()
}

/// Walks the sessions along increasing step times.
#[derive(Debug, Clone, Default)]
pub struct SessionClock {
    next: usize,
    current: Option<usize>,
}

/// What changed at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Depart(usize),
    PlugIn(usize),
}

impl SessionClock {
    /// Advance to `t_ms`; calls `edge` for each departure and plug-in at this step, in that order.
    #[inline]
    pub fn advance(&mut self, sessions: &[Session], t_ms: i64, mut edge: impl FnMut(Edge)) {
        if let Some(i) = self.current
            && t_ms >= sessions[i].depart_ms
        {
            self.current = None;
            edge(Edge::Depart(i));
        }
        if self.current.is_none()
            && let Some(s) = sessions.get(self.next)
            && t_ms >= s.plug_ms
            && t_ms < s.depart_ms
        {
            self.current = Some(self.next);
            self.next += 1;
            edge(Edge::PlugIn(self.next - 1));
        }
    }

    /// The session the car is plugged in for now.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// The car has left for the last time: no session now and none to come.
    pub fn finished(&self, sessions: &[Session]) -> bool {
        self.current.is_none() && self.next >= sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Amps, Phases};

    fn car(plug: &str, dep: &str) -> CarSpec {
        CarSpec {
            capacity_kwh: 50.0,
            start_soc: 20.0,
            target_soc: 80.0,
            plug_in: Some(plug.parse().unwrap()),
            departure: Some(dep.parse().unwrap()),
            stay_days: None,
            phases: Phases::Three,
            max_current: Amps(16.0),
            taper_soc: 80.0,
            response_delay_ms: 0,
            start_delay_ms: 0,
            efficiency: 0.9,
        }
    }

    fn ms(s: &str) -> i64 {
        s.parse::<chrono::DateTime<Utc>>()
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn daily_and_overnight_sessions_in_local_time() {
        let tz: Tz = "Europe/Zurich".parse().unwrap();
        let (s, e) = (ms("2016-06-17T00:00:00Z"), ms("2016-06-18T00:00:00Z"));
        let day = sessions(&car("08:00", "18:00"), tz, s, e);
        assert_eq!(
            day,
            vec![Session {
                plug_ms: ms("2016-06-17T06:00:00Z"),
                depart_ms: ms("2016-06-17T16:00:00Z"),
                departs_in_data: true
            }]
        );
        let night = sessions(&car("18:00", "07:30"), tz, s, e);
        assert_eq!(night.len(), 2, "{night:?}");
        assert_eq!(
            (night[0].plug_ms, night[0].depart_ms),
            (s, ms("2016-06-17T05:30:00Z"))
        );
        assert_eq!(night[1].plug_ms, ms("2016-06-17T16:00:00Z"));
        assert_eq!((night[1].depart_ms, night[1].departs_in_data), (e, false));
    }

    #[test]
    fn a_stay_over_two_nights() {
        let tz: Tz = "Europe/Zurich".parse().unwrap();
        let (s, e) = (ms("2016-06-03T00:00:00Z"), ms("2016-06-05T06:00:00Z"));
        let car = CarSpec {
            stay_days: Some(2),
            ..car("18:00", "07:30")
        };
        // Plugged in on Friday 18:00, away on Sunday 07:30; the Saturday plug-in is skipped (the car
        // is still there) and the one before the data does not count.
        assert_eq!(
            sessions(&car, tz, s, e),
            vec![Session {
                plug_ms: ms("2016-06-03T16:00:00Z"),
                depart_ms: ms("2016-06-05T05:30:00Z"),
                departs_in_data: true
            }]
        );
    }

    #[test]
    fn the_clock_reports_edges_once() {
        let ss = [
            Session {
                plug_ms: 10,
                depart_ms: 20,
                departs_in_data: true,
            },
            Session {
                plug_ms: 20,
                depart_ms: 30,
                departs_in_data: true,
            },
        ];
        let mut c = SessionClock::default();
        let mut edges = vec![];
        for t in 0..40 {
            c.advance(&ss, t, |e| edges.push((t, e)));
        }
        assert_eq!(
            edges,
            vec![
                (10, Edge::PlugIn(0)),
                (20, Edge::Depart(0)),
                (20, Edge::PlugIn(1)),
                (30, Edge::Depart(1))
            ]
        );
    }
}
