//! A scenario's input: PV and house load (or one net series), their common span, sampled per step.
//!
//! Owns: [`Input`] (the series and the span they share, cut by `[data] start/end`), [`Sampler`] and
//! [`Sample`]. The surplus is the power the car could take without importing: PV − house load, or
//! −net for a net series (net = house load − PV, without the car).

use super::data::{Cursor, DataError, Series, fmt_ms, read_series};
use super::spec::DataSpec;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Balance {
    PvLoad { pv: Series, load: Series },
    Net(Series),
}

#[derive(Debug, Clone)]
pub struct Input {
    pub balance: Balance,
    /// The simulated span, [start, end), ms since the epoch.
    pub start_ms: i64,
    pub end_ms: i64,
    /// Remarks from reading the files.
    pub notes: Vec<String>,
}

/// The input at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
    /// PV − house load (export positive), without the car.
    pub surplus_w: f64,
}

impl Input {
    /// Read the files `spec` names.
    pub fn load(spec: &DataSpec) -> Result<Input, DataError> {
        let read = |p: &PathBuf, col: &str, scale: f64, neg: bool| {
            read_series(p, col, scale, spec.label, spec.max_gap_ms, neg)
        };
        let balance = match (&spec.pv, &spec.load, &spec.net) {
            (_, _, Some(net)) => Balance::Net(read(net, "net_w", 1.0, true)?),
            (Some(pv), Some(load), None) => Balance::PvLoad {
                pv: read(pv, "pv_w", spec.pv_scale, false)?,
                load: read(load, "load_w", spec.load_scale, false)?,
            },
            _ => {
                return Err(DataError {
                    file: PathBuf::from("[data]"),
                    line: None,
                    message: match &spec.days {
                        Some(d) => format!(
                            "days = {} names a corpus, replayed by `sunplug simulate`; this needs one \
                             day: pv and load, or net",
                            d.display()
                        ),
                        None => "needs pv and load, or net".into(),
                    },
                });
            }
        };
        Input::new(balance, spec.start_ms, spec.end_ms)
    }

    /// The span the series share, cut to `[start, end)` when given.
    pub fn new(balance: Balance, start: Option<i64>, end: Option<i64>) -> Result<Input, DataError> {
        let (mut s, mut e, notes, file) = match &balance {
            Balance::PvLoad { pv, load } => {
                if pv.end_ms <= load.start_ms || load.end_ms <= pv.start_ms {
                    return Err(DataError {
                        file: load.file.clone(),
                        line: None,
                        message: format!(
                            "covers {} .. {}, which does not overlap the PV data {} ({} .. {}): the two must \
                             describe the same days (re-date one, or pick matching files)",
                            fmt_ms(load.start_ms),
                            fmt_ms(load.end_ms),
                            pv.file.display(),
                            fmt_ms(pv.start_ms),
                            fmt_ms(pv.end_ms)
                        ),
                    });
                }
                let notes = pv.notes.iter().chain(&load.notes).cloned().collect();
                (
                    pv.start_ms.max(load.start_ms),
                    pv.end_ms.min(load.end_ms),
                    notes,
                    pv.file.clone(),
                )
            }
            Balance::Net(n) => (n.start_ms, n.end_ms, n.notes.clone(), n.file.clone()),
        };
        if let Some(st) = start {
            s = s.max(st);
        }
        if let Some(en) = end {
            e = e.min(en);
        }
        if e <= s {
            return Err(DataError {
                file,
                line: None,
                message: "no data within [data] start .. end".into(),
            });
        }
        Ok(Input {
            balance,
            start_ms: s,
            end_ms: e,
            notes,
        })
    }

    /// Number of physics steps of `step_ms` in the span.
    pub fn steps(&self, step_ms: i64) -> u64 {
        ((self.end_ms - self.start_ms) / step_ms).max(0) as u64
    }

    pub fn sampler(&self) -> Sampler<'_> {
        Sampler {
            input: self,
            a: Cursor::default(),
            b: Cursor::default(),
        }
    }

    pub fn has_pv_and_load(&self) -> bool {
        matches!(self.balance, Balance::PvLoad { .. })
    }
}

/// Interpolates the input at increasing times.
#[derive(Debug, Clone)]
pub struct Sampler<'a> {
    input: &'a Input,
    a: Cursor,
    b: Cursor,
}

impl Sampler<'_> {
    #[inline]
    pub fn at(&mut self, t_ms: i64) -> Sample {
        match &self.input.balance {
            Balance::PvLoad { pv, load } => {
                let p = pv.at(&mut self.a, t_ms);
                let l = load.at(&mut self.b, t_ms);
                Sample {
                    pv_w: Some(p),
                    load_w: Some(l),
                    surplus_w: p - l,
                }
            }
            Balance::Net(n) => Sample {
                pv_w: None,
                load_w: None,
                surplus_w: -n.at(&mut self.a, t_ms),
            },
        }
    }
}
