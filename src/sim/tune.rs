//! `sunplug tune TUNEFILE`: try variants of a policy over a corpus, judge them on days they were not
//! tuned on, and write the chosen one.
//!
//! Owns: the tune file's schema ([`TuneFile`]), the fixed train/validation [`split`], the variants
//! (the exhaustive grid of the knobs' value lists, in file order), their evaluation (every variant on
//! every day, on `--jobs` threads; each (variant, day) result lands in a fixed slot, so the output is
//! the same whatever the thread count), the Pareto front (most savings, fewest starts, on the
//! training days) printed with the validation figures beside it, and the policy file written with a
//! header saying how it was tuned, with a page beside it (`OUTPUT.html`, [`super::tune_html`]).
//!
//! The split: days sorted by date within each sky class (from the corpus README), every `every`-th
//! one (the 2nd, 5th, 8th, ... of each class for `every = 3`) is a validation day; or the dates
//! listed in `validation`. The chosen variant is the best by the objective **on the training days**.

use super::days::{self, Day};
use super::{Metrics, Simulation, scenario};
use crate::config::load_policy_str;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneFile {
    /// The scenario (site, car, charger, tariff) every day is replayed with.
    pub scenario: PathBuf,
    /// The corpus directory (pv/ and load/); default: the scenario's `[data] days`.
    #[serde(default)]
    pub days: Option<PathBuf>,
    /// Only these dates of the corpus (default: all).
    #[serde(default)]
    pub dates: Vec<String>,
    /// The policy file to start from.
    pub policy: PathBuf,
    /// Where to write the chosen variant.
    pub output: PathBuf,
    #[serde(default)]
    pub objective: Objective,
    #[serde(default)]
    pub split: Split,
    #[serde(rename = "knob")]
    pub knobs: Vec<Knob>,
}

/// `"savings"` (sum of `savings_eur`), or weights on kWh of car solar and car grid, starts and writes,
/// and on the **shortfall**: on each training day the car took at least `SHORTFALL_MIN_KWH`, the grid
/// energy beyond what a solar share of `share` allows (kWh; 0 on a day at or above it). A negative
/// weight prices it; a large one (−100 € per kWh) makes the share a constraint.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Objective {
    Named(String),
    Weighted {
        #[serde(default)]
        solar: f64,
        #[serde(default)]
        grid: f64,
        #[serde(default)]
        starts: f64,
        #[serde(default)]
        writes: f64,
        #[serde(default)]
        shortfall: f64,
        #[serde(default = "default_share")]
        share: f64,
    },
}

fn default_share() -> f64 {
    0.95
}

/// Days on which the car took less than this (kWh) have no shortfall: a share of a few hundred Wh
/// says little.
pub const SHORTFALL_MIN_KWH: f64 = 5.0;

/// The grid energy beyond a solar share of `share` on one day (kWh, ≥ 0).
pub fn shortfall_kwh(m: &Metrics, share: f64) -> f64 {
    if m.car_energy_kwh < SHORTFALL_MIN_KWH {
        return 0.0;
    }
    (share * m.car_energy_kwh - m.car_solar_kwh).max(0.0)
}

impl Default for Objective {
    fn default() -> Objective {
        Objective::Named("savings".into())
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Objective::Named(n) => write!(f, "{n}"),
            Objective::Weighted {
                solar,
                grid,
                starts,
                writes,
                shortfall,
                share,
            } => {
                write!(
                    f,
                    "{solar} × solar kWh + {grid} × grid kWh + {starts} × starts + {writes} × writes"
                )?;
                if *shortfall != 0.0 {
                    write!(f, " + {shortfall} × kWh short of a {share} share")?;
                }
                Ok(())
            }
        }
    }
}

impl Objective {
    /// The solar share a day should keep (the shortfall's, 0.95 by default).
    pub fn share(&self) -> f64 {
        match self {
            Objective::Weighted { share, .. } => *share,
            Objective::Named(_) => default_share(),
        }
    }

