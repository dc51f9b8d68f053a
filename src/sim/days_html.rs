//! The report of a multi-day run (`simulate SCENARIO --days DIR --out OUT`): `report.html` opens with
//! a summary, one row per day grouped by sky class, each policy's car solar, car grid and starts as
//! small bars in its colour, the sums per class and over all days; each date links to that day's own
//! page next to it (`YYYY-MM-DD.html`, the one-day report of [`super::html`]).
//!
//! Owns: [`run_traced`] (every policy on every day, keeping the plotted series and the metrics of
//! the same runs) and [`write`]. The days and their sums are [`super::days`]'.

use super::days::{self, Day, DayResult};
use super::html::{self, Run};
use super::page::{Provenance, escape, glossary, legend, page, policy_th};
use super::plot::colour;
use super::report::{notes_for, rows};
use super::series::{self, Series};
use super::trace::{self, Trace};
use super::{Metrics, Simulation, spec};
use crate::control::policies;
use anyhow::Context;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A multi-day run with what its pages plot.
pub struct Traced {
    pub results: Vec<DayResult>,
    /// Per day, per policy.
    pub series: Vec<Vec<Series>>,
    /// Per day: the data's and the first run's notes.
    pub notes: Vec<Vec<String>>,
}

/// Every policy file on every prepared day, as [`days::run_days`] does, keeping each run's series.
pub fn run_traced(
    sims: &[Simulation],
    list: &[Day],
    policy_files: &[PathBuf],
    jobs: usize,
) -> anyhow::Result<Traced> {
    let (texts, pairs) = days::policy_texts_and_pairs(sims, policy_files)?;
    let done = days::parallel_map(&pairs, jobs, |&(d, p)| {
        let (path, text) = &texts[p];
        let pol = policies::load_str(path, text).expect("checked above");
        let sim = &sims[d];
        let span = sim.input.end_ms - sim.input.start_ms;
        let every = trace::row_interval_ms(span, spec::ms(sim.scenario.control.interval));
        let mut t = Trace::every(sim.scenario.tz, every);
        let out = sim.run(pol, &mut t);
        let notes = (p == 0).then(|| notes_for(sim, Some(&out)));
        let window = series::window(sim, &t);
        let mut s = Series::from_trace(&t, window);
        s.plan = out.plans.overlay(&sim.prices, window);
        (sim.metrics(&out), s, notes)
    });
    let mut it = done.into_iter();
    let mut traced = Traced {
        results: Vec::new(),
        series: Vec::new(),
        notes: Vec::new(),
    };
    for day in list {
        let mut runs = Vec::new();
        let mut ss = Vec::new();
        let mut notes = Vec::new();
        for (m, s, n) in it.by_ref().take(texts.len()) {
            runs.push(m);
            ss.push(s);
            notes.extend(n.unwrap_or_default());
        }
        traced.results.push(DayResult {
            day: day.clone(),
            runs,
        });
        traced.series.push(ss);
        traced.notes.push(notes);
    }
    Ok(traced)
}

/// Sky classes from clearest to darkest, then any other class, then days without one.
fn sky_rank(sky: Option<&str>) -> (usize, String) {
    let known = ["clear", "mixed", "broken", "overcast"];
    match sky {
        Some(s) => (
            known.iter().position(|k| *k == s).unwrap_or(known.len()),
            s.to_string(),
        ),
        None => (known.len() + 1, String::new()),
    }
}

/// The day's page file name.
pub fn day_file(date: &str) -> String {
    format!("{date}.html")
}

