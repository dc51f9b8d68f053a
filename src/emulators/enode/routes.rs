//! The emulated Enode endpoints: token, vehicles (one, all, a user's), link, charge actions.

use super::{ActionSim, CLIENT_ID, CLIENT_SECRET, PlannedOutcome, Shared, TOKEN_PATH};
use crate::emulators::common::{Incoming, json};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

const LANGUAGES: &[&str] = &[
    "browser", "da-DK", "de-DE", "en-US", "en-GB", "es-ES", "fi-FI", "fr-FR", "it-IT", "ja-JP",
    "lv-LV", "lt-LT", "nb-NO", "nl-NL", "nl-BE", "pl-PL", "pt-PT", "ro-RO", "sv-SE",
];

fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Response {
    let mut r = json(
        status,
        &json!({ "type": format!("https://developers.enode.com/api/problems/{kind}"), "title": title, "detail": detail }),
    );
    r.headers_mut().insert(
        "content-type",
        "application/problem+json"
            .parse()
            .unwrap_or_else(|_| unreachable!()),
    );
    r
}

pub(crate) fn route(s: &mut Shared, inc: &Incoming) -> Response {
    if inc.path == TOKEN_PATH {
        return token(s, inc);
    }
    if let Some(rate) = s.rate.as_mut()
        && let Err(secs) = rate.admit()
    {
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too Many Requests",
            "Slow down",
        );
        r.headers_mut().insert("retry-after", secs.into());
        return r;
    }
    let now = Instant::now();
    let valid = inc
        .bearer()
        .and_then(|t| s.tokens.get(&t).copied())
        .is_some_and(|exp| now < exp);
    if !valid {
        return problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "Missing, invalid or expired token",
        );
    }
    let seg = inc.segments();
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (&inc.method, seg.as_slice()) {
        (&Method::GET, ["vehicles"]) => list(s, inc, None),
        (&Method::GET, ["users", user, "vehicles"]) => list(s, inc, Some(user)),
        (&Method::GET, ["vehicles", "actions", id]) => read_action(s, id),
        (&Method::POST, ["vehicles", "actions", id, "cancel"]) => cancel_action(s, id),
        (&Method::GET, ["vehicles", id]) => match s.vehicles.iter().find(|v| v.id == *id) {
            Some(v) => json(StatusCode::OK, &v.render(s.clock.now(), s.start)),
            None => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not Found",
                "Vehicle not found",
            ),
        },
        (&Method::POST, ["vehicles", id, "charging"]) => charging(s, inc, id),
        (&Method::POST, ["vehicles", id, "refresh-hint"])
            if s.vehicles.iter().any(|v| v.id == *id) =>
        {
            crate::emulators::common::empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, ["users", user, "link"]) => link(s, inc, user),
        _ => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "No such endpoint",
        ),
    }
}

fn token(s: &mut Shared, inc: &Incoming) -> Response {
    let oauth_error =
        |status, e: &str| json(status, &json!({ "error": e, "error_description": e }));
    if inc.method != Method::POST {
        return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    }
    match inc.basic() {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => {}
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    if !inc
        .form()
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    s.issued += 1;
    let token = format!(
        "enode-at-{:04}-{:016x}",
        s.issued,
        s.issued.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    );
    s.tokens.insert(token.clone(), Instant::now() + s.token_ttl);
    s.issued_log.push(token.clone());
    json(
        StatusCode::OK,
        &json!({ "access_token": token, "expires_in": s.token_ttl.as_secs(), "scope": "", "token_type": "bearer" }),
    )
}

fn list(s: &Shared, inc: &Incoming, user: Option<&str>) -> Response {
    let size = match inc.param("pageSize").map(|p| p.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad Request",
                "pageSize must be a positive integer",
            );
        }
    };
    if inc.param("after").is_some() && inc.param("before").is_some() {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad Request",
            "after and before are exclusive",
        );
    }
    let from = match inc.param("after") {
        None => 0,
        Some(c) => match c
            .strip_prefix("cursor-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    "Bad Request",
                    "invalid cursor",
                );
            }
        },
    };
    let all: Vec<_> = s
        .vehicles
        .iter()
        .filter(|v| user.is_none_or(|u| v.user_id == u))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(from)
        .take(size)
        .map(|v| v.render(s.clock.now(), s.start))
        .collect();
    let after = (from + size < all.len()).then(|| format!("cursor-{}", from + size));
    let before = (from > 0).then(|| format!("cursor-{from}"));
    json(
        StatusCode::OK,
        &json!({ "data": page, "pagination": { "after": after, "before": before } }),
    )
}

