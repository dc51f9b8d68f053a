//! The page `sunplug tune` writes beside the tuned policy (`OUTPUT.html`): every variant as a dot of
//! savings against starts on the training days, the Pareto front joined and numbered, the chosen
//! variant ringed, the same dots on the validation days (does the front hold on days it was not
//! tuned on?), and the front as a table with its knobs.
//!
//! Owns: [`page`] and its scatter chart. The tuning itself is [`super::tune`].

use super::Metrics;
use super::page::{escape, glossary, page as frame};
use super::plot::colour;
use super::svg::{Frame, LEFT, nice_ticks, open_titled, text};
use super::tune::Scored;
use std::fmt::Write;

/// What the page shows.
pub struct View<'a> {
    /// The command, as typed.
    pub command: String,
    /// The policy file tuned and the file written, as the tune file names them.
    pub policy: String,
    pub output: String,
    pub objective: String,
    /// Training and validation dates.
    pub training: Vec<String>,
    pub validation: Vec<String>,
    /// Per variant: its knob settings in words.
    pub knobs: Vec<String>,
    pub scored: &'a [Scored],
    pub front: &'a [usize],
    pub best: usize,
}

/// Savings (€, up) against starts (right) for each variant; `pick` chooses training or validation.
fn scatter(title: &str, v: &View, pick: &dyn Fn(&Scored) -> Option<&Metrics>) -> String {
    let pts: Vec<(usize, f64, f64)> = v
        .scored
        .iter()
        .enumerate()
        .filter_map(|(i, s)| pick(s).map(|m| (i, m.charge_starts as f64, m.savings_eur)))
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().map(|p| (p.1, p.2)).unzip();
    let span = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.08).max(0.5);
        (lo - pad, hi + pad)
    };
    let (x_lo, x_hi) = span(&xs);
    let (y_lo, y_hi) = span(&ys);
    let (x_lo, y_lo) = (x_lo.max(0.0).min(x_hi), y_lo);
    // Starts are whole numbers: whole ticks only.
    let mut xt: Vec<f64> = nice_ticks(x_lo, x_hi, 8)
        .into_iter()
        .filter(|x| x.fract() == 0.0)
        .collect();
    if xt.len() < 2 {
        xt = (x_lo.ceil() as i64..=x_hi.floor() as i64)
            .map(|x| x as f64)
            .collect();
    }
    let yt = nice_ticks(y_lo, y_hi, 6);
    let f = Frame::full_width((x_lo, x_hi), (y_lo, y_hi), 76.0, 340.0);
    let height = f.bottom() + 56.0;
    let mut o = open_titled(height, title);
    let front_c = colour(0);
    let best_c = colour(1);
    let _ = writeln!(o, "<g class=\"legend\">");
    let _ = writeln!(
        o,
        "<circle cx=\"{}\" cy=\"42\" r=\"4\" fill=\"#999\"/>",
        LEFT + 6.0
    );
    text(&mut o, LEFT + 16.0, 46.0, "start", 13.0, "", "a variant");
    let _ = writeln!(
        o,
        "<circle cx=\"{}\" cy=\"42\" r=\"5.5\" fill=\"{front_c}\"/>",
        LEFT + 106.0
    );
    text(
        &mut o,
        LEFT + 116.0,
        46.0,
        "start",
        13.0,
        "",
        "Pareto front on the training days (#variant)",
    );
    let _ = writeln!(
        o,
        "<circle cx=\"{}\" cy=\"42\" r=\"9\" fill=\"none\" stroke=\"{best_c}\" stroke-width=\"2.5\"/>",
        LEFT + 426.0
    );
    text(&mut o, LEFT + 442.0, 46.0, "start", 13.0, "", "chosen");
    let _ = writeln!(o, "</g>");
    f.y_axis(&mut o, &yt, &|v| format!("{v:.2}"));
    for &x in &xt {
        let px = f.px(x);
        let _ = writeln!(
            o,
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e6e6e6\"/>",
            f.top,
            f.bottom()
        );
        text(
            &mut o,
            px,
            f.bottom() + 17.0,
            "middle",
            13.0,
            "",
            &format!("{x:.0}"),
        );
    }
    let _ = writeln!(
        o,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#bbb\"/>",
        f.left, f.top, f.width, f.height
    );
    text(
        &mut o,
        LEFT - 8.0,
        f.top - 12.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "savings €",
    );
    text(
        &mut o,
        f.left + f.width,
        f.bottom() + 38.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "charge starts (fewer is kinder to the car's contactor)",
    );
    for &(i, x, y) in &pts {
        if !v.front.contains(&i) {
            let _ = writeln!(
                o,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#999\" fill-opacity=\"0.7\"><title>#{i}: {}</title></circle>",
                f.px(x),
                f.py(y),
                escape(&v.knobs[i])
            );
        }
    }
    let mut front: Vec<(f64, f64, usize)> = pts
        .iter()
        .filter(|p| v.front.contains(&p.0))
        .map(|p| (p.1, p.2, p.0))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let line: Vec<(f64, f64)> = front.iter().map(|p| (p.0, p.1)).collect();
    f.line(
        &mut o,
        &line,
        &format!("stroke=\"{front_c}\" stroke-width=\"1.5\""),
    );
    for &(x, y, i) in &front {
        let (px, py) = (f.px(x), f.py(y));
        let _ = writeln!(
            o,
            "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"5.5\" fill=\"{front_c}\"><title>#{i}: {}</title></circle>",
            escape(&v.knobs[i])
        );
        text(
            &mut o,
            px + 9.0,
            py - 8.0,
            "start",
            12.0,
            "",
            &format!("#{i}"),
        );
    }
    if let Some(&(_, x, y)) = pts.iter().find(|p| p.0 == v.best) {
        let _ = writeln!(
            o,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"9\" fill=\"none\" stroke=\"{best_c}\" stroke-width=\"2.5\"/>",
            f.px(x),
            f.py(y)
        );
    }
    o.push_str("</svg>\n");
    o
}

