//! Bidding zones by name → their EIC codes (the `in_Domain`/`out_Domain` of an A44 request), for
//! the zones users ask for most. Codes as the ENTSO-E transparency platform lists its areas (the
//! same table entsoe-py's `mappings.py` carries). Any other zone is given as its raw EIC code.

/// (name, EIC code) of the common day-ahead bidding zones.
pub const ZONES: &[(&str, &str)] = &[
    ("AT", "10YAT-APG------L"),
    ("BE", "10YBE----------2"),
    ("BG", "10YCA-BULGARIA-R"),
    ("CH", "10YCH-SWISSGRIDZ"),
    ("CZ", "10YCZ-CEPS-----N"),
    ("DE-LU", "10Y1001A1001A82H"),
    ("DK1", "10YDK-1--------W"),
    ("DK2", "10YDK-2--------M"),
    ("EE", "10Y1001A1001A39I"),
    ("ES", "10YES-REE------0"),
    ("FI", "10YFI-1--------U"),
    ("FR", "10YFR-RTE------C"),
    ("GR", "10YGR-HTSO-----Y"),
    ("HR", "10YHR-HEP------M"),
    ("HU", "10YHU-MAVIR----U"),
    ("IE-SEM", "10Y1001A1001A59C"),
    ("LT", "10YLT-1001A0008Q"),
    ("LV", "10YLV-1001A00074"),
    ("NL", "10YNL----------L"),
    ("NO1", "10YNO-1--------2"),
    ("NO2", "10YNO-2--------T"),
    ("NO3", "10YNO-3--------J"),
    ("NO4", "10YNO-4--------9"),
    ("NO5", "10Y1001A1001A48H"),
    ("PL", "10YPL-AREA-----S"),
    ("PT", "10YPT-REN------W"),
    ("RO", "10YRO-TEL------P"),
    ("SE1", "10Y1001A1001A44P"),
    ("SE2", "10Y1001A1001A45N"),
    ("SE3", "10Y1001A1001A46L"),
    ("SE4", "10Y1001A1001A47J"),
    ("SI", "10YSI-ELES-----O"),
    ("SK", "10YSK-SEPS-----K"),
];

/// The names, for messages.
pub fn zone_names() -> String {
    ZONES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// An EIC code is 16 characters: digits, capitals and '-', ending in a check character.
fn looks_like_eic(s: &str) -> bool {
    s.len() == 16
        && s.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '-')
}

/// The EIC code of `zone`: a name from [`ZONES`] (any case, `_` for `-`: "de_lu"), or an EIC code as is.
pub fn zone_eic(zone: &str) -> Result<&str, String> {
    let z = zone.trim();
    let wanted = z.to_ascii_uppercase().replace('_', "-");
    if let Some((_, eic)) = ZONES.iter().find(|(n, _)| *n == wanted) {
        return Ok(eic);
    }
    // "DE" alone is the German control area, whose A44 query answers nothing since 2018.
    if wanted == "DE" || wanted == "LU" {
        return Err(format!(
            "\"{z}\": Germany and Luxembourg share the bidding zone \"DE-LU\""
        ));
    }
    if looks_like_eic(z) {
        return Ok(z);
    }
    let near = ZONES
        .iter()
        .map(|(n, _)| (strsim::levenshtein(n, &wanted), *n))
        .min()
        .filter(|(d, _)| *d <= 2)
        .map(|(_, n)| format!(" (did you mean \"{n}\"?)"))
        .unwrap_or_default();
    Err(format!(
        "\"{z}\" is not a bidding zone sunplug knows{near}: use one of {}, or the zone's 16-character EIC code",
        zone_names()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_codes_and_mistakes() {
        assert_eq!(zone_eic("BE").unwrap(), "10YBE----------2");
        assert_eq!(zone_eic("de_lu").unwrap(), "10Y1001A1001A82H");
        assert_eq!(zone_eic("10YDOM-REGION-1V").unwrap(), "10YDOM-REGION-1V");
        assert!(zone_eic("DE").unwrap_err().contains("DE-LU"));
        let e = zone_eic("NL1").unwrap_err();
        assert!(e.contains("did you mean \"NL\""), "{e}");
        assert!(zone_eic("10YBE").is_err());
        // Every code in the table is a well-formed EIC.
        assert!(ZONES.iter().all(|(_, c)| looks_like_eic(c)));
    }
}