    /// The score of the summed metrics `m` of the days `days`.
    fn score(&self, m: &Metrics, days: &[&Metrics]) -> f64 {
        match self {
            Objective::Named(_) => m.savings_eur,
            Objective::Weighted {
                solar,
                grid,
                starts,
                writes,
                shortfall,
                share,
            } => {
                let short: f64 = days.iter().map(|d| shortfall_kwh(d, *share)).sum();
                solar * m.car_solar_kwh
                    + grid * m.car_grid_kwh
                    + starts * m.charge_starts as f64
                    + writes * m.setpoint_writes as f64
                    + shortfall * short
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Split {
    pub every: usize,
    pub validation: Vec<String>,
}

impl Default for Split {
    fn default() -> Split {
        Split {
            every: 3,
            validation: Vec::new(),
        }
    }
}

/// One knob: a dotted key of the policy file and the values to try.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knob {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// Which days validate: `true` for a validation day.
pub fn split(days: &[Day], s: &Split) -> Vec<bool> {
    if !s.validation.is_empty() {
        return days
            .iter()
            .map(|d| s.validation.contains(&d.date))
            .collect();
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    days.iter()
        .map(|d| {
            let k = seen.entry(d.sky.as_deref().unwrap_or("")).or_default();
            *k += 1;
            s.every > 1 && *k % s.every == 2 % s.every
        })
        .collect()
}

fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> anyhow::Result<()> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().context("an empty knob key")?;
    let mut t = table;
    for p in parts {
        t = t
            .entry(p)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("knob {key}: {p} is not a table"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

/// A variant: its knob values and its policy file text.
#[derive(Debug, Clone)]
pub struct Variant {
    pub values: Vec<toml::Value>,
    pub text: String,
}

/// Every combination of the knobs' values, first knob slowest.
pub fn variants(base: &str, knobs: &[Knob], path: &Path) -> anyhow::Result<Vec<Variant>> {
    let table: toml::Table =
        toml::from_str(base).with_context(|| format!("{}: not valid TOML", path.display()))?;
    let mut combos: Vec<Vec<toml::Value>> = vec![Vec::new()];
    for k in knobs {
        if k.values.is_empty() {
            bail!("knob {}: no values", k.key);
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                k.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(v.clone());
                    c
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|values| {
            let mut t = table.clone();
            for (k, v) in knobs.iter().zip(&values) {
                set(&mut t, &k.key, v.clone())?;
            }
            let text = toml::to_string(&t)?;
            load_policy_str(path, &text).map_err(|p| {
                anyhow::anyhow!(
                    "a variant ({}) is not a valid policy: {p}",
                    show(knobs, &values)
                )
            })?;
            Ok(Variant { values, text })
        })
        .collect()
}

/// A script policy names its script relative to its own file: written to `to`, the chosen variant
/// must still find the script it was tuned with, so a relative `script` is rewritten relative to
/// `to`'s directory (absolute when no relative path leads there).
fn relocate_script(text: &str, from: &Path, to: &Path) -> anyhow::Result<String> {
    let mut table: toml::Table = toml::from_str(text)?;
    let Some(toml::Value::String(script)) = table.get("script") else {
        return Ok(text.to_string());
    };
    if Path::new(script).is_absolute() {
        return Ok(text.to_string());
    }
    let dir_of = |p: &Path| -> anyhow::Result<PathBuf> {
        let abs = std::path::absolute(p).with_context(|| format!("{}", p.display()))?;
        Ok(abs.parent().map_or(abs.clone(), Path::to_path_buf))
    };
    let script_abs = dir_of(from)?.join(script);
    let moved = pathdiff::diff_paths(&script_abs, dir_of(to)?).unwrap_or(script_abs);
    table.insert(
        "script".into(),
        toml::Value::String(moved.to_string_lossy().into_owned()),
    );
    Ok(toml::to_string(&table)?)
}

fn show(knobs: &[Knob], values: &[toml::Value]) -> String {
    knobs
        .iter()
        .zip(values)
        .map(|(k, v)| format!("{} = {v}", k.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One variant's sums on the training and the validation days.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub train: Metrics,
    pub validation: Option<Metrics>,
    pub score: f64,
    /// Training and validation days below the objective's share (see [`shortfall_kwh`]).
    pub short_days: (usize, usize),
}

/// Evaluate every variant on every day; `progress` is called with (done, total).
pub fn evaluate(
    sims: &[Simulation],
    is_validation: &[bool],
    variants: &[Variant],
    path: &Path,
    objective: &Objective,
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Scored> {
    let pairs: Vec<(usize, usize)> = (0..variants.len())
        .flat_map(|v| (0..sims.len()).map(move |d| (v, d)))
        .collect();
    let done = AtomicUsize::new(0);
    let metrics = days::parallel_map(&pairs, jobs, |&(v, d)| {
        let pol = load_policy_str(path, &variants[v].text).expect("checked when made");
        let out = sims[d].run(pol, &mut ());
        let m = sims[d].metrics(&out);
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, pairs.len());
        m
    });
    metrics
        .chunks(sims.len())
        .map(|per_day| {
            let days = |val: bool| -> Vec<&Metrics> {
                per_day
                    .iter()
                    .zip(is_validation)
                    .filter(|(_, v)| **v == val)
                    .map(|(m, _)| m)
                    .collect()
            };
            let pick = |val: bool| {
                let these = days(val);
                (!these.is_empty()).then(|| Metrics::sum(&these))
            };
            let train = pick(false).expect("the split leaves training days");
            let short = |val: bool| {
                days(val)
                    .iter()
                    .filter(|m| shortfall_kwh(m, objective.share()) > 0.0)
                    .count()
            };
            Scored {
                short_days: (short(false), short(true)),
                score: objective.score(&train, &days(false)),
                train,
                validation: pick(true),
            }
        })
        .collect()
}

/// The variants no other beats on both training savings and training starts, by savings.
pub fn pareto(scored: &[Scored]) -> Vec<usize> {
    let mut front: Vec<usize> = (0..scored.len())
        .filter(|&i| {
            let a = &scored[i].train;
            !scored.iter().any(|o| {
                let b = &o.train;
                b.savings_eur >= a.savings_eur
                    && b.charge_starts <= a.charge_starts
                    && (b.savings_eur > a.savings_eur || b.charge_starts < a.charge_starts)
            })
        })
        .collect();
    front.sort_by(|&a, &b| {
        scored[b]
            .train
            .savings_eur
            .total_cmp(&scored[a].train.savings_eur)
    });
    front.dedup_by(|a, b| scored[*a].train == scored[*b].train);
    front
}

/// `sunplug tune`.
/// `output` replaces the tune file's `output`.
pub fn tune(file: &Path, jobs: Option<usize>, output: Option<&Path>) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the tune file {}", file.display()))?;
    let tf: TuneFile =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e))?;
    if let Objective::Named(n) = &tf.objective
        && n != "savings"
    {
        bail!(
            "{}: objective \"{n}\" is unknown: use \"savings\" or weights {{ solar, grid, starts, writes, \
             shortfall }}",
            file.display()
        );
    }
    let share = tf.objective.share();
    if !(share > 0.0 && share <= 1.0) {
        bail!(
            "{}: objective share = {share}: a solar share is a fraction between 0 and 1 (0.95, not 95)",
            file.display()
        );
    }
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let jobs = super::default_jobs(jobs);
    let sc = scenario::load(&dir.join(&tf.scenario)).map_err(|p| anyhow::anyhow!("{p}"))?;
    let corpus = match (&tf.days, &sc.data.days) {
        (Some(d), _) => dir.join(d),
        (None, Some(d)) => d.clone(),
        (None, None) => bail!(
            "{}: days: missing: name the corpus directory here or as [data] days in the scenario",
            file.display()
        ),
    };
    let mut all = days::list(&corpus)?;
    if !tf.dates.is_empty() {
        if let Some(d) = tf.dates.iter().find(|d| !all.iter().any(|x| &&x.date == d)) {
            bail!("{}: dates: {d} is not in the corpus", file.display());
        }
        all.retain(|d| tf.dates.contains(&d.date));
    }
    let is_val = split(&all, &tf.split);
    if is_val.iter().all(|v| *v) {
        bail!("{}: the split leaves no training day", file.display());
    }
    let policy_path = dir.join(&tf.policy);
    let base = std::fs::read_to_string(&policy_path)
        .with_context(|| format!("cannot read {}", policy_path.display()))?;
    let vars = variants(&base, &tf.knobs, &policy_path)?;
    eprintln!(
        "tuning {} variants × {} days ({} training, {} validation) on {jobs} threads",
        vars.len(),
        all.len(),
        is_val.iter().filter(|v| !**v).count(),
        is_val.iter().filter(|v| **v).count()
    );
    let sims = days::prepare(&sc, &all, jobs)?;
    let step = (vars.len() * sims.len() / 10).max(1);
    let scored = evaluate(
        &sims,
        &is_val,
        &vars,
        &policy_path,
        &tf.objective,
        jobs,
        &|d, n| {
            if d % step == 0 || d == n {
                eprintln!("  {d}/{n} runs");
            }
        },
    );
    let best = (0..scored.len())
        .max_by(|&a, &b| scored[a].score.total_cmp(&scored[b].score).then(b.cmp(&a)))
        .context("no variants: list knobs with values")?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Pareto front on the training days (savings vs starts; * = chosen), validation beside it \
         (short: days the car took ≥ {SHORTFALL_MIN_KWH} kWh at a solar share below {}):",
        tf.objective.share()
    );
    let _ = writeln!(
        out,
        "{:>4}  {:>9} {:>8} {:>6} {:>6} {:>5}  | {:>9} {:>8} {:>6} {:>6} {:>5}  knobs",
        "#",
        "train €",
        "capture",
        "starts",
        "share",
        "short",
        "valid. €",
        "capture",
        "starts",
        "share",
        "short"
    );
    // The chosen variant is listed even when it is off the front (an objective with a shortfall
    // weighs more than savings and starts).
    let mut rows = pareto(&scored);
    if !rows.contains(&best) {
        rows.push(best);
    }
    for i in rows {
        let (t, v) = (&scored[i].train, &scored[i].validation);
        let vcell = |f: &dyn Fn(&Metrics) -> String| v.as_ref().map_or("-".into(), f);
        let _ = writeln!(
            out,
            "{:>4}{} {:>9.2} {:>8.3} {:>6} {:>6.3} {:>5}  | {:>9} {:>8} {:>6} {:>6} {:>5}  {}",
            i,
            if i == best { "*" } else { " " },
            t.savings_eur,
            t.savings_capture,
            t.charge_starts,
            t.solar_share,
            scored[i].short_days.0,
            vcell(&|m| format!("{:.2}", m.savings_eur)),
            vcell(&|m| format!("{:.3}", m.savings_capture)),
            vcell(&|m| m.charge_starts.to_string()),
            vcell(&|m| format!("{:.3}", m.solar_share)),
            vcell(&|_| scored[i].short_days.1.to_string()),
            show(&tf.knobs, &vars[i].values)
        );
    }
    let chosen = &scored[best];
    let header = format!(
        "# Tuned by `sunplug tune {}`: {} variants of {} over {} training days of {} ({}),\n\
         # best by {} on the training days: {}.\n\
         # Training: savings {:.2} € (capture {:.3}), {} starts. Validation: {}.\n",
        file.display(),
        vars.len(),
        tf.policy.display(),
        is_val.iter().filter(|v| !**v).count(),
        corpus.display(),
        if tf.split.validation.is_empty() {
            format!(
                "one day in {} of each sky class by date held out",
                tf.split.every
            )
        } else {
            format!("held out: {}", tf.split.validation.join(", "))
        },
        tf.objective,
        show(&tf.knobs, &vars[best].values),
        chosen.train.savings_eur,
        chosen.train.savings_capture,
        chosen.train.charge_starts,
        chosen
            .validation
            .as_ref()
            .map_or("none".into(), |m| format!(
                "savings {:.2} € (capture {:.3}), {} starts, solar share {:.3}",
                m.savings_eur, m.savings_capture, m.charge_starts, m.solar_share
            )),
    );
    let out_path = output.map_or_else(|| dir.join(&tf.output), Path::to_path_buf);
    let text = relocate_script(&vars[best].text, &policy_path, &out_path)?;
    std::fs::write(&out_path, format!("{header}{text}"))
        .with_context(|| format!("cannot write {}", out_path.display()))?;
    let _ = writeln!(out, "\nwrote {} (variant {best})", out_path.display());
    let page_path = out_path.with_extension("html");
    let front = pareto(&scored);
    let dates = |val: bool| {
        all.iter()
            .zip(&is_val)
            .filter(|(_, v)| **v == val)
            .map(|(d, _)| d.date.clone())
            .collect()
    };
    let view = super::tune_html::View {
        command: super::page::Provenance::from_args(file).command,
        policy: tf.policy.display().to_string(),
        output: out_path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        objective: tf.objective.to_string(),
        training: dates(false),
        validation: dates(true),
        knobs: vars.iter().map(|v| show(&tf.knobs, &v.values)).collect(),
        scored: &scored,
        front: &front,
        best,
    };
    std::fs::write(&page_path, super::tune_html::page(&view))
        .with_context(|| format!("cannot write {}", page_path.display()))?;
    let _ = writeln!(
        out,
        "wrote {} (every variant, the Pareto front as a chart)",
        page_path.display()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(car_kwh: f64, solar_kwh: f64) -> Metrics {
        Metrics {
            policy: "p".into(),
            car_energy_kwh: car_kwh,
            car_solar_kwh: solar_kwh,
            car_grid_kwh: car_kwh - solar_kwh,
            export_kwh: 0.0,
            solar_share: solar_kwh / car_kwh,
            oracle_solar_kwh: 0.0,
            oracle_capture: 0.0,
            charge_starts: 0,
            setpoint_writes: 0,
            final_soc_pct: 0.0,
            target_met: false,
            cost_eur: 0.0,
            savings_eur: 0.0,
            optimum_savings_eur: 0.0,
            savings_capture: 0.0,
            charging_hours: 0.0,
            writes_per_charging_hour: 0.0,
            plan_cost_eur: None,
            plan_start: None,
            import_kwh: 0.0,
            dip_solar_kwh: 0.0,
            loadpoints: Vec::new(),
        }
    }

    #[test]
    fn the_shortfall_is_the_grid_beyond_the_share_on_days_that_took_enough() {
        // 10 kWh at 0.90: 0.5 kWh more grid than a 0.95 share allows.
        assert!((shortfall_kwh(&day(10.0, 9.0), 0.95) - 0.5).abs() < 1e-9);
        assert_eq!(shortfall_kwh(&day(10.0, 9.6), 0.95), 0.0);
        // A day under 5 kWh says little about the share: no shortfall.
        assert_eq!(shortfall_kwh(&day(4.0, 2.0), 0.95), 0.0);
        // The weighted objective adds it per day, not on the sum (where a good day would hide it).
        let o: Objective = toml::from_str::<toml::Table>("o = { solar = 1.0, shortfall = -10.0 }")
            .unwrap()["o"]
            .clone()
            .try_into()
            .unwrap();
        let (poor, good) = (day(10.0, 9.0), day(40.0, 40.0));
        let sum = Metrics::sum(&[&poor, &good]);
        assert!((o.score(&sum, &[&poor, &good]) - (49.0 - 5.0)).abs() < 1e-9);
        assert_eq!(o.share(), 0.95);
        assert!(
            o.to_string().ends_with("-10 × kWh short of a 0.95 share"),
            "{o}"
        );
    }
}
