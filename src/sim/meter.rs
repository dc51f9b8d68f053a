//! The grid meter model: what the daemon's surplus source would deliver.
//!
//! Owns: [`MeterModel`]. Every `period` it samples the true grid power (house load + car − PV, import
//! positive) plus Gaussian noise, and delivers it `delay` later stamped with the sampling time, as an
//! MQTT meter does. Samples are lost in bursts (a two-state Markov chain whose long-run lost fraction
//! is `dropout_rate` and mean burst length `dropout_mean`). Each sample draws the same random numbers
//! whatever happened before, so every policy run of a scenario sees the same noise and the same outages,
//! and a day's draws can be made once and shared by its runs ([`MeterDraws`]).

use super::rng::Rng;
use super::spec::{MeterSpec, ms};
use std::collections::VecDeque;
use std::sync::Arc;

/// The meter's random draws, sample by sample: the noise (W) and whether the sample is lost. They
/// do not depend on what is measured, so a day's draws are made once ([`MeterDraws::new`]) and shared
/// by every run of that day ([`MeterModel::with_draws`]): the same numbers the model's own generators
/// would give, without drawing them again per run.
#[derive(Debug, Clone, Default)]
pub struct MeterDraws {
    draws: Vec<(f64, bool)>,
}

impl MeterDraws {
    /// The first `samples` draws of a meter configured by `spec`.
    pub fn new(spec: &MeterSpec, samples: usize) -> MeterDraws {
        let mut m = MeterModel::new(spec, 0);
        MeterDraws {
            draws: (0..samples).map(|_| m.draw()).collect(),
        }
    }
}

/// One meter sample as sent (times in ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample {
    pub at_ms: i64,
    pub grid_w: f64,
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct MeterModel {
    period_ms: i64,
    delay_ms: i64,
    noise_w: f64,
    next_sample_ms: i64,
    p_start: f64,
    p_end: f64,
    lost: bool,
    noise: Rng,
    drops: Rng,
    in_flight: VecDeque<RawSample>,
    latest: Option<RawSample>,
    /// Draws made in advance, used while they last (then the generators go on from where they
    /// would be).
    drawn: Option<Arc<MeterDraws>>,
    /// Samples taken and samples lost, for the report.
    pub sampled: u64,
    pub dropped: u64,
}

impl MeterModel {
    pub fn new(spec: &MeterSpec, start_ms: i64) -> MeterModel {
        let period_ms = ms(spec.period).max(1);
        // Bursts end with probability 1/L per sample; they start with r/(1−r)/L so that a fraction r
        // of the samples is lost in the long run.
        let mean_len = (ms(spec.dropout_mean) as f64 / period_ms as f64).max(1.0);
        let p_end = 1.0 / mean_len;
        let r = spec.dropout_rate.clamp(0.0, 0.9);
        MeterModel {
            period_ms,
            delay_ms: ms(spec.delay),
            noise_w: spec.noise_w,
            next_sample_ms: start_ms,
            p_start: r / (1.0 - r) * p_end,
            p_end,
            lost: false,
            noise: Rng::stream(spec.seed, 1),
            drops: Rng::stream(spec.seed, 2),
            in_flight: VecDeque::with_capacity(16),
            latest: None,
            drawn: None,
            sampled: 0,
            dropped: 0,
        }
    }

    /// As [`MeterModel::new`], taking its random draws from `drawn` (made for the same `spec`).
    pub fn with_draws(spec: &MeterSpec, start_ms: i64, drawn: Arc<MeterDraws>) -> MeterModel {
        MeterModel {
            drawn: Some(drawn),
            ..MeterModel::new(spec, start_ms)
        }
    }

    /// The next sample's noise and whether it is lost (the burst chain's next state).
    #[inline]
    fn draw(&mut self) -> (f64, bool) {
        let noise = if self.noise_w > 0.0 {
            self.noise.normal() * self.noise_w
        } else {
            0.0
        };
        let u = self.drops.uniform();
        self.lost = if self.lost {
            u >= self.p_end
        } else {
            u < self.p_start
        };
        (noise, self.lost)
    }

