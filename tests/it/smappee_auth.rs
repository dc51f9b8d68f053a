//! Smappee OAuth against the emulator: first login, proactive refresh, re-login when the refresh is
//! refused, renewal after a 401, the persisted token, one refresh for concurrent callers.

use crate::support::smappee::Harness;
use std::time::Duration;
use sunplug::emulators::smappee::{EmulatorConfig, Fault, Target};
use sunplug::vendor::VendorError;
use tokio::time::advance;

#[tokio::test(start_paused = true)]
async fn first_call_logs_in_with_the_password_grant_then_reuses_the_token() {
    let h = Harness::new().await;
    let c = h.client();
    let list = c.service_locations().await.unwrap();
    assert_eq!(list.service_locations[0].service_location_id, 12345);
    c.service_locations().await.unwrap();

    assert_eq!(h.emu.token_grants(), ["password"]);
    let reqs = h.emu.requests();
    let login = &reqs[0];
    assert_eq!(login.path, "/dev/v1/oauth2/token");
    assert_eq!(
        login.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let cfg = h.emu.config();
    assert_eq!(login.form("client_id"), Some(cfg.client_id));
    assert_eq!(login.form("client_secret"), Some(cfg.client_secret));
    assert_eq!(login.form("username"), Some(cfg.username));
    assert_eq!(login.form("password"), Some(cfg.password));
    // Both API calls carry the same bearer token.
    let bearers: Vec<_> = reqs[1..]
        .iter()
        .map(|r| r.authorization.clone().unwrap())
        .collect();
    assert_eq!(bearers.len(), 2);
    assert!(bearers[0].starts_with("Bearer emu-at-") && bearers[0] == bearers[1]);
}

#[tokio::test(start_paused = true)]
async fn the_token_is_refreshed_before_it_expires() {
    for life in [36_000u64, 86_400] {
        let h = Harness::with(EmulatorConfig {
            expires_in: life,
            ..EmulatorConfig::default()
        })
        .await;
        let c = h.client();
        c.service_locations().await.unwrap();
        // More than 10 minutes left: no renewal.
        advance(Duration::from_secs(life - 700)).await;
        c.service_locations().await.unwrap();
        assert_eq!(h.emu.token_grants(), ["password"], "life {life}");
        // Less than 10 minutes left: refreshed before the call, so the API never answers 401.
        advance(Duration::from_secs(200)).await;
        c.service_locations().await.unwrap();
        assert_eq!(
            h.emu.token_grants(),
            ["password", "refresh_token"],
            "life {life}"
        );
        let reqs = h.emu.requests();
        assert!(reqs.iter().all(|r| r.status < 400), "{reqs:?}");
        let refresh = reqs
            .iter()
            .find(|r| r.form("grant_type").as_deref() == Some("refresh_token"))
            .unwrap();
        assert!(
            refresh
                .form("refresh_token")
                .unwrap()
                .starts_with("emu-rt-0001")
        );
        assert!(
            refresh.form("password").is_none(),
            "a refresh does not send the password"
        );
        // The rotated refresh token is used next time.
        advance(Duration::from_secs(life - 100)).await;
        c.service_locations().await.unwrap();
        let last = h
            .emu
            .requests()
            .into_iter()
            .rfind(|r| r.is_token())
            .unwrap();
        assert!(
            last.form("refresh_token")
                .unwrap()
                .starts_with("emu-rt-0002"),
            "life {life}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_refresh_falls_back_to_a_new_login() {
    let h = Harness::new().await;
    let c = h.client();
    c.service_locations().await.unwrap();
    h.emu.revoke_refresh_tokens();
    advance(Duration::from_secs(36_000 - 300)).await;
    c.service_locations().await.unwrap();
    assert_eq!(
        h.emu.token_grants(),
        ["password", "refresh_token", "password"]
    );
    let statuses: Vec<u16> = h
        .emu
        .requests()
        .iter()
        .filter(|r| r.is_token())
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 400, 200]);
}

#[tokio::test(start_paused = true)]
async fn a_401_renews_the_token_and_repeats_the_call_once() {
    let h = Harness::new().await;
    let c = h.client();
    c.service_locations().await.unwrap();
    h.emu.revoke_access_tokens();
    h.emu.clear_requests();
    c.service_locations().await.unwrap();
    let seen: Vec<(String, u16)> = h
        .emu
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("/dev/v3/servicelocation".to_string(), 401),
            ("/dev/v1/oauth2/token".to_string(), 200),
            ("/dev/v3/servicelocation".to_string(), 200),
        ]
    );
    assert_eq!(h.emu.token_grants(), ["refresh_token"]);

    // Refresh refused too: one login, then the call.
    h.emu.revoke_access_tokens();
    h.emu.revoke_refresh_tokens();
    h.emu.clear_requests();
    c.service_locations().await.unwrap();
    assert_eq!(h.emu.token_grants(), ["refresh_token", "password"]);

    // A server that refuses every token: one retry, then an auth error (no loop).
    h.emu.clear_requests();
    h.emu.inject_times(Target::Api, Fault::Status(401), 2);
    let e = c.service_locations().await.unwrap_err();
    assert_eq!(e.kind(), "auth", "{e}");
    assert_eq!(h.emu.requests().iter().filter(|r| !r.is_token()).count(), 2);
}

