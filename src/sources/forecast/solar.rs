//! Solar geometry and the array model: where the sun is, and what irradiance a tilted plane gets.
//!
//! Owns: [`position`] (declination, hour angle, zenith and azimuth at a UTC instant, from Spencer's
//! Fourier series for the declination and the equation of time, as NOAA's general solar position
//! sheet gives them; good to a few tenths of a degree, plenty for hourly PV), [`incidence_cos`] (the
//! angle of the sun on a plane), [`plane_irradiance`] (GHI and diffuse → plane of array, with the
//! isotropic sky: beam × cos θ / cos θz + diffuse × (1 + cos β)/2 + GHI × albedo × (1 − cos β)/2)
//! and [`pv_watts`] (plane irradiance → AC power with kWp and a system efficiency).
//!
//! Angles follow `[forecast]`: a plane's azimuth is 0 south, -90 east, 90 west; the sun's azimuth
//! is measured the same way.

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::f64::consts::PI;

/// Where the sun is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SunPosition {
    /// Declination, degrees.
    pub declination: f64,
    /// Hour angle, degrees (0 at solar noon, negative in the morning).
    pub hour_angle: f64,
    /// Zenith angle, degrees (90 at the horizon).
    pub zenith: f64,
    /// Azimuth, degrees: 0 south, -90 east, 90 west.
    pub azimuth: f64,
}

impl SunPosition {
    pub fn elevation(&self) -> f64 {
        90.0 - self.zenith
    }
}

/// The sun at `t` seen from (`latitude`, `longitude`), degrees north and east.
pub fn position(t: DateTime<Utc>, latitude: f64, longitude: f64) -> SunPosition {
    let hours = t.hour() as f64 + t.minute() as f64 / 60.0 + t.second() as f64 / 3600.0;
    let g = 2.0 * PI / 365.0 * (t.ordinal0() as f64 + (hours - 12.0) / 24.0);
    let decl = 0.006918 - 0.399912 * g.cos() + 0.070257 * g.sin() - 0.006758 * (2.0 * g).cos()
        + 0.000907 * (2.0 * g).sin()
        - 0.002697 * (3.0 * g).cos()
        + 0.00148 * (3.0 * g).sin();
    let eqtime_min = 229.18
        * (0.000075 + 0.001868 * g.cos()
            - 0.032077 * g.sin()
            - 0.014615 * (2.0 * g).cos()
            - 0.040849 * (2.0 * g).sin());
    let true_solar_min = hours * 60.0 + eqtime_min + 4.0 * longitude;
    let ha = (true_solar_min / 4.0 - 180.0).to_radians();
    let phi = latitude.to_radians();
    let cos_z = (phi.sin() * decl.sin() + phi.cos() * decl.cos() * ha.cos()).clamp(-1.0, 1.0);
    let azimuth = ha
        .sin()
        .atan2(ha.cos() * phi.sin() - decl.tan() * phi.cos());
    SunPosition {
        declination: decl.to_degrees(),
        hour_angle: ha.to_degrees(),
        zenith: cos_z.acos().to_degrees(),
        azimuth: azimuth.to_degrees(),
    }
}

/// cos of the angle between the sun and the normal of a plane tilted `tilt` degrees facing
/// `azimuth` (0 south). Negative when the sun is behind the plane.
pub fn incidence_cos(sun: &SunPosition, tilt: f64, azimuth: f64) -> f64 {
    let (z, b) = (sun.zenith.to_radians(), tilt.to_radians());
    z.cos() * b.cos() + z.sin() * b.sin() * (sun.azimuth - azimuth).to_radians().cos()
}

/// Below this sun height the beam is counted as diffuse (cos 85°: the beam / cos θz ratio explodes
/// near the horizon, and an hour's mean says little about where in the hour the sun rose).
const MIN_COS_ZENITH: f64 = 0.087;
/// No beam is stronger than the solar constant.
const MAX_DNI: f64 = 1361.0;

/// Plane-of-array irradiance, W/m², from global (`ghi`) and diffuse (`dhi`) horizontal irradiance.
pub fn plane_irradiance(
    sun: &SunPosition,
    ghi: f64,
    dhi: f64,
    tilt: f64,
    azimuth: f64,
    albedo: f64,
) -> f64 {
    let ghi = ghi.max(0.0);
    let dhi = dhi.clamp(0.0, ghi);
    let cos_z = sun.zenith.to_radians().cos();
    let (beam, diffuse) = if cos_z < MIN_COS_ZENITH {
        (0.0, ghi)
    } else {
        (((ghi - dhi) / cos_z).min(MAX_DNI), dhi)
    };
    let cos_b = tilt.to_radians().cos();
    beam * incidence_cos(sun, tilt, azimuth).max(0.0)
        + diffuse * (1.0 + cos_b) / 2.0
        + ghi * albedo * (1.0 - cos_b) / 2.0
}

