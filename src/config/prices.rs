//! `[prices]`: where the import price per slot comes from, and how a spot price becomes the
//! household's price (`price = spot × factor + adder`, per kWh in the config's currency).
//!
//! Owns: [`PricesSection`] and its check. Sources: `fixed` (a flat price or 24 local-hour prices
//! here in the file) and `awattar` (the aWATTar day-ahead list for DE or AT, `sources::prices`).
//! The section validates alone; the client and the table layout live in `sources::prices`.

use super::values::HumanDuration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// Prices written here: `import`.
    #[default]
    Fixed,
    /// aWATTar's public day-ahead list (EPEX spot, €/MWh).
    Awattar,
}

/// aWATTar's two markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    #[default]
    De,
    At,
}

/// One price, or 24 (local hours 0..23).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FixedImport {
    Flat(f64),
    ByHour(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricesSection {
    pub source: PriceSource,
    /// `fixed`: per kWh, one number or 24 local-hour prices.
    pub import: Option<FixedImport>,
    /// Spot sources: `price = spot per kWh × factor + adder` (VAT and fixed surcharges).
    pub factor: f64,
    pub adder: f64,
    /// Spot sources: the price of a slot no fresh list covers (per kWh).
    pub fallback: Option<f64>,
    pub market: Market,
    /// Spot sources: the API's base URL (tests aim it at the emulator).
    pub base_url: Option<String>,
    /// Fetch this often (aWATTar allows about 100 requests a day).
    pub refresh: HumanDuration,
    /// A list older than this is ignored.
    pub max_age: HumanDuration,
}

impl Default for PricesSection {
    fn default() -> PricesSection {
        PricesSection {
            source: PriceSource::Fixed,
            import: None,
            factor: 1.0,
            adder: 0.0,
            fallback: None,
            market: Market::De,
            base_url: None,
            refresh: HumanDuration::secs(3600),
            max_age: HumanDuration::secs(36 * 3600),
        }
    }
}

fn plausible(v: f64) -> bool {
    v.is_finite() && (-10.0..=10.0).contains(&v)
}

impl PricesSection {
    /// Every problem, as (key under `prices.`, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        match (self.source, &self.import) {
            (PriceSource::Fixed, None) => v.push((
                "import",
                "missing: with source = \"fixed\" give one price per kWh, or 24 (local hours 0..23)"
                    .into(),
            )),
            (_, Some(FixedImport::Flat(p))) if !plausible(*p) => {
                v.push(("import", format!("{p} per kWh is not plausible: use -10..10")))
            }
            (_, Some(FixedImport::ByHour(t))) if t.len() != 24 => v.push((
                "import",
                format!("a time-of-use table needs 24 prices (local hours 0..23), not {}", t.len()),
            )),
            (_, Some(FixedImport::ByHour(t))) => {
                if let Some((h, p)) = t.iter().enumerate().find(|(_, p)| !plausible(**p)) {
                    v.push(("import", format!("hour {h}: {p} per kWh is not plausible: use -10..10")));
                }
            }
            _ => {}
        }
        if self.source == PriceSource::Fixed && self.import.is_some() && self.fallback.is_some() {
            v.push((
                "fallback",
                "only used with a spot source (source = \"awattar\")".into(),
            ));
        }
        if self.source != PriceSource::Fixed {
            match self.fallback {
                None => v.push((
                    "fallback",
                    "missing: the price per kWh to plan an hour at when no fresh list covers it"
                        .into(),
                )),
                Some(f) if !plausible(f) => v.push((
                    "fallback",
                    format!("{f} per kWh is not plausible: use -10..10"),
                )),
                _ => {}
            }
        }
        if !(self.factor.is_finite() && (0.0..=10.0).contains(&self.factor)) {
            v.push((
                "factor",
                format!("{}: use 0..10 (e.g. 1.19 for 19 % VAT)", self.factor),
            ));
        }
        if !plausible(self.adder) {
            v.push(("adder", format!("{}: use -10..10 per kWh", self.adder)));
        }
        if let Some(u) = &self.base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            v.push(("base_url", format!("\"{u}\" is not an http(s) URL")));
        }
        if self.refresh.as_secs_f64() < 900.0 {
            v.push((
                "refresh",
                "at least 15m: aWATTar allows about 100 requests a day".into(),
            ));
        }
        if self.max_age < self.refresh {
            v.push(("max_age", "must be at least refresh".into()));
        }
        v
    }

    /// The spot map: spot €/MWh → price per kWh.
    pub fn map_spot(&self, spot_per_mwh: f64) -> f64 {
        spot_per_mwh / 1000.0 * self.factor + self.adder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PricesSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn checks_name_every_problem() {
        assert!(parse("import = 0.3").check().is_empty());
        let keys = |s: &PricesSection| s.check().into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(&parse("")), ["import"]);
        assert_eq!(keys(&parse("import = [0.3, 0.2]")), ["import"]);
        assert_eq!(
            keys(&parse(
                "source = \"awattar\"\nfactor = -1\nrefresh = \"5m\""
            )),
            ["fallback", "factor", "refresh"]
        );
        let a = parse("source = \"awattar\"\nfallback = 0.35\nfactor = 1.19\nadder = 0.21");
        assert!(a.check().is_empty());
        assert!((a.map_spot(100.0) - (0.1 * 1.19 + 0.21)).abs() < 1e-12);
        assert!(toml::from_str::<PricesSection>("source = \"tibber\"").is_err());
    }
}
