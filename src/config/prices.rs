//! `[prices]`: where the import price per slot comes from, and how a provider's price becomes the
//! household's price (`price = spot × factor + adder`, per kWh in `currency`).
//!
//! Owns: [`PricesSection`] and its check. Sources: `fixed` (a flat price or 24 local-hour prices
//! here in the file), `awattar` (the aWATTar day-ahead list for DE or AT), `entsoe` (the ENTSO-E
//! day-ahead list of a bidding zone, with a token), `tibber` (the prices of the user's Tibber
//! contract, with a token) and `mqtt` (a list another tool publishes). Which price the linear map
//! applies to is [`PricesSection::maps`]: the spot sources always, Tibber's `energy` part when asked
//! for, never Tibber's `total` (it already holds Tibber's taxes and fees). The section validates
//! alone; the clients, the zone table and the payload shapes live in `sources::prices`.

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
    /// The ENTSO-E transparency platform's day-ahead prices of `zone` (€/MWh), with `token_file`.
    Entsoe,
    /// Tibber's price list for the contract of `token_file` (per kWh, in Tibber's currency).
    Tibber,
    /// A list published on `topic` of the `[mqtt]` broker (per kWh).
    Mqtt,
}

impl PriceSource {
    pub fn name(self) -> &'static str {
        match self {
            PriceSource::Fixed => "fixed",
            PriceSource::Awattar => "awattar",
            PriceSource::Entsoe => "entsoe",
            PriceSource::Tibber => "tibber",
            PriceSource::Mqtt => "mqtt",
        }
    }

    /// Whether the source needs an API token (`token_file`).
    pub fn needs_token(self) -> bool {
        matches!(self, PriceSource::Entsoe | PriceSource::Tibber)
    }

    /// Whether the list is fetched over HTTP every `refresh` (MQTT is pushed, `fixed` is here).
    pub fn is_fetched(self) -> bool {
        matches!(
            self,
            PriceSource::Awattar | PriceSource::Entsoe | PriceSource::Tibber
        )
    }
}

/// aWATTar's two markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    #[default]
    De,
    At,
}

/// Which of Tibber's prices plans: `total` (energy + Tibber's taxes and fees, as billed) or
/// `energy` (the spot part alone, mapped by `factor` and `adder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TibberPrice {
    #[default]
    Total,
    Energy,
}

/// Tibber's `priceInfo(resolution: ...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TibberResolution {
    #[default]
    QuarterHourly,
    Hourly,
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
    /// The currency of every price here (ISO 4217, e.g. "EUR", "NOK"). Spot lists are in euro: with
    /// another currency, `factor` carries the exchange rate. Tibber's currency must match it.
    pub currency: String,
    /// `fixed`: per kWh, one number or 24 local-hour prices.
    pub import: Option<FixedImport>,
    /// Mapped sources: `price = spot per kWh × factor + adder` (VAT and fixed surcharges).
    pub factor: f64,
    pub adder: f64,
    /// Provider sources: the price of a slot no fresh list covers (per kWh).
    pub fallback: Option<f64>,
    /// `awattar`: "de" or "at".
    pub market: Market,
    /// `entsoe`: the bidding zone, by name ("BE", "DE-LU", "NL"...) or as its EIC code.
    pub zone: Option<String>,
    /// `entsoe`, `tibber`: the file holding the API token (or the systemd credential / environment
    /// variable, see `config::values`).
    pub token_file: Option<std::path::PathBuf>,
    /// `tibber`: the home whose prices to use (its id); without it, the first home with a contract.
    pub home_id: Option<String>,
    /// `tibber`: "total" (default) or "energy".
    pub tibber_price: TibberPrice,
    /// `tibber`: "quarter_hourly" (default) or "hourly".
    pub resolution: TibberResolution,
    /// `mqtt`: the topic carrying the price list.
    pub topic: Option<String>,
    /// Provider sources: the API's base URL (tests aim it at an emulator).
    pub base_url: Option<String>,
    /// Fetch this often.
    pub refresh: HumanDuration,
    /// A list older than this is ignored.
    pub max_age: HumanDuration,
}

