//! `report.html`: the scenario, the comparison table and every policy's plot side by side, in one
//! self-contained file (the SVGs are inlined, so it can be mailed or attached to an issue as is).
//!
//! Owns: [`report`] and the HTML escaping it needs.

use super::report::{notes, rows, summary};
use super::{Finished, Simulation};
use std::fmt::Write;

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page. `svgs` are (policy, SVG text) in table order.
pub fn report(
    sim: &Simulation,
    finished: &[Finished],
    svgs: &[(String, String)],
    wall_ms: u64,
) -> String {
    let mut h = String::new();
    let title = format!("sunplug simulation: {}", sim.scenario.name);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}}\
         table{{border-collapse:collapse;margin:1rem 0}}td,th{{padding:.25rem .7rem;border-bottom:1px solid #ddd}}\
         td{{text-align:right;font-variant-numeric:tabular-nums}}td:first-child{{text-align:left}}\
         .plots{{display:flex;flex-wrap:wrap;gap:1rem}}.plots figure{{margin:0;flex:1 1 540px;min-width:540px}}\
         .plots svg{{width:100%;height:auto;border:1px solid #eee}}p.s{{margin:.2rem 0;color:#444}}\
         </style></head><body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    for line in summary(sim) {
        let _ = writeln!(h, "<p class=\"s\">{}</p>", escape(&line));
    }
    let _ = write!(h, "<table><thead><tr><th></th>");
    for f in finished {
        let _ = write!(h, "<th>{}</th>", escape(&f.metrics.policy));
    }
    let _ = writeln!(h, "</tr></thead><tbody>");
    for (label, cells) in rows(finished) {
        let _ = write!(h, "<tr><td>{}</td>", escape(label.trim()));
        for c in cells {
            let _ = write!(h, "<td>{}</td>", escape(&c));
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</tbody></table>");
    for n in notes(sim, finished) {
        let _ = writeln!(h, "<p class=\"s\">note: {}</p>", escape(&n));
    }
    let _ = writeln!(h, "<div class=\"plots\">");
    for (policy, svg) in svgs {
        let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
        let _ = writeln!(
            h,
            "<figure>{body}<figcaption>{}</figcaption></figure>",
            escape(policy)
        );
    }
    let _ = writeln!(
        h,
        "</div>\n<p class=\"s\">{} policies × {} steps in {wall_ms} ms. Definitions: README, section \"Simulator\". \
         Per-policy traces: the CSV files next to this page.</p>\n</body></html>",
        finished.len(),
        sim.steps()
    );
    h
}
