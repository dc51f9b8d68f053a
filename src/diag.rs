//! Diagnostics for TOML files: every problem with its file, key, line and a hint.
//!
//! Owns: [`Problem`] and [`Problems`] (the list `check-config` prints), [`parse_all`] (a strict serde
//! parse that keeps going after an error so that one run reports every bad key), and [`KeyIndex`]
//! (key path → line, for problems found after parsing).
//!
//! How `parse_all` finds more than one error: serde stops at the first bad key. We record it, blank
//! that key's line range out of the text (keeping newlines, so line numbers stay true) and parse
//! again, until the file parses or an error cannot be pinned to a key.

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// One problem in a config or policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Dotted key path, e.g. `smappee.password_file`; empty for whole-file problems.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (a.file.as_path(), a.line.unwrap_or(usize::MAX))
                .cmp(&(b.file.as_path(), b.line.unwrap_or(usize::MAX)))
        });
        self.0.dedup();
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} problem{} found:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Where each key of a TOML document is: its dotted path, the line of the key, and the byte range
/// from the key to the end of its value.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    entries: Vec<(String, usize, Range<usize>, Range<usize>)>,
}

impl KeyIndex {
    pub fn build(text: &str) -> KeyIndex {
        let (doc, _) = DeTable::parse_recoverable(text);
        let mut idx = KeyIndex::default();
        idx.walk(text, "", doc.get_ref());
        idx
    }

    fn walk(&mut self, text: &str, prefix: &str, table: &DeTable<'_>) {
        for (k, v) in table.iter() {
            let path = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            let key_span = k.span();
            let line = line_of(text, key_span.start);
            let whole = key_span.start.min(v.span().start)..v.span().end.max(key_span.end);
            self.entries.push((path.clone(), line, key_span, whole));
            match v.get_ref() {
                DeValue::Table(t) => self.walk(text, &path, t),
                DeValue::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let DeValue::Table(t) = item.get_ref() {
                            self.walk(text, &format!("{path}[{i}]"), t);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The line of a dotted key, or of its closest written parent (a missing key is reported at its
    /// section header).
    pub fn line(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(e) = self.entries.iter().find(|e| e.0 == k) {
                return Some(e.1);
            }
            k = &k[..k.rfind('.')?];
        }
    }

    /// Whether the key is written in the file.
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.0 == key)
    }

    /// The innermost key whose key or value contains `span`.
    fn at(&self, span: &Range<usize>) -> Option<&(String, usize, Range<usize>, Range<usize>)> {
        self.entries
            .iter()
            .filter(|e| e.3.start <= span.start && span.end <= e.3.end.max(e.3.start + 1))
            .min_by_key(|e| e.3.end - e.3.start)
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parse `text` strictly into `T`, collecting every serde error with its key and line. Returns the
/// value parsed once the offending keys are blanked out (so that later checks can still run on the
/// rest), or `None` if the file cannot be parsed at all.
pub fn parse_all<T: DeserializeOwned>(file: &Path, text: &str) -> (Option<T>, Problems) {
    let mut problems = Problems::default();
    if let Err(e) = DeTable::parse(text) {
        problems.push(Problem {
            file: file.to_path_buf(),
            key: String::new(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: format!("not valid TOML: {}", first_line(e.message())),
        });
        return (None, problems);
    }
    let mut current = text.to_string();
    for _ in 0..200 {
        match toml::from_str::<T>(&current) {
            Ok(v) => {
                problems.sort();
                return (Some(v), problems);
            }
            Err(e) => {
                let idx = KeyIndex::build(&current);
                let span = e.span();
                let entry = span.as_ref().and_then(|s| idx.at(s));
                let message = humanize(e.message());
                match entry {
                    Some((key, line, _, whole))
                        if !whole.is_empty() && !is_table_header(&current, whole) =>
                    {
                        problems.push(Problem {
                            file: file.to_path_buf(),
                            key: key.clone(),
                            line: Some(*line),
                            message,
                        });
                        blank(&mut current, whole.clone());
                    }
                    other => {
                        problems.push(Problem {
                            file: file.to_path_buf(),
                            key: other.map(|e| e.0.clone()).unwrap_or_default(),
                            line: other
                                .map(|e| e.1)
                                .or_else(|| span.map(|s| line_of(text, s.start))),
                            message,
                        });
                        problems.sort();
                        return (None, problems);
                    }
                }
            }
        }
    }
    problems.sort();
    (None, problems)
}

fn is_table_header(text: &str, span: &Range<usize>) -> bool {
    text[span.clone()].trim_start().starts_with('[')
}

/// Replace a byte range with spaces, keeping line breaks.
fn blank(text: &mut String, range: Range<usize>) {
    let replaced: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Multi-byte characters become one space each; pad so offsets after the range stay put.
    let pad = (range.end - range.start).saturating_sub(replaced.len());
    text.replace_range(range, &(replaced + " ".repeat(pad).as_str()));
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Serde's messages, reworded where they are unclear to a person editing a file.
fn humanize(msg: &str) -> String {
    let msg = first_line(msg);
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        // "unknown field `foo`, expected one of `a`, `b`": suggest the nearest name.
        let (name, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let name = name.trim_matches('`');
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = nearest(name, &candidates)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_else(|| {
                if candidates.is_empty() {
                    String::new()
                } else {
                    format!("; valid keys here: {}", candidates.join(", "))
                }
            });
        return format!("unknown key `{name}`{hint}");
    }
    msg.to_string()
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        a: Section,
        #[serde(default)]
        b: Section,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Section {
        interval: u32,
        name: String,
    }

    #[test]
    fn reports_every_bad_key_with_its_line() {
        let text = "[a]\nintervl = 3\nname = \"x\"\n\n[b]\ninterval = \"soon\"\nname = 4\n";
        let (doc, problems) = parse_all::<Doc>(Path::new("t.toml"), text);
        assert!(doc.is_some(), "the rest still parses: {problems}");
        let got: Vec<(String, Option<usize>)> =
            problems.iter().map(|p| (p.key.clone(), p.line)).collect();
        assert_eq!(
            got,
            vec![
                ("a.intervl".into(), Some(2)),
                ("b.interval".into(), Some(6)),
                ("b.name".into(), Some(7))
            ],
            "{problems}"
        );
        assert!(
            problems.0[0].message.contains("did you mean `interval`"),
            "{problems}"
        );
    }

    #[test]
    fn broken_toml_is_one_problem_with_a_line() {
        let (doc, problems) = parse_all::<Doc>(Path::new("t.toml"), "[a]\ninterval = = 3\n");
        assert!(doc.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems.0[0].line, Some(2));
    }

    #[test]
    fn key_index_finds_nested_keys_and_falls_back_to_parents() {
        let idx = KeyIndex::build("[site]\nname = \"x\"\n\n[surplus.pv]\ntopic = \"t\"\n");
        assert_eq!(idx.line("site.name"), Some(2));
        assert_eq!(idx.line("surplus.pv.topic"), Some(5));
        assert_eq!(idx.line("site.timezone"), Some(1));
        assert!(idx.has("surplus.pv"));
        assert!(!idx.has("site.timezone"));
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(
            nearest("max_curent_a", &["max_current_a", "min_current_a"]),
            Some("max_current_a")
        );
        assert_eq!(nearest("zzz", &["max_current_a"]), None);
    }
}
