//! The Enode client, source and poller against the Enode emulator, under tokio's paused clock.

use crate::support::t0;
use crate::support::vehicle::clock;
use crate::support::vehicle::{
    enode_client as client, enode_emulator as emulator, enode_pace as pace,
};
use std::time::Duration;
use sunplug::emulators::common::Fault;
use sunplug::emulators::enode::{CLIENT_SECRET, TOKEN_PATH, Timing, VehicleSim};
use sunplug::sources::vehicle::enode::EnodeSource;
use sunplug::sources::vehicle::enode::wire::LinkRequest;
use sunplug::sources::vehicle::state::{Freshness, PowerDelivery, VehicleWarning};
use sunplug::units::Soc;

#[tokio::test(start_paused = true)]
async fn token_is_cached_and_refreshed_shortly_before_expiry() {
    let emu = emulator().await;
    let c = client(&emu, CLIENT_SECRET);
    for _ in 0..10 {
        c.vehicle(&emu.vehicle_id()).await.unwrap();
    }
    let tokens = emu.requests_to(TOKEN_PATH);
    assert_eq!(tokens.len(), 1, "one token for ten calls");
    // The request seed 000 shows: Basic auth, form grant_type=client_credentials.
    assert!(
        tokens[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!(tokens[0].body, "grant_type=client_credentials");
    // 3599 s tokens are renewed a minute early.
    tokio::time::advance(Duration::from_secs(3530)).await;
    c.vehicle(&emu.vehicle_id()).await.unwrap();
    assert_eq!(emu.requests_to(TOKEN_PATH).len(), 1);
    tokio::time::advance(Duration::from_secs(10)).await;
    c.vehicle(&emu.vehicle_id()).await.unwrap();
    assert_eq!(emu.requests_to(TOKEN_PATH).len(), 2);
    assert!(
        emu.requests().iter().all(|r| r.status < 400),
        "no request ever failed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_refreshes_the_token_once_and_retries() {
    let emu = emulator().await;
    let c = client(&emu, CLIENT_SECRET);
    c.vehicle(&emu.vehicle_id()).await.unwrap();
    emu.revoke_tokens();
    c.vehicle(&emu.vehicle_id()).await.unwrap();
    assert_eq!(emu.requests_to(TOKEN_PATH).len(), 2);
    // Refused again after the refresh: an auth error, no loop.
    emu.inject(Fault::Unauthorized);
    emu.inject(Fault::Unauthorized);
    let before = emu.requests().len();
    let e = c.vehicle(&emu.vehicle_id()).await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    assert_eq!(
        emu.requests().len() - before,
        3,
        "API, token, API: then stop"
    );
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_is_an_auth_error_that_says_what_to_check() {
    let emu = emulator().await;
    let e = client(&emu, "not-the-secret")
        .vehicle(&emu.vehicle_id())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "auth");
    let msg = e.to_string();
    assert!(
        msg.contains("client id or secret refused") && msg.contains("sandbox"),
        "{msg}"
    );
    assert!(!msg.contains("not-the-secret"));
}

#[tokio::test(start_paused = true)]
async fn every_api_call_pins_the_enode_version_the_parser_is_written_for() {
    let emu = emulator().await;
    let c = client(&emu, CLIENT_SECRET);
    c.vehicle(&emu.vehicle_id()).await.unwrap();
    c.vehicles(None).await.unwrap();
    let api: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path != TOKEN_PATH)
        .collect();
    assert_eq!(api.len(), 2, "{api:?}");
    for r in &api {
        assert_eq!(
            r.header("enode-version"),
            Some(sunplug::sources::vehicle::enode::client::ENODE_VERSION),
            "{} {}",
            r.method,
            r.path
        );
    }
    assert_eq!(
        sunplug::sources::vehicle::enode::client::ENODE_VERSION,
        "2024-10-01"
    );
}

#[tokio::test(start_paused = true)]
async fn enode_smart_charging_on_is_a_warning_for_home_assistant() {
    let emu = emulator().await;
    let mut src = EnodeSource::new(client(&emu, CLIENT_SECRET), emu.vehicle_id(), pace(), false);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(s.warning, None);
    emu.update_vehicle(|v| v.smart_charging = true);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(s.warning, Some(VehicleWarning::EnodeSmartCharging));
    let update = sunplug::daemon::adapters::update_of(&s);
    assert_eq!(update.warning, Some(VehicleWarning::EnodeSmartCharging));
    assert!(
        VehicleWarning::EnodeSmartCharging
            .message()
            .contains("fights sunplug")
    );
    emu.update_vehicle(|v| v.smart_charging = false);
    assert_eq!(src.poll(&*clock()).await.unwrap().warning, None);
}

#[tokio::test(start_paused = true)]
async fn seed_vehicle_parses_through_the_client() {
    let emu = emulator().await;
    let mut src = EnodeSource::new(client(&emu, CLIENT_SECRET), emu.vehicle_id(), pace(), false);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(s.soc.as_ref().unwrap().value, Soc::new(66.0).unwrap());
    assert_eq!(s.range_km.as_ref().unwrap().value, 228.0);
    assert!(s.is_plugged() && s.is_charging());
    assert_eq!(
        s.plugged_in_charger_id.as_deref(),
        Some("07f8368d-be7e-4dbd-8cf0-94d00dd67ad3")
    );
    assert_eq!(
        s.charge_limit.as_ref().unwrap().value,
        Soc::new(80.0).unwrap()
    );
    assert_eq!(s.location.as_ref().unwrap().value.latitude, 50.8467);
    assert_eq!(s.info.vin.as_deref(), Some("2HGFB2F5XEH542858"));
    assert_eq!(
        s.freshness(t0(), Duration::from_secs(600)),
        Freshness::Fresh
    );
}

#[tokio::test(start_paused = true)]
async fn stale_last_updated_is_marked_stale_never_fresh() {
    let emu = emulator().await;
    let old = t0() - chrono::TimeDelta::hours(9);
    emu.update_vehicle(|v| v.last_updated = Timing::At(old));
    let mut src = EnodeSource::new(client(&emu, CLIENT_SECRET), emu.vehicle_id(), pace(), false);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(
        s.freshness(t0(), Duration::from_secs(6 * 3600)),
        Freshness::Stale
    );
    assert_eq!(s.data_age(t0()), Some(Duration::from_secs(9 * 3600)));
    assert_eq!(
        s.observation().soc.unwrap().at,
        old,
        "the controller gets the car's time"
    );
    emu.update_vehicle(|v| v.last_updated = Timing::Null);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(s.freshness(t0(), Duration::MAX), Freshness::UnknownAge);
    assert!(s.observation().soc.is_none());
}

#[tokio::test(start_paused = true)]
async fn every_power_delivery_state_and_unknown_ones_are_read() {
    let emu = emulator().await;
    let mut src = EnodeSource::new(client(&emu, CLIENT_SECRET), emu.vehicle_id(), pace(), false);
    for (sent, want) in [
        ("UNPLUGGED", PowerDelivery::Unplugged),
        ("PLUGGED_IN:INITIALIZING", PowerDelivery::Initializing),
        ("PLUGGED_IN:STOPPED", PowerDelivery::Stopped),
        ("PLUGGED_IN:COMPLETE", PowerDelivery::Complete),
        ("PLUGGED_IN:NO_POWER", PowerDelivery::NoPower),
        ("PLUGGED_IN:FAULT", PowerDelivery::Fault),
        ("PLUGGED_IN:DISCHARGING", PowerDelivery::Discharging),
        ("UNKNOWN", PowerDelivery::Unknown),
        ("PLUGGED_IN:SOMETHING_NEW", PowerDelivery::Unknown),
    ] {
        emu.update_vehicle(|v| v.power_delivery_override = Some(sent.into()));
        let s = src.poll(&*clock()).await.unwrap();
        assert_eq!(s.power_delivery.unwrap().value, want, "{sent}");
        assert_eq!(s.vendor_state.as_deref(), Some(sent));
        assert!(s.soc.is_some(), "the rest of the payload is still read");
    }
}

#[tokio::test(start_paused = true)]
async fn failures_map_onto_the_shared_vocabulary() {
    let emu = emulator().await;
    let c = client(&emu, CLIENT_SECRET);
    let id = emu.vehicle_id();
    emu.inject(Fault::Status(502));
    assert_eq!(c.vehicle(&id).await.unwrap_err().kind(), "transient");
    emu.inject(Fault::Garbage);
    let e = c.vehicle(&id).await.unwrap_err();
    assert_eq!(e.kind(), "protocol");
    assert!(e.to_string().contains("garbage"), "{e}");
    emu.inject(Fault::Delay(Duration::from_secs(120)));
    let e = c.vehicle(&id).await.unwrap_err();
    assert_eq!(e.kind(), "transient");
    assert!(e.to_string().contains("timed out"), "{e}");
    emu.inject(Fault::RateLimited {
        retry_after: Some(42),
    });
    assert_eq!(
        c.vehicle(&id).await.unwrap_err().retry_after(),
        Some(Duration::from_secs(42))
    );
    let e = c.vehicle("no-such-car").await.unwrap_err();
    assert_eq!(e.kind(), "rejected");
    assert!(
        e.to_string().contains("Vehicle not found") && e.to_string().contains("enode vehicles"),
        "{e}"
    );
    c.vehicle(&id).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn vehicle_list_follows_the_pagination() {
    let emu = emulator().await;
    let mut all = vec![VehicleSim::seed()];
    for i in 0..120 {
        let mut v = VehicleSim::seed();
        v.id = format!("vehicle-{i:03}");
        v.user_id = if i % 2 == 0 {
            "home".into()
        } else {
            "work".into()
        };
        all.push(v);
    }
    emu.set_vehicles(all);
    let c = client(&emu, CLIENT_SECRET);
    assert_eq!(c.vehicles(None).await.unwrap().len(), 121);
    assert_eq!(emu.requests_to("/vehicles").len(), 3, "50 + 50 + 21");
    let home = c.vehicles(Some("home")).await.unwrap();
    assert_eq!(home.len(), 60);
    assert!(home.iter().all(|v| v.user_id.as_deref() == Some("home")));
}

#[tokio::test(start_paused = true)]
async fn link_session_sends_the_fields_the_spec_requires() {
    let emu = emulator().await;
    let req = LinkRequest {
        vendor_type: "vehicle".into(),
        scopes: sunplug::commands::enode::LINK_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        language: "en-US".into(),
        redirect_uri: "https://localhost:3000".into(),
        vendor: Some("XPENG".into()),
    };
    let answer = client(&emu, CLIENT_SECRET)
        .link("my user/1", &req)
        .await
        .unwrap();
    assert!(
        answer.link_url.starts_with(&emu.api_url()),
        "{}",
        answer.link_url
    );
    let (user, body) = emu.links().pop().unwrap();
    assert_eq!(
        user, "my user/1",
        "the user id travels escaped and arrives whole"
    );
    // The same request seed 000 sends with curl, plus the vendor.
    assert_eq!(
        body,
        serde_json::json!({ "vendorType": "vehicle", "scopes": ["vehicle:read:data", "vehicle:read:location",
          "vehicle:control:charging"], "language": "en-US", "redirectUri": "https://localhost:3000", "vendor": "XPENG" })
    );
}
