//! Multi-day runs: one scenario over a corpus of days (`sunplug simulate SCENARIO --days DIR`).
//!
//! Owns: [`Day`] and [`list`] (a corpus directory: `pv/*.csv` and `load/*.csv`, paired by the
//! `YYYY-MM-DD` date in their names; the sky class of each day read from the directory's README when
//! it lists `- YYYY-MM-DD: **class**`), [`run_days`] (every policy on every day, days in parallel,
//! results in a fixed order whatever the thread count), and the multi-day table and JSON.
//!
//! The JSON of a multi-day run keeps the one-day keys: `runs[]` holds each policy's **sums over the
//! days** ([`Metrics::sum`]: energies, money, starts, writes and hours add up, ratios are recomputed
//! from the sums), and `days[]` adds `{date, sky, pv, load, runs[]}` per day.

use super::scenario::Scenario;
use super::{Input, Metrics, Simulation};
use crate::config::load_policy_str;
use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One day of a corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`, as in the file names.
    pub date: String,
    /// The README's sky class ("clear", "broken", ...), when it gives one.
    pub sky: Option<String>,
    pub pv: PathBuf,
    pub load: PathBuf,
}

/// The first `YYYY-MM-DD` in a file name.
fn date_in(name: &str) -> Option<String> {
    let b = name.as_bytes();
    (0..b.len().saturating_sub(9)).find_map(|i| {
        let s = &b[i..i + 10];
        let ok = s.iter().enumerate().all(|(k, c)| match k {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
        ok.then(|| name[i..i + 10].to_string())
    })
}

fn csvs_by_date(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read {}: a corpus directory holds pv/ and load/ folders of CSV days",
            dir.display()
        )
    })?;
    for e in entries {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let Some(date) = date_in(&name) else {
            bail!(
                "{}: no YYYY-MM-DD date in the file name, so it cannot be paired",
                path.display()
            );
        };
        if let Some(prev) = out.insert(date.clone(), path.clone()) {
            bail!(
                "{} and {} are both for {date}: keep one file per day",
                prev.display(),
                path.display()
            );
        }
    }
    Ok(out)
}

/// The sky classes a corpus README lists as `- YYYY-MM-DD: **class**`.
fn sky_classes(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("- ")?;
            let (date, tail) = rest.split_once(": **")?;
            let class = tail.split_once("**")?.0;
            (date_in(date).as_deref() == Some(date)).then(|| (date.to_string(), class.to_string()))
        })
        .collect()
}

/// The days of a corpus directory, by date. Every PV day needs its load day and the other way round.
pub fn list(dir: &Path) -> anyhow::Result<Vec<Day>> {
    let pv = csvs_by_date(&dir.join("pv"))?;
    let load = csvs_by_date(&dir.join("load"))?;
    let lonely: Vec<String> = pv
        .keys()
        .filter(|d| !load.contains_key(*d))
        .map(|d| format!("{d} has PV but no load file"))
        .chain(
            load.keys()
                .filter(|d| !pv.contains_key(*d))
                .map(|d| format!("{d} has a load but no PV file")),
        )
        .collect();
    if !lonely.is_empty() {
        bail!("{}: {}", dir.display(), lonely.join("; "));
    }
    if pv.is_empty() {
        bail!("{}: no days (pv/*.csv and load/*.csv)", dir.display());
    }
    let sky = sky_classes(dir);
    Ok(pv
        .into_iter()
        .map(|(date, pv)| Day {
            sky: sky.get(&date).cloned(),
            load: load[&date].clone(),
            date,
            pv,
        })
        .collect())
}

/// A scenario made to replay one day: its data replaced by the day's PV and load, its span unset.
pub fn scenario_for(sc: &Scenario, day: &Day) -> Scenario {
    let mut s = sc.clone();
    s.data.pv = Some(day.pv.clone());
    s.data.load = Some(day.load.clone());
    s.data.net = None;
    s.data.days = None;
    s.data.start_ms = None;
    s.data.end_ms = None;
    s
}

/// Read every day and prepare its simulation (oracle and optimum), days in parallel.
pub fn prepare(sc: &Scenario, days: &[Day], jobs: usize) -> anyhow::Result<Vec<Simulation>> {
    let done = parallel_map(days, jobs, |day| -> anyhow::Result<Simulation> {
        let s = scenario_for(sc, day);
        let input = Input::load(&s.data)?;
        Ok(Simulation::new(s, input))
    });
    done.into_iter().collect()
}

/// `f` over `items` on `jobs` threads; the results in the items' order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let jobs = jobs.clamp(1, items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// One day's results, one [`Metrics`] per policy in the scenario's order.
#[derive(Debug, Clone, Serialize)]
pub struct DayResult {
    #[serde(flatten)]
    pub day: Day,
    pub runs: Vec<Metrics>,
}

/// Run every policy file on every prepared day.
pub fn run_days(
    sims: &[Simulation],
    days: &[Day],
    policy_files: &[PathBuf],
    jobs: usize,
) -> anyhow::Result<Vec<DayResult>> {
    let (texts, pairs) = policy_texts_and_pairs(sims, policy_files)?;
    let metrics = parallel_map(&pairs, jobs, |&(d, p)| {
        let (path, text) = &texts[p];
        let pol = load_policy_str(path, text).expect("checked above");
        let out = sims[d].run(pol, &mut ());
        sims[d].metrics(&out)
    });
    let mut it = metrics.into_iter();
    Ok(days
        .iter()
        .map(|day| DayResult {
            day: day.clone(),
            runs: it.by_ref().take(texts.len()).collect(),
        })
        .collect())
}

/// Each policy's sums over `results` (policies in order).
pub fn sums(results: &[DayResult]) -> Vec<Metrics> {
    let n = results.first().map_or(0, |r| r.runs.len());
    (0..n)
        .map(|p| Metrics::sum(&results.iter().map(|r| &r.runs[p]).collect::<Vec<_>>()))
        .collect()
}

/// The JSON of a multi-day run (see the module doc).
pub fn json(sc: &Scenario, steps: u64, results: &[DayResult], wall_ms: u64) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        scenario: &'a str,
        steps: u64,
        wall_ms: u64,
        runs: Vec<Metrics>,
        days: &'a [DayResult],
    }
    serde_json::to_string_pretty(&Report {
        scenario: &sc.name,
        steps,
        wall_ms,
        runs: sums(results),
        days: results,
    })
    .expect("plain data serializes")
}

/// The multi-day table: one line per day and policy, then the sums per sky class and over all days.
pub fn table(sc: &Scenario, results: &[DayResult], steps: u64, wall_ms: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Scenario {} over {} days (each day's PV paired with its house load by date)\n",
        sc.name,
        results.len()
    );
    let head = format!(
        "{:<12} {:<9} {:<20} {:>8} {:>8} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7}",
        "day",
        "sky",
        "policy",
        "car kWh",
        "solar",
        "share",
        "cost €",
        "save €",
        "opt €",
        "capture",
        "starts",
        "wr/h"
    );
    let line = |s: &mut String, day: &str, sky: &str, m: &Metrics| {
        let _ = writeln!(
            s,
            "{:<12} {:<9} {:<20} {:>8.2} {:>8.2} {:>6.3} {:>7.2} {:>7.2} {:>7.2} {:>7.3} {:>6} {:>7.0}",
            day,
            sky,
            m.policy,
            m.car_energy_kwh,
            m.car_solar_kwh,
            m.solar_share,
            m.cost_eur,
            m.savings_eur,
            m.optimum_savings_eur,
            m.savings_capture,
            m.charge_starts,
            m.writes_per_charging_hour
        );
    };
    let _ = writeln!(s, "{head}");
    for r in results {
        for m in &r.runs {
            line(&mut s, &r.day.date, r.day.sky.as_deref().unwrap_or("-"), m);
        }
    }
    let mut classes: Vec<&str> = results
        .iter()
        .filter_map(|r| r.day.sky.as_deref())
        .collect();
    classes.sort_unstable();
    classes.dedup();
    let _ = writeln!(s, "\nSums\n{head}");
    for class in &classes {
        let these: Vec<DayResult> = results
            .iter()
            .filter(|r| r.day.sky.as_deref() == Some(class))
            .cloned()
            .collect();
        for m in sums(&these) {
            line(&mut s, &format!("{} days", these.len()), class, &m);
        }
    }
    for m in sums(results) {
        line(&mut s, &format!("{} days", results.len()), "all", &m);
    }
    let _ = writeln!(
        s,
        "\n{} policies × {} days ({steps} steps) in {wall_ms} ms",
        results.first().map_or(0, |r| r.runs.len()),
        results.len()
    );
    s
}

/// Each policy file with its text.
pub(super) type PolicyTexts = Vec<(PathBuf, String)>;

/// The policy files checked once, up front (a bad one is reported before hours of work), their texts
/// (every day's run loads from them, not from disk), and every (day, policy) pair to run.
pub(super) fn policy_texts_and_pairs(
    sims: &[Simulation],
    policy_files: &[PathBuf],
) -> anyhow::Result<(PolicyTexts, Vec<(usize, usize)>)> {
    super::load_policies(policy_files, sims[0].scenario.vehicle_api.enabled)?;
    let texts = policy_files
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| (p.clone(), t))
                .with_context(|| format!("cannot read {}", p.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pairs: Vec<(usize, usize)> = (0..sims.len())
        .flat_map(|d| (0..texts.len()).map(move |p| (d, p)))
        .collect();
    Ok((texts, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_names() {
        assert_eq!(
            date_in("crest_4p_2016-06-17_1min.csv").as_deref(),
            Some("2016-06-17")
        );
        assert_eq!(
            date_in("bsrn_pay_2016-06-01.csv").as_deref(),
            Some("2016-06-01")
        );
        assert_eq!(date_in("today.csv"), None);
    }

    #[test]
    fn pairs_by_date_and_names_the_lonely_days() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pv")).unwrap();
        std::fs::create_dir_all(dir.path().join("load")).unwrap();
        for f in [
            "pv/a_2016-06-01.csv",
            "pv/a_2016-06-02.csv",
            "load/b_2016-06-01_x.csv",
        ] {
            std::fs::write(dir.path().join(f), "time,pv_w\n").unwrap();
        }
        std::fs::write(
            dir.path().join("README.md"),
            "- 2016-06-01: **broken** — k 0.6\n",
        )
        .unwrap();
        let err = list(dir.path()).unwrap_err().to_string();
        assert!(err.contains("2016-06-02 has PV but no load file"), "{err}");
        std::fs::write(dir.path().join("load/b_2016-06-02.csv"), "").unwrap();
        let days = list(dir.path()).unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].sky.as_deref(), Some("broken"));
        assert_eq!(days[1].sky, None);
        assert!(days[1].load.ends_with("b_2016-06-02.csv"));
    }
}
