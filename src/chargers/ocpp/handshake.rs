//! Who may open an OCPP connection: the WebSocket upgrade request checked before any frame is read.
//!
//! Owns: [`ChargePointEntry`] (an allowed charge point, its optional password and connector),
//! [`admit`] (path → charge point id, subprotocol `ocpp1.6`, HTTP Basic auth as OCPP 1.6 security
//! profile 1) with its [`Refusal`]s, and [`tls_config`] (security profile 2: a certificate chain
//! and key from PEM files, rustls on ring). Passwords are compared in constant time and never
//! appear in a refusal.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::http::HeaderMap;

/// The subprotocol sunplug speaks.
pub const SUBPROTOCOL: &str = "ocpp1.6";

/// A charge point sunplug accepts.
#[derive(Debug, Clone)]
pub struct ChargePointEntry {
    pub id: String,
    /// HTTP Basic password (user name = the id); `None`: no auth for this one.
    pub password: Option<SecretString>,
    /// The connector sunplug drives.
    pub connector: u32,
}

/// Why an upgrade request was refused, with the HTTP status it gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("path {0} is not {1}/<charge point id>")]
    Path(String, String),
    #[error("charge point \"{0}\" is not in [ocpp] charge_points")]
    UnknownChargePoint(String),
    #[error("charge point \"{0}\": {1}")]
    Unauthorized(String, &'static str),
    #[error("no ocpp1.6 subprotocol offered (offered: {0})")]
    Subprotocol(String),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Path(..) | Refusal::UnknownChargePoint(_) => 404,
            Refusal::Unauthorized(..) => 401,
            Refusal::Subprotocol(_) => 400,
        }
    }
    /// The charge point id, when the path gave one.
    pub fn charge_point(&self) -> Option<&str> {
        match self {
            Refusal::UnknownChargePoint(id) | Refusal::Unauthorized(id, _) => Some(id),
            _ => None,
        }
    }
}

/// The rules [`admit`] applies.
#[derive(Debug, Clone)]
pub struct AdmitRules<'a> {
    /// e.g. "/ocpp": charge points connect to "/ocpp/<id>".
    pub path: &'a str,
    pub charge_points: &'a [ChargePointEntry],
    /// Accept ids not in the list (only `ocpp listen`, and never when any password is set).
    pub accept_unknown: bool,
}

/// Check an upgrade request: returns the charge point id.
pub fn admit(path: &str, headers: &HeaderMap, rules: &AdmitRules<'_>) -> Result<String, Refusal> {
    let prefix = rules.path.trim_end_matches('/');
    let id = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(percent_decode)
        .filter(|id| !id.is_empty() && !id.contains('/') && id.len() <= 64)
        .ok_or_else(|| Refusal::Path(path.chars().take(80).collect(), prefix.to_string()))?;
    let offered = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    if !offered.contains(&SUBPROTOCOL) {
        let list = if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ").chars().take(80).collect()
        };
        return Err(Refusal::Subprotocol(list));
    }
    let auth_on = rules.charge_points.iter().any(|c| c.password.is_some());
    let Some(entry) = rules.charge_points.iter().find(|c| c.id == id) else {
        if rules.accept_unknown && !auth_on {
            return Ok(id);
        }
        return Err(Refusal::UnknownChargePoint(id));
    };
    if let Some(want) = &entry.password {
        let Some(header) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return Err(Refusal::Unauthorized(id, "no HTTP Basic credentials"));
        };
        let decoded = header
            .strip_prefix("Basic ")
            .and_then(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .ok()
            })
            .ok_or(Refusal::Unauthorized(
                id.clone(),
                "malformed Authorization header",
            ))?;
        let (user, pass) = match decoded.iter().position(|b| *b == b':') {
            Some(i) => (&decoded[..i], &decoded[i + 1..]),
            None => (&decoded[..], &[][..]),
        };
        if user != id.as_bytes() || !constant_time_eq(pass, want.expose_secret().as_bytes()) {
            return Err(Refusal::Unauthorized(id, "wrong user name or password"));
        }
    }
    Ok(id)
}

/// `%41` → `A`; anything malformed stays as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

/// The TLS server configuration from a PEM certificate chain and a PEM private key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not fit together: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    fn headers(proto: &str, auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(proto).unwrap(),
        );
        if let Some(a) = auth {
            let v = base64::engine::general_purpose::STANDARD.encode(a);
            h.insert(
                "authorization",
                HeaderValue::from_str(&format!("Basic {v}")).unwrap(),
            );
        }
        h
    }

    #[test]
    fn admits_known_charge_points_with_the_right_password() {
        let cps = [ChargePointEntry {
            id: "CP 1".into(),
            password: Some(SecretString::from("s3cret-pass")),
            connector: 1,
        }];
        let rules = AdmitRules {
            path: "/ocpp/",
            charge_points: &cps,
            accept_unknown: true,
        };
        let ok = admit(
            "/ocpp/CP%201",
            &headers("ocpp2.0, ocpp1.6", Some("CP 1:s3cret-pass")),
            &rules,
        );
        assert_eq!(ok, Ok("CP 1".to_string()));
        let wrong = admit(
            "/ocpp/CP%201",
            &headers("ocpp1.6", Some("CP 1:guess")),
            &rules,
        )
        .unwrap_err();
        assert_eq!(wrong.status(), 401);
        assert!(!wrong.to_string().contains("guess"));
        let none = admit("/ocpp/CP%201", &headers("ocpp1.6", None), &rules).unwrap_err();
        assert_eq!(none.status(), 401);
        // Auth is on: unknown ids are refused even when unknown ids are otherwise accepted.
        let unknown = admit("/ocpp/CP2", &headers("ocpp1.6", None), &rules).unwrap_err();
        assert_eq!(unknown, Refusal::UnknownChargePoint("CP2".into()));
        let proto = admit("/ocpp/CP%201", &headers("ocpp2.0.1", None), &rules).unwrap_err();
        assert_eq!(proto.status(), 400);
        assert_eq!(
            admit("/other/CP", &headers("ocpp1.6", None), &rules)
                .unwrap_err()
                .status(),
            404
        );
    }
}
