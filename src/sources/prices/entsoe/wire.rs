//! The A44 answer as sent, read with roxmltree, and its mapping into a [`Series`] of €/MWh.
//!
//! A `Publication_MarketDocument` (namespace `urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3`,
//! matched by local name so a namespace version bump still reads) holds one or more `TimeSeries`,
//! each with `currency_Unit.name` (EUR), `price_Measure_Unit.name` (MWH), `curveType` and `Period`s:
//! `timeInterval/start..end` (UTC, `2026-02-16T23:00Z`), `resolution` (`PT15M`, `PT60M`) and `Point`s
//! of `position` (1-based) and `price.amount`. With curve type A03 ("variable sized block") a
//! position left out repeats the price before it; with A01 every position is given and a missing
//! one stays a gap. When a zone publishes both a 15-min and an hourly series, the finer one wins.
//!
//! An `Acknowledgement_MarketDocument` carries no data, only a `Reason` (`999` "No matching data
//! found ...") and becomes [`Answer::Acknowledgement`]; anything else is an error.

use crate::control::plan::series::{Point, Series};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// What a body said.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Prices in €/MWh.
    Prices(Series),
    /// No data: the reason's code and text.
    Acknowledgement { code: String, text: String },
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.tag_name().name() == name)
}

fn text<'a>(n: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim)
}

/// `2026-02-16T23:00Z` (ENTSO-E leaves out the seconds) or full RFC 3339.
pub fn time(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%MZ")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
}

/// `PT15M`, `PT60M`, `PT1H`, `PT30M`.
pub fn resolution(s: &str) -> Option<Duration> {
    let body = s.strip_prefix("PT")?;
    let (n, unit) = body.split_at(body.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "M" => Some(Duration::minutes(n)),
        "H" => Some(Duration::hours(n)),
        _ => None,
    }
}

/// Read a body. `Err` says what was wrong with it, for a protocol error.
pub fn parse(body: &str) -> Result<Answer, String> {
    let doc = roxmltree::Document::parse(body).map_err(|e| format!("not XML ({e})"))?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "Acknowledgement_MarketDocument" => {
            let reason = child(root, "Reason");
            Ok(Answer::Acknowledgement {
                code: reason.and_then(|r| text(r, "code")).unwrap_or("?").into(),
                text: reason.and_then(|r| text(r, "text")).unwrap_or("").into(),
            })
        }
        "Publication_MarketDocument" => prices(root).map(Answer::Prices),
        other => Err(format!("a <{other}>, not a Publication_MarketDocument")),
    }
}

struct Block {
    step: Duration,
    points: Vec<Point>,
}

fn prices(root: roxmltree::Node<'_, '_>) -> Result<Series, String> {
    if let Some(t) = text(root, "type")
        && t != "A44"
    {
        return Err(format!("document type {t}, not A44 (day-ahead prices)"));
    }
    let mut blocks = Vec::new();
    for ts in root
        .children()
        .filter(|c| c.tag_name().name() == "TimeSeries")
    {
        let currency = text(ts, "currency_Unit.name").unwrap_or("EUR");
        let unit = text(ts, "price_Measure_Unit.name").unwrap_or("MWH");
        if currency != "EUR" || unit != "MWH" {
            return Err(format!(
                "prices in {currency}/{unit}: sunplug reads day-ahead prices in EUR/MWH only"
            ));
        }
        let fill = match text(ts, "curveType").unwrap_or("A01") {
            "A01" => false,
            "A03" => true,
            other => return Err(format!("curve type {other}: only A01 and A03 are known")),
        };
        for period in ts.children().filter(|c| c.tag_name().name() == "Period") {
            blocks.push(period_points(period, fill)?);
        }
    }
    // The finest resolution first: Series::new keeps the first of overlapping points.
    blocks.sort_by_key(|b| b.step);
    Ok(Series::new(
        blocks.into_iter().flat_map(|b| b.points).collect(),
    ))
}

