//! `[ocpp]`: the OCPP 1.6J central system sunplug runs when `[charger] kind = "ocpp"`.
//!
//! Owns: [`ChargerKind`], [`OcppSection`] (as written in the file), [`check_ocpp`] (every problem
//! with its key) and [`charge_point_password`] (a charge point's Basic auth password: the systemd
//! credential `ocpp-<id>` when handed over, else its `password_file`).

use super::values::{HumanDuration, credentials_dir, read_secret_file};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which charger sunplug drives (`[charger] kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChargerKind {
    /// Smappee's cloud API (`[smappee]`).
    #[default]
    Smappee,
    /// Any OCPP 1.6J charge point connecting to sunplug (`[ocpp]`).
    Ocpp,
}

impl ChargerKind {
    pub fn parse(word: &str) -> Option<ChargerKind> {
        match word {
            "smappee" => Some(ChargerKind::Smappee),
            "ocpp" => Some(ChargerKind::Ocpp),
            _ => None,
        }
    }
}

/// `authorize = "all"` or a list of idTags.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum AuthorizeSetting {
    Word(String),
    Tags(Vec<String>),
}

/// One charge point allowed to connect.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChargePointSection {
    /// Its charge point id: the last part of the URL it connects to (`ws://host:8887/ocpp/<id>`).
    pub id: String,
    /// File holding its HTTP Basic password (security profile 1); no file: no auth.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The connector sunplug drives.
    #[serde(default = "one")]
    pub connector: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcppSection {
    /// Address and port to listen on.
    pub listen: String,
    /// URL path: charge points connect to `<path>/<id>`.
    pub path: String,
    /// The charge points sunplug accepts; the first is the one it drives.
    pub charge_points: Vec<ChargePointSection>,
    /// TLS (security profile 2): PEM certificate chain and private key.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Which RFID/idTags are accepted: "all", or a list.
    pub authorize: AuthorizeSetting,
    /// Send RemoteStartTransaction when a car is plugged in and sunplug wants to charge (for charge
    /// points set to require authorization).
    pub remote_start: bool,
    /// Heartbeat interval given to charge points.
    pub heartbeat_interval: HumanDuration,
    /// MeterValueSampleInterval asked of charge points.
    pub meter_interval: HumanDuration,
    /// How long a charge point has to answer; a missing answer leaves the request unconfirmed.
    pub call_timeout: HumanDuration,
}

impl Default for OcppSection {
    fn default() -> OcppSection {
        OcppSection {
            listen: "0.0.0.0:8887".into(),
            path: "/ocpp".into(),
            charge_points: Vec::new(),
            tls_cert_file: None,
            tls_key_file: None,
            authorize: AuthorizeSetting::Word("all".into()),
            remote_start: false,
            heartbeat_interval: HumanDuration::secs(300),
            meter_interval: HumanDuration::secs(10),
            call_timeout: HumanDuration::secs(30),
        }
    }
}

impl OcppSection {
    /// The idTag rule for the central system.
    pub fn authorize(&self) -> crate::chargers::ocpp::Authorize {
        match &self.authorize {
            AuthorizeSetting::Tags(t) => crate::chargers::ocpp::Authorize::Tags(t.clone()),
            AuthorizeSetting::Word(_) => crate::chargers::ocpp::Authorize::All,
        }
    }
}

/// Check `[ocpp]`. `dir` anchors relative paths; `needs_charger`: the command drives a charge point.
pub fn check_ocpp(
    s: &OcppSection,
    dir: &Path,
    needs_charger: bool,
    push: &mut dyn FnMut(&str, String),
) {
    if s.listen.parse::<std::net::SocketAddr>().is_err() {
        push(
            "listen",
            format!(
                "\"{}\" is not an address and port: use e.g. \"0.0.0.0:8887\"",
                s.listen
            ),
        );
    }
    if !s.path.starts_with('/') || s.path.contains(char::is_whitespace) {
        push(
            "path",
            format!("\"{}\" must start with / (e.g. \"/ocpp\")", s.path),
        );
    }
    if needs_charger && s.charge_points.is_empty() {
        push(
            "charge_points",
            "missing: name the charge point, e.g. charge_points = [{ id = \"CP1\" }] \
             (its id is what it sends after the path; `sunplug ocpp listen` shows it)"
                .into(),
        );
    }
    for (i, cp) in s.charge_points.iter().enumerate() {
        let id = cp.id.trim();
        if id.is_empty() || id.contains('/') || id.len() > 64 {
            push(
                "charge_points",
                format!(
                    "charge point {}: id \"{}\" must be 1..64 characters without /",
                    i + 1,
                    cp.id
                ),
            );
        }
        if s.charge_points[..i].iter().any(|o| o.id == cp.id) {
            push(
                "charge_points",
                format!("charge point id \"{}\" is listed twice", cp.id),
            );
        }
        if cp.connector == 0 {
            push(
                "charge_points",
                format!(
                    "charge point \"{}\": connector 0 is the whole charge point: use 1, 2…",
                    cp.id
                ),
            );
        }
    }
    match (&s.tls_cert_file, &s.tls_key_file) {
        (Some(c), Some(k)) => {
            for (key, f) in [("tls_cert_file", c), ("tls_key_file", k)] {
                if !dir.join(f).is_file() {
                    push(key, format!("no file at {}", dir.join(f).display()));
                }
            }
        }
        (Some(_), None) => push(
            "tls_key_file",
            "missing: TLS needs the key with the certificate".into(),
        ),
        (None, Some(_)) => push(
            "tls_cert_file",
            "missing: TLS needs the certificate with the key".into(),
        ),
        (None, None) => {}
    }
    match &s.authorize {
        AuthorizeSetting::Word(w) if w != "all" => push(
            "authorize",
            format!(
                "\"{w}\" is not a choice: use \"all\" or a list of idTags, e.g. [\"04A2B3C4\"]"
            ),
        ),
        AuthorizeSetting::Tags(t) if t.is_empty() => push(
            "authorize",
            "an empty list accepts no card at all: use \"all\" or list the idTags".into(),
        ),
        _ => {}
    }
    if s.call_timeout.get() < std::time::Duration::from_secs(1)
        || s.call_timeout.get() > std::time::Duration::from_secs(300)
    {
        push(
            "call_timeout",
            format!("{} is out of range: 1 s..5 min", s.call_timeout),
        );
    }
    if s.meter_interval.get() < std::time::Duration::from_secs(1) {
        push("meter_interval", "must be at least 1 s".into());
    }
}

/// The Basic auth password of `cp`: the systemd credential `ocpp-<id>` when handed over, else its
/// `password_file` (relative to `dir`). `Ok(None)`: no auth for this charge point.
pub fn charge_point_password(
    cp: &ChargePointSection,
    dir: &Path,
) -> Result<Option<SecretString>, String> {
    let credential = format!(
        "ocpp-{}",
        cp.id.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_"
        )
    );
    if let Some(d) = credentials_dir() {
        let p = d.join(&credential);
        if p.is_file() {
            return read_secret_file(&p)
                .map(Some)
                .map_err(|e| format!("cannot read the systemd credential {}: {e}", p.display()));
        }
    }
    let Some(f) = &cp.password_file else {
        return Ok(None);
    };
    let path = dir.join(f);
    read_secret_file(&path).map(Some).map_err(|e| {
        format!(
            "charge point \"{}\": cannot read the password file {}: {e}; create it (chmod 600) or hand \
             it over as the systemd credential \"{credential}\"",
            cp.id,
            path.display()
        )
    })
}