/// The page.
pub fn page(v: &View) -> String {
    let mut h = String::new();
    let _ = writeln!(h, "<h1>Tuning {}</h1>", escape(&v.policy));
    let _ = writeln!(
        h,
        "<p class=\"sub\">{} variants, best by {} on {} training day{} ({}); validation on {} \
         day{} they were not tuned on ({}). The chosen variant, #{}, was written to {}.</p>",
        v.scored.len(),
        escape(&v.objective),
        v.training.len(),
        if v.training.len() == 1 { "" } else { "s" },
        escape(&v.training.join(", ")),
        v.validation.len(),
        if v.validation.len() == 1 { "" } else { "s" },
        escape(&v.validation.join(", ")),
        v.best,
        escape(&v.output)
    );
    let _ = writeln!(
        h,
        "<p class=\"sub\">Made by</p><code class=\"cmd\">{}</code>",
        escape(&v.command)
    );
    h.push_str("<h2>Savings against starts</h2>\n<figure>");
    h.push_str(&scatter("Training days", v, &|s| Some(&s.train)));
    h.push_str("</figure>\n");
    if v.scored.iter().any(|s| s.validation.is_some()) {
        h.push_str("<figure>");
        h.push_str(&scatter(
            "Validation days (the training front marked)",
            v,
            &|s| s.validation.as_ref(),
        ));
        h.push_str("</figure>\n");
    }
    h.push_str(
        "<h2>The Pareto front</h2>\n<p>and the chosen variant, listed last when it is off the \
         front. <i>short</i>: days the car took 5 kWh or more at a solar share below the objective's.</p>\n\
         <table><thead><tr><th>#</th><th>knobs</th><th>training €</th>\
         <th>capture</th><th>starts</th><th>share</th><th>short</th><th>validation €</th>\
         <th>capture</th><th>starts</th><th>share</th><th>short</th></tr></thead><tbody>\n",
    );
    let chosen_off_front = (!v.front.contains(&v.best)).then_some(v.best);
    for &i in v.front.iter().chain(chosen_off_front.iter()) {
        let s = &v.scored[i];
        let t = &s.train;
        let cell = |f: &dyn Fn(&Metrics) -> String| s.validation.as_ref().map_or("–".into(), f);
        let _ = writeln!(
            h,
            "<tr{}><td>{i}{}</td><td class=\"l\">{}</td><td>{:.2}</td><td>{:.3}</td><td>{}</td>\
             <td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if i == v.best { " class=\"sum\"" } else { "" },
            if i == v.best { " (chosen)" } else { "" },
            escape(&v.knobs[i]),
            t.savings_eur,
            t.savings_capture,
            t.charge_starts,
            t.solar_share,
            s.short_days.0,
            cell(&|m| format!("{:.2}", m.savings_eur)),
            cell(&|m| format!("{:.3}", m.savings_capture)),
            cell(&|m| m.charge_starts.to_string()),
            cell(&|m| format!("{:.3}", m.solar_share)),
            cell(&|_| s.short_days.1.to_string()),
        );
    }
    h.push_str("</tbody></table>\n");
    h.push_str(&glossary());
    frame(&format!("sunplug tune: {}", v.policy), &h)
}
