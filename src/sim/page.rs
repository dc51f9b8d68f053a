//! The frame every simulator page shares: one self-contained HTML file (inline CSS, no scripts, no
//! fonts or images from elsewhere) with a print stylesheet, the policies' colour legend, the
//! glossary, and where the figures came from (the command, file names relative to the scenario).
//!
//! Owns: [`page`], [`CSS`], [`legend`], [`glossary`], [`Provenance`] and [`relative`]. The pages
//! themselves: [`super::html`] (a day), [`super::days_html`] (many days), [`super::tune_html`].

use super::plot::colour;
pub use super::svg::escape;
use std::fmt::Write;
use std::path::{Component, Path, PathBuf};

/// The pages' stylesheet. No text below 12 px on screen or on paper.
pub const CSS: &str = "\
:root{color-scheme:light}\
*{box-sizing:border-box}\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d1d1f;background:#fff;\
max-width:1368px;margin:0 auto;padding:12px 24px 40px}\
h1{font-size:24px;margin:8px 0 6px}\
h2{font-size:19px;margin:30px 0 8px;padding-bottom:4px;border-bottom:1px solid #ddd}\
h3{font-size:16px;margin:18px 0 6px}\
p{margin:4px 0}.sub{color:#444}.note{color:#8a4b00}\
a{color:#0b5cad}\
code,.cmd{font:13px/1.4 ui-monospace,'DejaVu Sans Mono',Menlo,monospace;background:#f3f3f3;padding:1px 5px;border-radius:3px}\
.cmd{display:block;padding:6px 10px;margin:6px 0;white-space:pre-wrap;overflow-wrap:anywhere}\
table{border-collapse:collapse;font-size:14px;font-variant-numeric:tabular-nums;margin:8px 0}\
th,td{padding:4px 10px;border-bottom:1px solid #e4e4e4;text-align:right;vertical-align:middle}\
th{font-weight:600;background:#fafafa}th:first-child,td:first-child{text-align:left}\
td.l{text-align:left}tr.sum td{font-weight:600;background:#f7f7f7}tr.group td{background:#eef3f8;font-weight:600;text-align:left}\
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}\
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0}\
figure{margin:10px 0 22px}svg{display:block;width:100%;height:auto}\
nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 0}\
dl.gloss{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;font-size:14px;margin:8px 0}\
dl.gloss dt{font-weight:600}dl.gloss dd{margin:0}\
.bars{display:grid;gap:2px;min-width:190px}\
.bar{display:grid;grid-template-columns:1fr 52px;align-items:center;gap:6px;font-size:12px;line-height:12px}\
.bar i{display:block;height:9px;border-radius:1px}.bar span{text-align:right}\
@media print{\
body{max-width:none;padding:0;font-size:12px}\
h2{break-after:avoid}figure,table,tr,dl{break-inside:avoid}\
a{color:inherit;text-decoration:none}nav,.noprint{display:none}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}\
@page{size:A4 landscape;margin:12mm}\
}";

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>\n<style>{CSS}</style></head>\n<body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// The policies with their colours, as the charts draw them.
pub fn legend(policies: &[&str]) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for (i, p) in policies.iter().enumerate() {
        let _ = write!(
            s,
            "<span><span class=\"sw\" style=\"background:{}\"></span>{}</span>",
            colour(i),
            escape(p)
        );
    }
    s.push_str("</div>\n");
    s
}

/// A table header cell for the `i`-th policy, with its colour.
pub fn policy_th(i: usize, name: &str) -> String {
    format!(
        "<th><span class=\"sw\" style=\"background:{}\"></span>{}</th>",
        colour(i),
        escape(name)
    )
}