impl Default for PricesSection {
    fn default() -> PricesSection {
        PricesSection {
            source: PriceSource::Fixed,
            currency: "EUR".into(),
            import: None,
            factor: 1.0,
            adder: 0.0,
            fallback: None,
            market: Market::De,
            zone: None,
            token_file: None,
            home_id: None,
            tibber_price: TibberPrice::Total,
            resolution: TibberResolution::QuarterHourly,
            topic: None,
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
    /// Whether `factor` and `adder` apply to this source's prices.
    pub fn maps(&self) -> bool {
        match self.source {
            PriceSource::Fixed => false,
            PriceSource::Tibber => self.tibber_price == TibberPrice::Energy,
            PriceSource::Awattar | PriceSource::Entsoe | PriceSource::Mqtt => true,
        }
    }

    /// Every problem, as (key under `prices.`, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let src = self.source;
        let name = src.name();
        match (src, &self.import) {
            (PriceSource::Fixed, None) => v.push((
                "import",
                "missing: with source = \"fixed\" give one price per kWh, or 24 (local hours 0..23)"
                    .into(),
            )),
            (PriceSource::Fixed, _) => {}
            (_, Some(_)) => v.push((
                "import",
                format!("only used with source = \"fixed\" (this one is \"{name}\")"),
            )),
            (_, None) => {}
        }
        match &self.import {
            Some(FixedImport::Flat(p)) if !plausible(*p) => v.push((
                "import",
                format!("{p} per kWh is not plausible: use -10..10"),
            )),
            Some(FixedImport::ByHour(t)) if t.len() != 24 => v.push((
                "import",
                format!(
                    "a time-of-use table needs 24 prices (local hours 0..23), not {}",
                    t.len()
                ),
            )),
            Some(FixedImport::ByHour(t)) => {
                if let Some((h, p)) = t.iter().enumerate().find(|(_, p)| !plausible(**p)) {
                    v.push((
                        "import",
                        format!("hour {h}: {p} per kWh is not plausible: use -10..10"),
                    ));
                }
            }
            _ => {}
        }
        let c = &self.currency;
        if !(c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())) {
            v.push((
                "currency",
                format!("\"{c}\" is not a currency code: use three capitals, e.g. \"EUR\", \"NOK\", \"SEK\""),
            ));
        }
        if src == PriceSource::Fixed {
            if self.import.is_some() && self.fallback.is_some() {
                v.push((
                    "fallback",
                    "only used with a provider's list (source = \"awattar\", \"entsoe\", \"tibber\" or \"mqtt\")"
                        .into(),
                ));
            }
        } else {
            match self.fallback {
                None => v.push((
                    "fallback",
                    "missing: the price per kWh to plan a slot at when no fresh list covers it"
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
        if src == PriceSource::Tibber
            && self.tibber_price == TibberPrice::Total
            && (self.factor != 1.0 || self.adder != 0.0)
        {
            v.push((
                if self.factor != 1.0 { "factor" } else { "adder" },
                "Tibber's total already holds its taxes and fees, so factor and adder do not apply to it: \
                 remove them, or set tibber_price = \"energy\" to map the spot part yourself"
                    .into(),
            ));
        }
        // Keys that belong to one source only: say so rather than ignore them.
        let only = |key: &'static str, set: bool, owner: PriceSource| {
            (set && src != owner).then(|| {
                (
                    key,
                    format!(
                        "only used with source = \"{}\" (this one is \"{name}\")",
                        owner.name()
                    ),
                )
            })
        };
        v.extend(only("zone", self.zone.is_some(), PriceSource::Entsoe));
        v.extend(only("home_id", self.home_id.is_some(), PriceSource::Tibber));
        v.extend(only("topic", self.topic.is_some(), PriceSource::Mqtt));
        if self.token_file.is_some() && !src.needs_token() {
            v.push((
                "token_file",
                format!(
                    "only used with source = \"entsoe\" or \"tibber\" (this one is \"{name}\")"
                ),
            ));
        }
        if src == PriceSource::Entsoe {
            match &self.zone {
                None => v.push((
                    "zone",
                    format!(
                        "missing: the bidding zone, by name ({}) or as its EIC code",
                        crate::sources::prices::entsoe::zone_names()
                    ),
                )),
                Some(z) => {
                    if let Err(e) = crate::sources::prices::entsoe::zone_eic(z) {
                        v.push(("zone", e));
                    }
                }
            }
        }
        if let (PriceSource::Tibber, Some(h)) = (src, &self.home_id)
            && h.trim().is_empty()
        {
            v.push((
                "home_id",
                "must not be empty: leave it out to use the first home".into(),
            ));
        }
        if src == PriceSource::Mqtt && self.topic.as_deref().is_none_or(|t| t.trim().is_empty()) {
            v.push((
                "topic",
                "missing: the MQTT topic that carries the price list (see the README for its shapes)"
                    .into(),
            ));
        }
        if let Some(u) = &self.base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            v.push(("base_url", format!("\"{u}\" is not an http(s) URL")));
        }
        if self.refresh.as_secs_f64() < 900.0 {
            v.push((
                "refresh",
                "at least 15m: day-ahead lists change once a day, and aWATTar allows about 100 requests a day"
                    .into(),
            ));
        }
        if self.max_age < self.refresh {
            v.push(("max_age", "must be at least refresh".into()));
        }
        v
    }

    /// The linear map on a price per kWh: `× factor + adder` where [`maps`](Self::maps) says so.
    pub fn map_per_kwh(&self, per_kwh: f64) -> f64 {
        if self.maps() {
            per_kwh * self.factor + self.adder
        } else {
            per_kwh
        }
    }

    /// The spot map: spot per MWh → price per kWh.
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

    fn keys(s: &PricesSection) -> Vec<&'static str> {
        s.check().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn checks_name_every_problem() {
        assert!(parse("import = 0.3").check().is_empty());
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
        assert!(toml::from_str::<PricesSection>("source = \"octopus\"").is_err());
        assert_eq!(
            keys(&parse("import = 0.3\ncurrency = \"euro\"")),
            ["currency"]
        );
    }

    #[test]
    fn each_source_names_what_it_misses_and_what_is_not_its_own() {
        assert_eq!(
            keys(&parse("source = \"entsoe\"\nfallback = 0.3")),
            ["zone"]
        );
        assert!(
            parse("source = \"entsoe\"\nfallback = 0.3\nzone = \"BE\"")
                .check()
                .is_empty()
        );
        let bad = parse("source = \"entsoe\"\nfallback = 0.3\nzone = \"Atlantis\"").check();
        assert_eq!(bad[0].0, "zone");
        assert!(bad[0].1.contains("DE-LU"), "{}", bad[0].1);
        assert_eq!(
            keys(&parse("source = \"mqtt\"\nfallback = 0.3\nzone = \"BE\"")),
            ["zone", "topic"]
        );
        assert_eq!(
            keys(&parse(
                "source = \"awattar\"\nfallback = 0.3\nimport = 0.2\ntoken_file = \"t\""
            )),
            ["import", "token_file"]
        );
        assert!(
            parse("source = \"tibber\"\nfallback = 0.3\nhome_id = \"abc\"")
                .check()
                .is_empty()
        );
    }

    #[test]
    fn tibber_total_is_taken_as_is_and_energy_is_mapped() {
        let total = parse("source = \"tibber\"\nfallback = 0.3");
        assert!(!total.maps());
        assert_eq!(total.map_per_kwh(0.25), 0.25);
        let e = parse("source = \"tibber\"\nfallback = 0.3\nfactor = 1.19");
        assert_eq!(keys(&e), ["factor"]);
        assert!(e.check()[0].1.contains("tibber_price = \"energy\""));
        let energy = parse(
            "source = \"tibber\"\nfallback = 0.3\ntibber_price = \"energy\"\nfactor = 1.25\nadder = 0.1",
        );
        assert!(energy.check().is_empty());
        assert!((energy.map_per_kwh(0.2) - 0.35).abs() < 1e-12);
    }
}