/// AC power of `kwp` under `poa` W/m² (STC is 1000 W/m²), after the system's `efficiency`.
pub fn pv_watts(poa: f64, kwp: f64, efficiency: f64) -> f64 {
    (poa.max(0.0) * kwp * efficiency).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The highest sun of a day, scanning minutes.
    fn noon(day: &str, lat: f64, lon: f64) -> (DateTime<Utc>, SunPosition) {
        let t0 = at(&format!("{day}T00:00:00Z"));
        (0..1440)
            .map(|m| {
                let t = t0 + chrono::Duration::minutes(m);
                (t, position(t, lat, lon))
            })
            .min_by(|a, b| a.1.zenith.total_cmp(&b.1.zenith))
            .unwrap()
    }

    #[test]
    fn solar_noon_height_matches_the_textbook() {
        // Summer solstice at 50° N: 90 − 50 + 23.44 = 63.44°.
        let (t, s) = noon("2026-06-21", 50.0, 0.0);
        assert!((s.elevation() - 63.44).abs() < 0.2, "{s:?}");
        assert!((s.declination - 23.44).abs() < 0.2, "{s:?}");
        // Solar noon on the Greenwich meridian is a minute or two after 12:00 UTC in late June.
        let minutes = (t - at("2026-06-21T12:00:00Z")).num_minutes();
        assert!((0..=4).contains(&minutes), "{t}");
        assert!(s.azimuth.abs() < 1.0 && s.hour_angle.abs() < 0.5, "{s:?}");
        // Winter solstice at 52.5° N: 90 − 52.5 − 23.44 = 14.06°.
        let (_, w) = noon("2026-12-21", 52.5, 13.4);
        assert!((w.elevation() - 14.06).abs() < 0.2, "{w:?}");
        // Equinox at 52.52° N: about 90 − 52.52 = 37.5° (the declination is near 0 on 20 March).
        let (_, e) = noon("2026-03-20", 52.52, 13.4);
        assert!((e.elevation() - 37.48).abs() < 0.5, "{e:?}");
        // Longitude 15° E: solar noon an hour earlier.
        let (t15, _) = noon("2026-06-21", 50.0, 15.0);
        assert_eq!((t - t15).num_minutes(), 60);
    }

    #[test]
    fn the_morning_sun_is_in_the_east_and_the_southern_noon_sun_in_the_north() {
        let s = position(at("2026-06-21T06:00:00Z"), 50.0, 0.0);
        assert!(s.azimuth < -60.0 && s.azimuth > -120.0, "{s:?}");
        let south = position(at("2026-06-21T12:02:00Z"), -33.9, 0.0);
        assert!(south.azimuth.abs() > 179.0, "{south:?}");
        let night = position(at("2026-06-21T00:00:00Z"), 50.0, 0.0);
        assert!(night.zenith > 90.0);
    }

    #[test]
    fn a_south_facing_35_degree_panel_at_noon() {
        // 21 June, 50° N, solar noon: zenith 26.56°, the sun 8.44° off the panel's normal
        // (50 − 35 − 23.44), cos 8.44° = 0.98917.
        let (_, sun) = noon("2026-06-21", 50.0, 0.0);
        let c = incidence_cos(&sun, 35.0, 0.0);
        assert!((c - 0.98917).abs() < 0.002, "{c}");
        // DNI 800, DHI 100 → GHI = 800 × cos 26.56° + 100 = 815.6.
        let ghi = 800.0 * sun.zenith.to_radians().cos() + 100.0;
        assert!((ghi - 815.6).abs() < 2.0, "{ghi}");
        // Beam 800 × 0.98917 = 791.3; sky 100 × (1 + cos 35°)/2 = 90.96; ground
        // 815.6 × 0.2 × (1 − cos 35°)/2 = 14.75: 897.0 W/m².
        let poa = plane_irradiance(&sun, ghi, 100.0, 35.0, 0.0, 0.2);
        assert!((poa - 897.0).abs() < 3.0, "{poa}");
        // 5 kWp at 85 %: 3.81 kW.
        assert!((pv_watts(poa, 5.0, 0.85) - 3812.0).abs() < 15.0);
        // A flat plane gets GHI; a vertical north wall no beam: 100 × 0.5 + 815.6 × 0.2 × 0.5.
        assert!((plane_irradiance(&sun, ghi, 100.0, 0.0, 0.0, 0.2) - ghi).abs() < 1e-9);
        let north = plane_irradiance(&sun, ghi, 100.0, 90.0, 180.0, 0.2);
        assert!((north - 131.6).abs() < 0.5, "{north}");
    }

    #[test]
    fn a_low_sun_counts_as_diffuse() {
        let sun = position(at("2026-06-21T03:50:00Z"), 50.0, 0.0);
        assert!(sun.elevation() < 5.0 && sun.elevation() > -5.0, "{sun:?}");
        let poa = plane_irradiance(&sun, 40.0, 10.0, 35.0, 0.0, 0.2);
        assert!(poa <= 40.0 && poa > 30.0, "{poa}");
        assert_eq!(pv_watts(-5.0, 5.0, 0.85), 0.0);
    }
}