/// What the figures mean, as the README's "Definitions" say it.
pub fn glossary() -> String {
    let terms = [
        (
            "car solar / car grid",
            "the car's energy taken from the surplus (PV − house load, without the car) at each step, and the rest, taken from the grid",
        ),
        ("export", "solar the site still sent to the grid"),
        ("solar share", "car solar ÷ car energy"),
        (
            "oracle solar",
            "the most solar the car could have taken with perfect foresight without importing: the surplus where it is above the car's least power, up to its most, over the plug-in sessions, capped by what the car needed",
        ),
        (
            "capture (oracle capture)",
            "car solar ÷ oracle solar; above 1 when a policy holds the floor from the grid through a dip and takes that dip's solar (\"solar in dips\")",
        ),
        (
            "savings",
            "what charging cost less than taking all the car's energy from the grid, under the scenario's tariff (feed-in lost on the car's solar, a small cost per start)",
        ),
        (
            "optimum (optimum savings)",
            "the savings of the perfect-foresight schedule on the same days; savings capture = savings ÷ optimum",
        ),
        (
            "starts",
            "times the car went from not drawing current to drawing current (▲ in the charts; ▽ is a stop)",
        ),
        (
            "writes",
            "setpoint requests sent to the charger after the writer's de-duplication: each is a call to Smappee's cloud",
        ),
        (
            "target met",
            "every plug-in session reached the car's target SoC by its departure",
        ),
    ];
    let mut s = String::from("<h3>Glossary</h3>\n<dl class=\"gloss\">\n");
    for (t, d) in terms {
        let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(t), escape(d));
    }
    s.push_str("</dl>\n");
    s
}

/// Where a page's figures came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The command that made the report, as typed (paths under the working directory relative).
    pub command: String,
    /// The scenario file; data files are shown relative to its directory.
    pub scenario: PathBuf,
}

impl Provenance {
    /// From the process's arguments.
    pub fn from_args(scenario: &Path) -> Provenance {
        let cwd = std::env::current_dir().unwrap_or_default();
        let words: Vec<String> = std::env::args()
            .enumerate()
            .map(|(i, a)| {
                if i == 0 {
                    return "sunplug".to_string();
                }
                // An absolute path outside the working directory is shown by its name only: the
                // report is meant to be shared, the asker's directories are not.
                let p = Path::new(&a);
                match p.strip_prefix(&cwd) {
                    Ok(rel) if p.is_absolute() => rel.display().to_string(),
                    _ if p.is_absolute() => p
                        .file_name()
                        .map_or(a.clone(), |n| n.to_string_lossy().into_owned()),
                    _ => a,
                }
            })
            .map(|w| if w.contains(' ') { format!("'{w}'") } else { w })
            .collect();
        Provenance {
            command: words.join(" "),
            scenario: scenario.to_path_buf(),
        }
    }

    /// A file as seen from the scenario's directory.
    pub fn file(&self, p: &Path) -> String {
        relative(p, self.scenario.parent().unwrap_or(Path::new("")))
    }

    /// The lines saying it, for a page's head.
    pub fn html(&self) -> String {
        format!(
            "<p class=\"sub\">Made by</p><code class=\"cmd\">{}</code>\n",
            escape(&self.command)
        )
    }
}

fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// `path` relative to the directory `base` (with `..` where needed), `/` separated.
pub fn relative(path: &Path, base: &Path) -> String {
    let (p, b) = (absolute(path), absolute(base));
    let pc: Vec<Component> = p.components().collect();
    let bc: Vec<Component> = b.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); bc.len() - common];
    parts.extend(
        pc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Every `font-size` in CSS (`font-size:Npx`, `font:Npx`) and SVG (`font-size="N"`), in px.
#[cfg(test)]
pub(crate) fn font_sizes(text: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for key in ["font-size:", "font:", "font-size=\""] {
        for (i, _) in text.match_indices(key) {
            let rest = &text[i + key.len()..];
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            if let Ok(v) = num.parse::<f64>() {
                let unit = &rest[num.len()..];
                assert!(
                    key == "font-size=\"" || unit.starts_with("px"),
                    "font sizes in px only: {key}{num}{}",
                    &unit[..unit.len().min(4)]
                );
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_scenario() {
        assert_eq!(
            relative(Path::new("/a/b/data/x.csv"), Path::new("/a/b")),
            "data/x.csv"
        );
        assert_eq!(
            relative(
                Path::new("/a/shared/corpus/pv/x.csv"),
                Path::new("/a/b/sim")
            ),
            "../../shared/corpus/pv/x.csv"
        );
        let p = Provenance {
            command: String::new(),
            scenario: PathBuf::from("simulations/day.toml"),
        };
        assert_eq!(p.file(Path::new("simulations/data/pv.csv")), "data/pv.csv");
        assert_eq!(
            p.file(Path::new("simulations/../../shared/data/corpus/pv/a.csv")),
            "../../shared/data/corpus/pv/a.csv"
        );
    }

    #[test]
    fn every_css_font_is_at_least_12_px() {
        let sizes = font_sizes(CSS);
        assert!(sizes.len() >= 5, "{sizes:?}");
        assert!(sizes.iter().all(|s| *s >= 12.0), "{sizes:?}");
    }
}