fn link(s: &mut Shared, inc: &Incoming, user: &str) -> Response {
    let bad = |d: &str| problem(StatusCode::BAD_REQUEST, "bad-request", "Bad Request", d);
    let Ok(body) = serde_json::from_slice::<Value>(&inc.body) else {
        return bad("body is not JSON");
    };
    let scopes: Vec<&str> = body["scopes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return bad("scopes is required and must not be empty");
    }
    if body["vendorType"] == "vehicle" && !scopes.contains(&"vehicle:read:data") {
        return bad("vehicle:read:data is required for vehicles");
    }
    if !body["language"]
        .as_str()
        .is_some_and(|l| LANGUAGES.contains(&l))
    {
        return bad("language is required and must be one of the supported languages");
    }
    let redirect = body["redirectUri"].as_str().unwrap_or_default();
    if reqwest::Url::parse(redirect).is_err() || redirect.len() > 500 {
        return bad("redirectUri is required and must be a URI of at most 500 characters");
    }
    s.links.push((user.to_string(), body));
    let n = s.links.len();
    json(
        StatusCode::OK,
        &json!({ "linkUrl": format!("{}/link/session-{n}", s.base_url), "linkToken": format!("link-token-{n}-secret") }),
    )
}

fn action_json(a: &ActionSim) -> Value {
    json!({
        "id": a.id, "userId": a.user_id, "createdAt": a.created_at.to_rfc3339(), "updatedAt": a.created_at.to_rfc3339(),
        "completedAt": a.completed_at.map(|t| t.to_rfc3339()), "state": a.state, "targetId": a.vehicle_id,
        "targetType": "vehicle", "kind": a.kind,
        "failureReason": a.failure.as_ref().map(|(t, d)| json!({ "type": t, "detail": d })),
    })
}

fn charging(s: &mut Shared, inc: &Incoming, id: &str) -> Response {
    let bad = |d: &str| problem(StatusCode::BAD_REQUEST, "bad-request", "Bad Request", d);
    let Some(v) = s.vehicles.iter().find(|v| v.id == id).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "Vehicle not found",
        );
    };
    let body: Value = serde_json::from_slice(&inc.body).unwrap_or_default();
    let kind = match body["action"].as_str() {
        Some(k @ ("START" | "STOP")) => k.to_string(),
        _ => return bad("action must be START or STOP"),
    };
    if (kind == "START" && !v.can_start) || (kind == "STOP" && !v.can_stop) {
        return bad("Vehicle is not capable of this action");
    }
    if v.smart_charging {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable",
            "Unprocessable",
            "Smart charging is active",
        );
    }
    if (kind == "START") == v.charging {
        return bad("Vehicle is already in the requested state");
    }
    if let Some(a) = s
        .actions
        .iter()
        .find(|a| a.vehicle_id == id && a.kind == kind && a.state == "PENDING")
    {
        return json(StatusCode::OK, &action_json(a));
    }
    for a in s
        .actions
        .iter_mut()
        .filter(|a| a.vehicle_id == id && a.state == "PENDING")
    {
        a.state = "CANCELLED".into();
        a.failure = Some(("CONFLICT".into(), "A newer action was created".into()));
    }
    let a = ActionSim {
        id: format!("4eaeb363-0000-4000-8000-{:012}", s.actions.len() + 1),
        vehicle_id: id.to_string(),
        user_id: v.user_id.clone(),
        kind,
        state: "PENDING".into(),
        reads: 0,
        created_at: s.clock.now(),
        completed_at: None,
        failure: None,
    };
    let out = action_json(&a);
    s.actions.push(a);
    json(StatusCode::OK, &out)
}

fn read_action(s: &mut Shared, id: &str) -> Response {
    let (plan, reads_needed, now) = (s.outcome.clone(), s.reads_until_final, s.clock.now());
    let Some(a) = s.actions.iter_mut().find(|a| a.id == id) else {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "Action not found",
        );
    };
    a.reads += 1;
    if a.state == "PENDING" && a.reads >= reads_needed {
        match plan {
            PlannedOutcome::Confirmed => a.state = "CONFIRMED".into(),
            PlannedOutcome::Failed(t) => {
                a.state = "FAILED".into();
                a.failure = Some((t, "The vehicle did not respond".into()));
            }
            PlannedOutcome::Cancelled => {
                a.state = "CANCELLED".into();
                a.failure = Some(("FAILED_PRECONDITION".into(), "Vehicle was unplugged".into()));
            }
            PlannedOutcome::Never => {}
        }
        if a.state != "PENDING" {
            a.completed_at = Some(now);
        }
    }
    let (out, confirmed) = (
        action_json(a),
        (a.state == "CONFIRMED").then(|| (a.vehicle_id.clone(), a.kind.clone())),
    );
    if let Some((vid, kind)) = confirmed
        && let Some(v) = s.vehicles.iter_mut().find(|v| v.id == vid)
    {
        v.charging = kind == "START";
    }
    json(StatusCode::OK, &out)
}

fn cancel_action(s: &mut Shared, id: &str) -> Response {
    let Some(a) = s.actions.iter_mut().find(|a| a.id == id) else {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "Action not found",
        );
    };
    if a.state != "PENDING" {
        return json(StatusCode::CONFLICT, &action_json(a));
    }
    a.state = "CANCELLED".into();
    a.failure = Some((
        "REQUESTED_CANCELLATION".into(),
        "Cancelled by the client".into(),
    ));
    json(StatusCode::OK, &action_json(a))
}