    /// Advance to `t_ms` with the true values now: sample if due, deliver what has arrived.
    #[inline]
    pub fn step(&mut self, t_ms: i64, grid_w: f64, pv_w: Option<f64>, load_w: Option<f64>) {
        if t_ms >= self.next_sample_ms {
            self.next_sample_ms += self.period_ms;
            if self.next_sample_ms <= t_ms {
                // A physics step longer than the period: one sample per step.
                self.next_sample_ms = t_ms + self.period_ms;
            }
            let made = self
                .drawn
                .as_ref()
                .and_then(|d| d.draws.get(self.sampled as usize).copied());
            let noise = match made {
                Some((noise, lost)) => {
                    self.lost = lost;
                    noise
                }
                None => {
                    if self.drawn.take().is_some() {
                        // Past the draws made in advance: bring the generators to where they
                        // would be, then go on drawing.
                        for _ in 0..self.sampled {
                            self.draw();
                        }
                    }
                    self.draw().0
                }
            };
            self.sampled += 1;
            if self.lost {
                self.dropped += 1;
            } else {
                self.in_flight.push_back(RawSample {
                    at_ms: t_ms,
                    grid_w: grid_w + noise,
                    pv_w,
                    load_w,
                });
            }
        }
        while let Some(s) = self.in_flight.front() {
            if s.at_ms + self.delay_ms > t_ms {
                break;
            }
            self.latest = self.in_flight.pop_front();
        }
    }

    /// The newest sample the daemon has received.
    pub fn latest(&self) -> Option<RawSample> {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::HumanDuration;

    #[test]
    fn samples_arrive_late_with_their_sampling_time() {
        let spec = MeterSpec {
            period: HumanDuration::secs(10),
            delay: HumanDuration::secs(2),
            noise_w: 0.0,
            ..MeterSpec::default()
        };
        let mut m = MeterModel::new(&spec, 0);
        m.step(0, 500.0, None, None);
        assert_eq!(m.latest(), None, "still in flight");
        m.step(1000, 600.0, None, None);
        m.step(2000, 700.0, None, None);
        assert_eq!(m.latest().map(|s| (s.at_ms, s.grid_w)), Some((0, 500.0)));
        for t in 3..12 {
            m.step(t * 1000, 800.0, None, None);
        }
        assert_eq!(
            m.latest().map(|s| s.at_ms),
            Some(0),
            "next sample at 10 s, arriving at 12 s"
        );
        m.step(12_000, 900.0, None, None);
        assert_eq!(
            m.latest().map(|s| (s.at_ms, s.grid_w)),
            Some((10_000, 800.0))
        );
    }

    #[test]
    fn dropouts_come_in_bursts_at_the_configured_rate() {
        let spec = MeterSpec {
            dropout_rate: 0.05,
            dropout_mean: HumanDuration::secs(30),
            delay: HumanDuration::secs(0),
            ..MeterSpec::default()
        };
        let mut m = MeterModel::new(&spec, 0);
        let (mut bursts, mut was_fresh) = (0, true);
        for t in 0..1_000_000i64 {
            m.step(t * 1000, 0.0, None, None);
            let fresh = m.latest().is_some_and(|s| s.at_ms == t * 1000);
            if was_fresh && !fresh {
                bursts += 1;
            }
            was_fresh = fresh;
        }
        let rate = m.dropped as f64 / m.sampled as f64;
        assert!((rate - 0.05).abs() < 0.01, "lost fraction {rate}");
        let mean = m.dropped as f64 / f64::from(bursts);
        assert!((mean - 30.0).abs() < 5.0, "mean burst {mean} samples");
    }

    #[test]
    fn draws_made_in_advance_give_the_same_samples_and_run_on_past_their_end() {
        let spec = MeterSpec {
            delay: HumanDuration::secs(1),
            noise_w: 50.0,
            dropout_rate: 0.1,
            dropout_mean: HumanDuration::secs(5),
            ..MeterSpec::default()
        };
        let drawn = Arc::new(MeterDraws::new(&spec, 300));
        let (mut own, mut shared) = (
            MeterModel::new(&spec, 0),
            MeterModel::with_draws(&spec, 0, drawn),
        );
        for t in 0..1000i64 {
            let grid = 1000.0 + (t % 17) as f64 * 30.0;
            own.step(t * 1000, grid, None, None);
            shared.step(t * 1000, grid, None, None);
            assert_eq!(own.latest(), shared.latest(), "at {t} s");
        }
        assert_eq!((own.sampled, own.dropped), (shared.sampled, shared.dropped));
        assert!(own.dropped > 0);
    }

    #[test]
    fn same_seed_same_noise_whatever_the_values() {
        let spec = MeterSpec {
            delay: HumanDuration::secs(0),
            noise_w: 50.0,
            dropout_rate: 0.1,
            ..MeterSpec::default()
        };
        let (mut a, mut b) = (MeterModel::new(&spec, 0), MeterModel::new(&spec, 0));
        for t in 0..1000i64 {
            a.step(t * 1000, 1000.0, None, None);
            b.step(t * 1000, 3000.0, None, None);
            let (x, y) = (a.latest(), b.latest());
            assert_eq!(x.map(|s| s.at_ms), y.map(|s| s.at_ms));
            if let (Some(x), Some(y)) = (x, y) {
                assert!((y.grid_w - x.grid_w - 2000.0).abs() < 1e-9);
            }
        }
    }
}
