//! No secret (client secret, access tokens, refresh tokens) in any log line, error text or Debug output,
//! through every path that handles one: token fetch, cache, 401 refresh, rotation, failures, actions.
//! One test in its own binary, because it installs a global log capture.

use crate::support::vehicle::{Logs, clock};
use secrecy::SecretString;
use std::time::Duration;
use sunplug::emulators::cariad::{self, CariadEmulator};
use sunplug::emulators::common::Fault;
use sunplug::emulators::enode::{self, EnodeEmulator};
use sunplug::sources::vehicle::cariad::CariadSource;
use sunplug::sources::vehicle::cariad::client::CariadClient;
use sunplug::sources::vehicle::cariad::token_store::TokenStore;
use sunplug::sources::vehicle::enode::EnodeSource;
use sunplug::sources::vehicle::enode::client::{ChargeKind, EnodeClient};
use sunplug::sources::vehicle::schedule::{CariadPace, CariadPacer, DailyBudget, EnodePace};
use sunplug::vendor::{Timeouts, http_client};

fn assert_not_in(texts: &[String], secrets: &[String]) {
    for t in texts {
        for s in secrets {
            assert!(!t.contains(s.as_str()), "secret {s:?} in {t}");
        }
    }
}

async fn enode_paths() -> (Vec<String>, Vec<String>) {
    let emu = EnodeEmulator::start_with(clock()).await.unwrap();
    let secret = SecretString::from(enode::CLIENT_SECRET.to_string());
    let http = http_client(Timeouts::default());
    let c = EnodeClient::new(
        http.clone(),
        &emu.api_url(),
        &emu.oauth_url(),
        enode::CLIENT_ID,
        secret,
    )
    .unwrap();
    let pace = EnodePace {
        charging: Duration::from_secs(120),
        plugged: Duration::from_secs(300),
        away: Duration::from_secs(1800),
        max_per_hour: 30,
    };
    let mut src = EnodeSource::new(c.clone(), emu.vehicle_id(), pace, true);
    src.poll(&*clock()).await.unwrap();
    emu.revoke_tokens();
    src.poll(&*clock()).await.unwrap();
    emu.inject(Fault::Status(500));
    let e1 = src.poll(&*clock()).await.unwrap_err();
    let wrong = SecretString::from("wrong-enode-secret-value".to_string());
    let bad = EnodeClient::new(
        http,
        &emu.api_url(),
        &emu.oauth_url(),
        enode::CLIENT_ID,
        wrong,
    )
    .unwrap();
    let e2 = bad.vehicle(&emu.vehicle_id()).await.unwrap_err();
    src.charging_control()
        .unwrap()
        .set(ChargeKind::Stop, None)
        .await
        .unwrap();
    let mut secrets = emu.issued_tokens();
    assert!(!secrets.is_empty());
    secrets.extend([
        enode::CLIENT_SECRET.to_string(),
        "wrong-enode-secret-value".to_string(),
    ]);
    let texts = vec![
        e1.to_string(),
        format!("{e1:?}"),
        e2.to_string(),
        format!("{e2:?}"),
        format!("{c:?}"),
        format!("{src:?}"),
    ];
    (secrets, texts)
}

async fn cariad_paths() -> (Vec<String>, Vec<String>) {
    let emu = CariadEmulator::start_with(clock()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rt");
    std::fs::write(&file, cariad::FIRST_REFRESH_TOKEN).unwrap();
    let store = TokenStore::open(&file, dir.path()).unwrap();
    let http = http_client(Timeouts::default());
    let c = CariadClient::new(
        http,
        &emu.base_url(),
        &emu.token_url(),
        cariad::CLIENT_ID,
        store,
    )
    .unwrap();
    let pace = CariadPace {
        charging: Duration::from_secs(300),
        idle: Duration::from_secs(1200),
    };
    let pacer = CariadPacer::new(pace, DailyBudget::new(200, 50, chrono_tz::Tz::UTC));
    let mut src = CariadSource::new(c.clone(), cariad::VIN.into(), pacer);
    let mut refresh_tokens = vec![cariad::FIRST_REFRESH_TOKEN.to_string()];
    src.poll(&*clock()).await.unwrap();
    refresh_tokens.push(emu.refresh_token());
    emu.revoke_access_tokens();
    src.poll(&*clock()).await.unwrap();
    refresh_tokens.push(emu.refresh_token());
    emu.inject(Fault::Garbage);
    let e1 = src.poll(&*clock()).await.unwrap_err();
    emu.set_refresh_token("a-token-from-a-new-login");
    emu.revoke_access_tokens();
    let e2 = src.poll(&*clock()).await.unwrap_err();
    let mut secrets = emu.issued_tokens();
    assert!(secrets.len() >= 2);
    secrets.extend(refresh_tokens);
    secrets.push("a-token-from-a-new-login".into());
    let texts = vec![
        e1.to_string(),
        format!("{e1:?}"),
        e2.to_string(),
        format!("{e2:?}"),
        format!("{c:?}"),
        format!("{src:?}"),
    ];
    (secrets, texts)
}

#[test]
fn no_secret_in_any_log_line_error_or_debug_output() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let (logs, _serial) = rt.block_on(Logs::lock());
    let (mut secrets, mut texts) = rt.block_on(enode_paths());
    let (s2, t2) = rt.block_on(cariad_paths());
    secrets.extend(s2);
    texts.extend(t2);
    logs.assert_free_of(&secrets);
    assert_not_in(&texts, &secrets);
    let text = logs.text();
    assert!(
        text.contains("access token refused"),
        "the 401 path was logged: {text}"
    );
    assert!(
        text.contains("refresh token rotated and saved"),
        "the rotation path was logged"
    );
    assert!(text.contains("charge action created"));
}