fn period_points(period: roxmltree::Node<'_, '_>, fill: bool) -> Result<Block, String> {
    let iv = child(period, "timeInterval").ok_or("a Period without timeInterval")?;
    let when = |name: &str| {
        let raw = text(iv, name).unwrap_or("");
        time(raw).ok_or_else(|| format!("timeInterval {name} \"{raw}\" is not a UTC time"))
    };
    let (start, end) = (when("start")?, when("end")?);
    let raw = text(period, "resolution").unwrap_or("");
    let step =
        resolution(raw).ok_or_else(|| format!("resolution \"{raw}\" is not PTnM or PTnH"))?;
    let span = (end - start).num_minutes();
    if span <= 0 || span % step.num_minutes() != 0 {
        return Err(format!(
            "the period {start}..{end} is not a whole number of {raw} steps"
        ));
    }
    let slots = span / step.num_minutes();
    let mut given: Vec<(i64, f64)> = Vec::new();
    for p in period.children().filter(|c| c.tag_name().name() == "Point") {
        let pos = text(p, "position").unwrap_or("");
        let price = text(p, "price.amount").unwrap_or("");
        let n: i64 = pos
            .parse()
            .ok()
            .filter(|n| (1..=slots).contains(n))
            .ok_or_else(|| format!("position \"{pos}\" outside 1..={slots}"))?;
        let v: f64 = price
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("price.amount \"{price}\" at position {n} is not a number"))?;
        given.push((n, v));
    }
    given.sort_by_key(|(n, _)| *n);
    let mut points = Vec::with_capacity(slots as usize);
    for (i, (n, v)) in given.iter().enumerate() {
        // A03: the price holds until the next given position (or the period's end).
        let until = match (fill, given.get(i + 1)) {
            (true, Some((next, _))) => *next,
            (true, None) => slots + 1,
            (false, _) => n + 1,
        };
        for k in *n..until {
            let s = start + step * (k - 1) as i32;
            points.push(Point {
                start: s,
                end: s + step,
                value: *v,
            });
        }
    }
    Ok(Block { step, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(series: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Publication_MarketDocument \
             xmlns=\"urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3\"><type>A44</type>{series}</Publication_MarketDocument>"
        )
    }

    fn series(curve: &str, res: &str, start: &str, end: &str, points: &[(i64, f64)]) -> String {
        let pts: String = points
            .iter()
            .map(|(n, v)| {
                format!("<Point><position>{n}</position><price.amount>{v}</price.amount></Point>")
            })
            .collect();
        format!(
            "<TimeSeries><currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>\
             <curveType>{curve}</curveType><Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval>\
             <resolution>{res}</resolution>{pts}</Period></TimeSeries>"
        )
    }

    fn values(a: Answer) -> Vec<f64> {
        match a {
            Answer::Prices(s) => s.points().iter().map(|p| p.value).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a03_repeats_left_out_positions_and_a01_keeps_gaps() {
        let body = doc(&series(
            "A03",
            "PT15M",
            "2026-10-06T22:00Z",
            "2026-10-06T23:00Z",
            &[(1, 10.0), (3, 30.0)],
        ));
        assert_eq!(values(parse(&body).unwrap()), [10.0, 10.0, 30.0, 30.0]);
        let body = doc(&series(
            "A01",
            "PT15M",
            "2026-10-06T22:00Z",
            "2026-10-06T23:00Z",
            &[(1, 10.0), (3, 30.0)],
        ));
        assert_eq!(values(parse(&body).unwrap()), [10.0, 30.0]);
    }

    #[test]
    fn the_finer_series_wins_where_both_cover() {
        let body = doc(&format!(
            "{}{}",
            series(
                "A03",
                "PT60M",
                "2026-10-06T22:00Z",
                "2026-10-07T00:00Z",
                &[(1, 50.0), (2, 60.0)]
            ),
            series(
                "A03",
                "PT15M",
                "2026-10-06T22:00Z",
                "2026-10-06T23:00Z",
                &[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
            ),
        ));
        assert_eq!(values(parse(&body).unwrap()), [1.0, 2.0, 3.0, 4.0, 60.0]);
    }

    #[test]
    fn acknowledgements_and_bad_documents() {
        let ack = "<Acknowledgement_MarketDocument xmlns=\"urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0\">\
                   <Reason><code>999</code><text>No matching data found</text></Reason></Acknowledgement_MarketDocument>";
        assert_eq!(
            parse(ack).unwrap(),
            Answer::Acknowledgement {
                code: "999".into(),
                text: "No matching data found".into()
            }
        );
        assert!(parse("<html>oops").unwrap_err().contains("not XML"));
        assert!(parse("<Other/>").unwrap_err().contains("Other"));
        let beyond = doc(&series(
            "A03",
            "PT60M",
            "2026-10-06T22:00Z",
            "2026-10-06T23:00Z",
            &[(2, 1.0)],
        ));
        assert!(parse(&beyond).unwrap_err().contains("position"));
        let bad_res = doc(&series(
            "A03",
            "P1D",
            "2026-10-06T22:00Z",
            "2026-10-06T23:00Z",
            &[(1, 1.0)],
        ));
        assert!(parse(&bad_res).unwrap_err().contains("resolution"));
        let gbp = doc(&series(
            "A01",
            "PT60M",
            "2026-10-06T22:00Z",
            "2026-10-06T23:00Z",
            &[(1, 1.0)],
        ))
        .replace(">EUR<", ">GBP<");
        assert!(parse(&gbp).unwrap_err().contains("GBP"));
        assert_eq!(resolution("PT1H"), Some(Duration::hours(1)));
        assert_eq!(time("2026-10-06T22:00Z"), time("2026-10-06T22:00:00Z"));
    }
}
