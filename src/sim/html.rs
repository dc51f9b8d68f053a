//! `report.html` for one day (or one run): what was simulated and how it was made, the policies
//! compared on one chart, the table with a glossary under it, and each policy's run in detail, all
//! full width one under another, in one self-contained file (inline SVG and CSS, no scripts).
//!
//! Owns: [`day_page`] (also the per-day pages of a multi-day report) and [`report`] (the
//! single-run `--out` page). The shared frame (CSS, glossary, provenance) is [`super::page`].

use super::page::{Provenance, escape, glossary, legend, page, policy_th};
use super::report::{notes_for, rows, summary_with};
use super::series::Series;
use super::{Finished, Metrics, Simulation, plan_plot, plot};
use std::fmt::Write;

/// One policy's run on the page.
pub struct Run<'a> {
    pub metrics: &'a Metrics,
    pub series: &'a Series,
}

/// What surrounds a day's figures.
#[derive(Default)]
pub struct Frame {
    /// Links above the title (back to the summary, the day before and after).
    pub nav: String,
    /// The last paragraph: timing, the files next to the page.
    pub footer: String,
}

/// An anchor-safe id for a policy.
pub fn anchor(policy: &str) -> String {
    let id: String = policy
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("p-{id}")
}

/// The page of one day.
pub fn day_page(
    sim: &Simulation,
    runs: &[Run],
    notes: &[String],
    prov: &Provenance,
    frame: &Frame,
) -> String {
    let sc = &sim.scenario;
    let mut h = String::new();
    h.push_str(&frame.nav);
    let _ = writeln!(h, "<h1>{}</h1>", escape(&sc.name));
    if !sc.description.is_empty() {
        let _ = writeln!(h, "<p class=\"sub\">{}</p>", escape(&sc.description));
    }
    for line in summary_with(sim, &|p| prov.file(p)).iter().skip(1) {
        let _ = writeln!(h, "<p class=\"sub\">{}</p>", escape(line));
    }
    h.push_str(&prov.html());
    let names: Vec<&str> = runs.iter().map(|r| r.metrics.policy.as_str()).collect();
    h.push_str(&legend(&names));

    h.push_str("<h2>The policies compared</h2>\n<figure>");
    let pairs: Vec<(&str, &Series)> = runs
        .iter()
        .map(|r| (r.metrics.policy.as_str(), r.series))
        .collect();
    h.push_str(&plot::comparison(
        "Car power of each policy over the solar surplus",
        &pairs,
    ));
    h.push_str("</figure>\n");

    h.push_str("<h2>Scores</h2>\n<table><thead><tr><th></th>");
    for (i, r) in runs.iter().enumerate() {
        h.push_str(&policy_th(i, &r.metrics.policy));
    }
    h.push_str("</tr></thead><tbody>\n");
    let metrics: Vec<&Metrics> = runs.iter().map(|r| r.metrics).collect();
    for (label, cells) in rows(&metrics) {
        let _ = write!(h, "<tr><td>{}</td>", escape(label.trim()));
        for c in cells {
            let _ = write!(h, "<td>{}</td>", escape(&c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
    for n in notes {
        let _ = writeln!(h, "<p class=\"note\">Note: {}</p>", escape(n));
    }
    h.push_str(&glossary());

    h.push_str("<h2>Each policy in detail</h2>\n<nav class=\"noprint\">");
    for n in &names {
        let _ = write!(h, "<a href=\"#{}\">{}</a>", anchor(n), escape(n));
    }
    h.push_str("</nav>\n");
    for (i, r) in runs.iter().enumerate() {
        let m = r.metrics;
        let title = format!(
            "{}: {:.2} kWh from the sun, {:.2} from the grid, {} start{}, {} writes, SoC {:.0} %",
            m.policy,
            m.car_solar_kwh,
            m.car_grid_kwh,
            m.charge_starts,
            if m.charge_starts == 1 { "" } else { "s" },
            m.setpoint_writes,
            m.final_soc_pct
        );
        let _ = writeln!(
            h,
            "<figure id=\"{}\">{}</figure>",
            anchor(&m.policy),
            plot::policy(&title, &m.policy, i, r.series, sc.car.target_soc)
        );
        if r.series.plan.is_some() {
            let title = format!("{}: the departure plan and the price", m.policy);
            let _ = writeln!(
                h,
                "<figure id=\"{}-plan\">{}</figure>",
                anchor(&m.policy),
                plan_plot::plan(&title, &m.policy, i, r.series)
            );
        }
    }
    let _ = writeln!(h, "<p class=\"sub\">{}</p>", frame.footer);
    page(&format!("sunplug simulation: {}", sc.name), &h)
}

/// The single-run `report.html`: `finished` must carry traces; `series` are theirs, in order.
pub fn report(
    sim: &Simulation,
    finished: &[Finished],
    series: &[Series],
    prov: &Provenance,
    files: &[String],
    wall_ms: u64,
) -> String {
    let runs: Vec<Run> = finished
        .iter()
        .zip(series)
        .map(|(f, s)| Run {
            metrics: &f.metrics,
            series: s,
        })
        .collect();
    let notes = notes_for(sim, finished.first().map(|f| &f.outcome));
    let footer = format!(
        "{} policies × {} steps in {wall_ms} ms. Next to this page: {} (per policy, one row per \
         controller step: powers, SoC, the decision and its reason).",
        finished.len(),
        sim.steps(),
        escape(&files.join(", "))
    );
    day_page(
        sim,
        &runs,
        &notes,
        prov,
        &Frame {
            nav: String::new(),
            footer,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::super::page::font_sizes;
    use super::*;
    use crate::sim::{Input, load_policies, run_all, scenario, write_out};
    use std::path::Path;

    /// The shipped broken-cloud day, every shipped policy, written with `--out`.
    #[test]
    fn a_days_report_is_light_self_contained_and_explained() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = root.join("simulations/payerne-broken-clouds.toml");
        let sc = scenario::load(&path).unwrap();
        let input = Input::load(&sc.data).unwrap();
        let policies = load_policies(&sc.policies, true).unwrap();
        let sim = Simulation::new(sc, input);
        let finished = run_all(&sim, policies, true);
        let dir = tempfile::tempdir().unwrap();
        let prov = Provenance {
            command: "sunplug simulate simulations/payerne-broken-clouds.toml --out sim-out".into(),
            scenario: path.clone(),
        };
        write_out(dir.path(), &sim, &finished, 1, &prov).unwrap();
        let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();

        assert!(html.len() < 600_000, "{} bytes: decimate more", html.len());
        assert_eq!(html.matches("<svg").count(), 1 + finished.len());
        for abs in [root.display().to_string(), dir.path().display().to_string()] {
            assert!(!html.contains(&abs), "an absolute path: {abs}");
        }
        assert!(
            html.contains("PV data/bsrn_pay_2016-06-17.csv"),
            "relative to the scenario"
        );
        assert!(html.contains(&prov.command), "the command that made it");
        for term in [
            "Glossary",
            "solar share",
            "capture",
            "optimum",
            "savings",
            "starts",
            "writes",
        ] {
            assert!(
                html.contains(&format!("<dt>{term}")) || html.contains(term),
                "{term}"
            );
        }
        let gloss = &html[html.find("Glossary").unwrap()..];
        assert!(
            gloss.contains("<dt>solar share</dt>") && gloss.contains("<dt>writes</dt>"),
            "the glossary defines the table's terms"
        );
        assert!(html.find("<table").unwrap() < html.find("Glossary").unwrap());
        assert!(!html.contains("<script") && !html.contains("url("));
        assert!(html.contains("@media print"));
        let sizes = font_sizes(&html);
        assert!(sizes.len() > 50, "{}", sizes.len());
        assert!(
            sizes.iter().all(|s| *s >= 11.0),
            "text below 11 px: {sizes:?}"
        );
        for f in &finished {
            let svg = std::fs::read_to_string(dir.path().join(format!("{}.svg", f.metrics.policy)))
                .unwrap();
            assert!(svg.starts_with("<?xml") && svg.len() < 150_000);
            assert!(font_sizes(&svg).iter().all(|s| *s >= 11.0));
            let id = anchor(&f.metrics.policy);
            assert!(
                html.contains(&format!("href=\"#{id}\"")) && html.contains(&format!("id=\"{id}\""))
            );
        }
    }
}
