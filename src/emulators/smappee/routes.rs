//! The emulator's endpoints: the token grants and the API routes, behind the bearer check.

use super::lock;
use super::model::{Model, parse_mode_body};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

pub(super) fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": code, "error_description": description}).to_string(),
    )
        .into_response()
}

fn ok_json(v: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

pub(super) fn route(
    shared: &super::Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let now = shared.clock.now();
    let mut m = lock(&shared.model);
    let segs: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    if matches!(segs.as_slice(), ["dev", "v1" | "v3", "oauth2", "token"]) && method == Method::POST
    {
        return token(&mut m, body, now);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| m.token_valid(t, now)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Access token missing, invalid or expired",
        );
    }
    let loc = m.cfg.location_id.to_string();
    let serial = m.cfg.station_serial.clone();
    match (method.clone(), segs.as_slice()) {
        (Method::GET, ["dev", "v3", "servicelocation"]) => ok_json(m.service_locations()),
        (Method::GET, ["dev", "v3", "servicelocation", id, "meteringconfiguration"])
            if *id == loc =>
        {
            ok_json(m.metering_configuration())
        }
        (Method::GET, ["dev", "v3", "servicelocation", id, "smartdevices"]) if *id == loc => {
            ok_json(Value::Array(
                m.connectors.iter().map(|c| m.smart_device(c)).collect(),
            ))
        }
        (Method::GET, ["dev", "v3", "servicelocation", id, "smartdevices", dev]) if *id == loc => {
            match m
                .connectors
                .iter()
                .find(|c| c.smart_device_id() == *dev || c.uuid() == *dev)
            {
                Some(c) => ok_json(m.smart_device(c)),
                None => error(StatusCode::NOT_FOUND, "not_found", "Unknown smart device"),
            }
        }
        (Method::GET, ["dev", "v3", "chargingstations", s, "sessions"]) if *s == serial => {
            let q = parse_form(uri.query().unwrap_or(""));
            let Some(range) = q.get("range") else {
                return error(StatusCode::BAD_REQUEST, "bad_request", "range is required");
            };
            let mut parts = range.split(',').map(|p| p.trim().parse::<i64>());
            let (Some(Ok(from)), to) = (parts.next(), parts.next()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "range must be epoch milliseconds",
                );
            };
            let active = q.get("active").is_some_and(|a| a == "true");
            ok_json(m.sessions(from, to.and_then(Result::ok), active))
        }
        (
            Method::PUT,
            [
                "dev",
                "v3",
                "chargingstations",
                s,
                "connectors",
                pos,
                "mode",
            ],
        ) if *s == serial => {
            let Some(c) = pos.parse::<u8>().ok().and_then(|p| m.connector_mut(p)) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "Unknown connector position",
                );
            };
            match parse_mode_body(body, c.max) {
                Ok((mode, limit)) => {
                    c.mode = mode;
                    if limit.is_some() {
                        c.limit = limit;
                    }
                    let position = c.position;
                    m.log_write(position, now);
                    StatusCode::NO_CONTENT.into_response()
                }
                Err(msg) => error(StatusCode::BAD_REQUEST, "bad_request", &msg),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "not_found", "No such resource"),
    }
}

fn token(m: &mut Model, body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Response {
    let form = parse_form(&String::from_utf8_lossy(body));
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("client_id") != m.cfg.client_id || field("client_secret") != m.cfg.client_secret {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    match field("grant_type") {
        "password" => {
            if field("username") != m.cfg.username || field("password") != m.cfg.password {
                return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad credentials");
            }
            ok_json(m.issue(now))
        }
        "refresh_token" => {
            if !m.refresh.remove(field("refresh_token")) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            }
            ok_json(m.issue(now))
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}

/// `application/x-www-form-urlencoded` (also a query string) into a map.
pub(super) fn parse_form(text: &str) -> HashMap<String, String> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).to_string()
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let f = parse_form("grant_type=password&username=me%40example.com&password=a+b%25c&x");
        assert_eq!(f["username"], "me@example.com");
        assert_eq!(f["password"], "a b%c");
        assert_eq!(f["x"], "");
        assert_eq!(parse_form("a=%zz&b=%4")["a"], "%zz");
        assert_eq!(parse_form("b=%4")["b"], "%4");
    }
}