#[tokio::test(start_paused = true)]
async fn wrong_credentials_are_an_auth_error_that_says_what_to_check() {
    let mut h = Harness::new().await;
    h.creds.password = secrecy::SecretString::from("a-wrong-password".to_string());
    let e = h.client().service_locations().await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, VendorError::Auth { .. }), "{e:?}");
    assert!(
        text.contains("owner@example.com") && text.contains("password"),
        "{text}"
    );
    assert!(text.contains("invalid_grant"), "{text}");
    assert!(!text.contains("a-wrong-password"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_restart_reuses_the_stored_token_without_logging_in() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    h.client_in(Some(state.clone()))
        .service_locations()
        .await
        .unwrap();
    let file = state.join("smappee-token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // "Restart": a new client on the same state directory.
    h.client_in(Some(state.clone()))
        .service_locations()
        .await
        .unwrap();
    assert_eq!(h.emu.token_grants(), ["password"]);

    // After expiry the stored refresh token is used, not the password.
    advance(Duration::from_secs(40_000)).await;
    h.client_in(Some(state.clone()))
        .service_locations()
        .await
        .unwrap();
    assert_eq!(h.emu.token_grants(), ["password", "refresh_token"]);
}

#[tokio::test(start_paused = true)]
async fn a_token_renewed_by_another_process_is_adopted() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let service = h.client_in(Some(dir.path().to_path_buf()));
    service.service_locations().await.unwrap();
    advance(Duration::from_secs(36_000 - 300)).await;
    // The CLI renews first: the service's refresh token is spent.
    h.client_in(Some(dir.path().to_path_buf()))
        .service_locations()
        .await
        .unwrap();
    service.service_locations().await.unwrap();
    assert_eq!(
        h.emu.token_grants(),
        ["password", "refresh_token"],
        "the service adopted the CLI's token"
    );
    assert!(h.emu.requests().iter().all(|r| r.status == 200));
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_login_and_one_refresh() {
    let h = Harness::new().await;
    let a = h.client();
    let (b, c) = (a.clone(), a.clone());
    let (r1, r2, r3) = tokio::join!(
        a.service_locations(),
        b.service_locations(),
        c.service_locations()
    );
    assert!(r1.is_ok() && r2.is_ok() && r3.is_ok());
    assert_eq!(h.emu.token_grants(), ["password"]);
    advance(Duration::from_secs(36_000 - 60)).await;
    let (r1, r2) = tokio::join!(a.metering_configuration(12345), b.service_locations());
    assert!(r1.is_ok() && r2.is_ok());
    assert_eq!(h.emu.token_grants(), ["password", "refresh_token"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_token_endpoint_keeps_a_still_valid_token() {
    let h = Harness::new().await;
    let c = h.client();
    c.service_locations().await.unwrap();
    advance(Duration::from_secs(36_000 - 300)).await;
    h.emu.inject(Target::Token, Fault::Status(503));
    // The refresh fails for a passing reason; the token has 5 minutes left: the call goes through.
    c.service_locations().await.unwrap();
    assert_eq!(h.emu.token_grants(), ["password", "refresh_token"]);
    // Next call tries again and succeeds.
    c.service_locations().await.unwrap();
    assert_eq!(
        h.emu.token_grants(),
        ["password", "refresh_token", "refresh_token"]
    );

    // No token at all and the endpoint is down: a transient error, not an auth error.
    let h = Harness::new().await;
    h.emu.inject(Target::Token, Fault::Status(502));
    let e = h.client().service_locations().await.unwrap_err();
    assert_eq!(e.kind(), "transient", "{e}");
}

#[tokio::test(start_paused = true)]
async fn the_emulator_refuses_expired_unknown_and_missing_tokens() {
    let h = Harness::new().await;
    let cfg = h.emu.config();
    let http = reqwest::Client::new();
    let base = h.emu.base_url();
    let login = http
        .post(format!("{base}/dev/v1/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
            ("username", cfg.username.as_str()),
            ("password", cfg.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = login.json().await.unwrap();
    assert_eq!(v["expires_in"], 36_000);
    let token = v["access_token"].as_str().unwrap().to_string();
    let get = |auth: Option<String>| {
        let mut r = http.get(format!("{base}/dev/v3/servicelocation"));
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(Some(format!("Bearer {token}"))).await, 200);
    assert_eq!(get(Some("Bearer nonsense".into())).await, 401);
    assert_eq!(get(None).await, 401);
    advance(Duration::from_secs(36_000)).await;
    assert_eq!(get(Some(format!("Bearer {token}"))).await, 401, "expired");
}

/// Issue 12, defect 2: an `expires_in` of 1e13 s (and the largest the emulator can send) panicked
/// in the token arithmetic, killing the caller. It is capped now, and the token is used.
#[tokio::test(start_paused = true)]
async fn an_absurd_expires_in_is_capped_instead_of_panicking() {
    for life in [10_000_000_000_000u64, u64::MAX] {
        let h = Harness::with(EmulatorConfig {
            expires_in: life,
            ..EmulatorConfig::default()
        })
        .await;
        let c = h.client();
        c.service_locations().await.unwrap();
        advance(Duration::from_secs(86_400)).await;
        c.service_locations().await.unwrap();
        assert_eq!(h.emu.token_grants(), ["password"], "life {life}");
    }
}