/// One cell of small bars, one per policy, scaled to `max`.
fn bars(values: &[f64], max: f64, fmt: &dyn Fn(f64) -> String) -> String {
    let mut s = String::from("<td><div class=\"bars\">");
    for (i, v) in values.iter().enumerate() {
        let w = if max > 0.0 {
            (v / max * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<div class=\"bar\"><i style=\"width:{w:.1}%;background:{}\"></i><span>{}</span></div>",
            colour(i),
            fmt(*v)
        );
    }
    s.push_str("</div></td>");
    s
}

type Column = (&'static str, fn(&Metrics) -> f64, fn(f64) -> String);

const COLUMNS: [Column; 3] = [
    ("car solar kWh", |m| m.car_solar_kwh, |v| format!("{v:.1}")),
    ("car grid kWh", |m| m.car_grid_kwh, |v| format!("{v:.1}")),
    ("starts", |m| m.charge_starts as f64, |v| format!("{v:.0}")),
];

/// The summary page.
pub fn summary_page(
    sims: &[Simulation],
    results: &[DayResult],
    corpus: &Path,
    prov: &Provenance,
    wall_ms: u64,
) -> String {
    let sc = &sims[0].scenario;
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<h1>{} over {} days</h1>",
        escape(&sc.name),
        results.len()
    );
    if !sc.description.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"sub\">Scenario: {}</p>",
            escape(&sc.description)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"sub\">Each day of {} (its PV paired with its house load by date) replayed with the \
         scenario's site, car, charger and tariff. Click a date for that day's charts.</p>",
        escape(&prov.file(corpus))
    );
    h.push_str(&prov.html());
    let names: Vec<&str> = results
        .first()
        .map(|r| r.runs.iter().map(|m| m.policy.as_str()).collect())
        .unwrap_or_default();
    h.push_str(&legend(&names));

    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| (sky_rank(results[i].day.sky.as_deref()), i));
    let day_max: Vec<f64> = COLUMNS
        .iter()
        .map(|(_, f, _)| {
            results
                .iter()
                .flat_map(|r| r.runs.iter().map(f))
                .fold(0.0, f64::max)
        })
        .collect();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for i in order {
        let sky = results[i]
            .day
            .sky
            .clone()
            .unwrap_or_else(|| "no class".into());
        match groups.last_mut() {
            Some((g, v)) if *g == sky => v.push(i),
            _ => groups.push((sky, vec![i])),
        }
    }
    let class_sums: Vec<Vec<Metrics>> = groups
        .iter()
        .map(|(_, v)| {
            let these: Vec<DayResult> = v.iter().map(|&i| results[i].clone()).collect();
            days::sums(&these)
        })
        .collect();
    let all = days::sums(results);
    let sum_max: Vec<f64> = COLUMNS
        .iter()
        .map(|(_, f, _)| {
            class_sums
                .iter()
                .chain(std::iter::once(&all))
                .flat_map(|ms| ms.iter().map(f))
                .fold(0.0, f64::max)
        })
        .collect();

    h.push_str("<h2>Day by day</h2>\n<table class=\"days\"><thead><tr><th>day</th><th>sky</th>");
    for (label, _, _) in COLUMNS {
        let _ = write!(h, "<th>{label}</th>");
    }
    h.push_str("<th>solar share</th></tr></thead><tbody>\n");
    let row = |h: &mut String, first: &str, sky: &str, ms: &[Metrics], max: &[f64], class: &str| {
        let _ = write!(
            h,
            "<tr{class}><td>{first}</td><td class=\"l\">{}</td>",
            escape(sky)
        );
        for ((_, f, fmt), m) in COLUMNS.iter().zip(max) {
            let v: Vec<f64> = ms.iter().map(f).collect();
            h.push_str(&bars(&v, *m, fmt));
        }
        let shares: Vec<String> = ms
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(
                    "<span style=\"color:{}\">{:.3}</span>",
                    colour(i),
                    m.solar_share
                )
            })
            .collect();
        let _ = writeln!(h, "<td>{}</td></tr>", shares.join("<br>"));
    };
    for ((sky, members), sums) in groups.iter().zip(&class_sums) {
        let _ = writeln!(
            h,
            "<tr class=\"group\"><td colspan=\"6\">{} ({} day{})</td></tr>",
            escape(sky),
            members.len(),
            if members.len() == 1 { "" } else { "s" }
        );
        for &i in members {
            let d = &results[i].day;
            let link = format!(
                "<a href=\"{}\">{}</a>",
                escape(&day_file(&d.date)),
                escape(&d.date)
            );
            row(&mut h, &link, sky, &results[i].runs, &day_max, "");
        }
        if members.len() < 2 {
            continue;
        }
        row(
            &mut h,
            &format!("sum of {}", members.len()),
            sky,
            sums,
            &sum_max,
            " class=\"sum\"",
        );
    }
    row(
        &mut h,
        &format!("all {} days", results.len()),
        "all",
        &all,
        &sum_max,
        " class=\"sum\"",
    );
    h.push_str("</tbody></table>\n<p class=\"sub\">Bars: each policy in its colour; the days' bars share one scale per column, the sums another.</p>\n");

    h.push_str("<h2>Sums over all days</h2>\n<table><thead><tr><th></th>");
    for (i, m) in all.iter().enumerate() {
        h.push_str(&policy_th(i, &m.policy));
    }
    h.push_str("</tr></thead><tbody>\n");
    let refs: Vec<&Metrics> = all.iter().collect();
    for (label, cells) in rows(&refs) {
        let _ = write!(h, "<tr><td>{}</td>", escape(label.trim()));
        for c in cells {
            let _ = write!(h, "<td>{}</td>", escape(&c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    h.push_str(&glossary());
    let steps: u64 = sims.iter().map(Simulation::steps).sum();
    let _ = writeln!(
        h,
        "<p class=\"sub\">{} policies × {} days ({steps} steps) in {wall_ms} ms.</p>",
        names.len(),
        results.len()
    );
    page(&format!("sunplug simulation: {} over days", sc.name), &h)
}

/// Write `report.html` and one page per day into `dir`. Returns the number of files written.
pub fn write(
    dir: &Path,
    sims: &[Simulation],
    traced: &Traced,
    corpus: &Path,
    prov: &Provenance,
    wall_ms: u64,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let results = &traced.results;
    for (d, r) in results.iter().enumerate() {
        let mut nav = String::from("<nav class=\"noprint\"><a href=\"report.html\">← all days</a>");
        if let Some(p) = d.checked_sub(1).and_then(|p| results.get(p)) {
            let _ = write!(
                nav,
                "<a href=\"{}\">‹ {}</a>",
                day_file(&p.day.date),
                escape(&p.day.date)
            );
        }
        if let Some(n) = results.get(d + 1) {
            let _ = write!(
                nav,
                "<a href=\"{}\">{} ›</a>",
                day_file(&n.day.date),
                escape(&n.day.date)
            );
        }
        nav.push_str("</nav>\n");
        let runs: Vec<Run> = r
            .runs
            .iter()
            .zip(&traced.series[d])
            .map(|(metrics, series)| Run { metrics, series })
            .collect();
        let frame = html::Frame {
            nav,
            footer: format!(
                "{}, sky: {}. One day of the run summarised in <a href=\"report.html\">report.html</a>.",
                escape(&r.day.date),
                escape(r.day.sky.as_deref().unwrap_or("no class"))
            ),
        };
        let text = html::day_page(&sims[d], &runs, &traced.notes[d], prov, &frame);
        let path = dir.join(day_file(&r.day.date));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let path = dir.join("report.html");
    std::fs::write(&path, summary_page(sims, results, corpus, prov, wall_ms))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(results.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sky_classes_clearest_first() {
        let mut v = vec![
            None,
            Some("overcast"),
            Some("broken"),
            Some("fog"),
            Some("clear"),
        ];
        v.sort_by_key(|s| sky_rank(*s));
        assert_eq!(
            v,
            vec![
                Some("clear"),
                Some("broken"),
                Some("overcast"),
                Some("fog"),
                None
            ]
        );
    }

    #[test]
    fn bars_scale_to_the_column() {
        let s = bars(&[5.0, 10.0, 0.0], 10.0, &|v| format!("{v:.1}"));
        assert!(s.contains("width:50.0%;background:#0072B2"), "{s}");
        assert!(s.contains("width:100.0%"), "{s}");
        assert!(s.contains("width:0.0%"), "{s}");
        assert_eq!(s.matches("class=\"bar\"").count(), 3);
    }
}
