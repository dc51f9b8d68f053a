//! The `sunplug` binary's vehicle commands against the emulators: `probe vehicle` (JSON and table,
//! Enode and Cariad), its failures (exit 1 with a clear message), `enode link`, `enode vehicles`, and
//! the config checks around `[vehicle] kind`.

use std::path::Path;
use std::process::{Command, Output};
use sunplug::emulators::cariad::{self, CariadEmulator};
use sunplug::emulators::enode::{self, EnodeEmulator};

/// Run the binary with `args` (off the async runtime) and the Enode secret in the environment.
async fn sunplug(args: &[&str], enode_secret: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let secret = enode_secret.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sunplug"));
        cmd.args(&args)
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("SUNPLUG_CONFIG");
        match secret {
            Some(s) => cmd.env("SUNPLUG_ENODE_CLIENT_SECRET", s),
            None => cmd.env_remove("SUNPLUG_ENODE_CLIENT_SECRET"),
        };
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn enode_config(api: &str, oauth: &str, vehicle_id: Option<&str>) -> String {
    let vehicle = vehicle_id
        .map(|v| format!("vehicle_id = \"{v}\""))
        .unwrap_or_default();
    format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\nstate_dir = \"state\"\n[vehicle]\nkind = \"enode\"\n\
         max_age = \"1h\"\n[enode]\nclient_id = \"{}\"\nuser_id = \"home\"\n{vehicle}\napi_url = \"{api}\"\n\
         oauth_url = \"{oauth}\"\n",
        enode::CLIENT_ID
    )
}

fn config_path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sunplug probe vehicle --json` on `cfg`: it succeeds, and this is its report.
async fn probe_json(cfg: &Path, enode_secret: Option<&str>) -> serde_json::Value {
    let out = sunplug(
        &["probe", "vehicle", "--config", config_path(cfg), "--json"],
        enode_secret,
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_vehicle_json_reads_the_enode_emulator() {
    let emu = EnodeEmulator::start().await.unwrap();
    let (_dir, cfg) = crate::support::vehicle::config(&enode_config(
        &emu.api_url(),
        &emu.oauth_url(),
        Some(&emu.vehicle_id()),
    ));
    let j = probe_json(&cfg, Some(enode::CLIENT_SECRET)).await;
    assert_eq!(j["soc_pct"], 66.0);
    assert_eq!(j["plugged"], true);
    assert_eq!(j["charging"], true);
    assert_eq!(j["charge_limit_pct"], 80.0);
    assert_eq!(j["range_km"], 228.0);
    assert_eq!(j["latitude"], 50.8467);
    assert_eq!(j["longitude"], 4.3525);
    assert!(
        j["age_s"].as_u64().unwrap() <= 120,
        "Enode's 2-min refresh: {}",
        j["age_s"]
    );
    assert_eq!(j["fresh"], true);
    assert_eq!(j["power_delivery"], "PLUGGED_IN:CHARGING");
    assert_eq!(j["vehicle"]["vin"], "2HGFB2F5XEH542858");
    assert!(j["odometer_km"].is_null(), "unknown is null");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_vehicle_table_shows_values_with_their_age_and_staleness() {
    let emu = EnodeEmulator::start().await.unwrap();
    let old = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2024, 1, 7, 17, 4, 26).unwrap();
    emu.update_vehicle(|v| v.last_updated = enode::Timing::At(old));
    let (_dir, cfg) = crate::support::vehicle::config(&enode_config(
        &emu.api_url(),
        &emu.oauth_url(),
        Some(&emu.vehicle_id()),
    ));
    let out = sunplug(
        &["probe", "vehicle", "--config", config_path(&cfg)],
        Some(enode::CLIENT_SECRET),
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("SoC           66 %"), "{stdout}");
    assert!(
        stdout.contains("captured 2024-01-07 17:04:26 UTC"),
        "{stdout}"
    );
    assert!(stdout.contains("data: STALE"), "{stdout}");
    assert!(stdout.contains("odometer      unknown"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_vehicle_reads_cariad_and_saves_the_rotated_token() {
    let emu = CariadEmulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cariad-token"),
        format!("{}\n", cariad::FIRST_REFRESH_TOKEN),
    )
    .unwrap();
    let cfg = dir.path().join("sunplug.toml");
    let text_cfg = format!(
        "[site]\ntimezone = \"Europe/Berlin\"\n[control]\nstate_dir = \"state\"\n[vehicle]\nkind = \"cariad\"\n\
         [cariad]\nvin = \"{}\"\nclient_id = \"{}\"\nrefresh_token_file = \"cariad-token\"\nbase_url = \"{}\"\n\
         token_url = \"{}\"\nparking_position = true\n",
        cariad::VIN,
        cariad::CLIENT_ID,
        emu.base_url(),
        emu.token_url()
    );
    std::fs::write(&cfg, text_cfg).unwrap();
    let j = probe_json(&cfg, None).await;
    assert_eq!(j["soc_pct"], 63.0);
    assert_eq!(j["plugged"], false);
    assert_eq!(j["charging"], false);
    assert_eq!(j["charge_limit_pct"], 100.0);
    assert_eq!(j["range_km"], 320.0);
    assert_eq!(j["odometer_km"], 12357.0);
    assert_eq!(j["latitude"], 48.7665);
    assert!(
        (60..=120).contains(&j["age_s"].as_u64().unwrap()),
        "captured a minute before: {}",
        j["age_s"]
    );
    let saved = std::fs::read_to_string(dir.path().join("cariad-token")).unwrap();
    assert_eq!(
        saved.trim(),
        emu.refresh_token(),
        "rotated and saved in place"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state/cariad-budget"))
            .unwrap()
            .split(' ')
            .nth(1),
        Some("2\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_vehicle_fails_with_exit_1_and_a_clear_message() {
    let emu = EnodeEmulator::start().await.unwrap();
    let (_dir, cfg) = crate::support::vehicle::config(&enode_config(
        &emu.api_url(),
        &emu.oauth_url(),
        Some(&emu.vehicle_id()),
    ));
    let out = sunplug(
        &["probe", "vehicle", "--config", config_path(&cfg)],
        Some("wrong-secret"),
    )
    .await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("enode: authentication failed: client id or secret refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-secret"), "{stderr}");

    // Nobody listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let (_dir, cfg) = crate::support::vehicle::config(&enode_config(
        &dead,
        &format!("{dead}/oauth2/token"),
        Some("v"),
    ));
    let out = sunplug(
        &["probe", "vehicle", "--config", config_path(&cfg)],
        Some("s"),
    )
    .await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("temporary failure: could not connect (127.0.0.1)"),
        "{stderr}"
    );

    // No secret at all: the config problem, with the ways to give one.
    let out = sunplug(&["probe", "vehicle", "--config", config_path(&cfg)], None).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("enode.client_secret_file")
            && stderr.contains("SUNPLUG_ENODE_CLIENT_SECRET"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enode_link_and_vehicles_work_before_vehicle_id_is_known() {
    let emu = EnodeEmulator::start().await.unwrap();
    let (_dir, cfg) =
        crate::support::vehicle::config(&enode_config(&emu.api_url(), &emu.oauth_url(), None));
    let args = [
        "enode",
        "link",
        "--config",
        config_path(&cfg),
        "--user",
        "home",
        "--vendor",
        "xpeng",
    ];
    let out = sunplug(&args, Some(enode::CLIENT_SECRET)).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("{}/link/session-1", emu.api_url())),
        "{stdout}"
    );
    assert!(
        !stdout.contains("link-token-1-secret"),
        "the SDK token is not printed"
    );
    let (user, body) = emu.links().pop().unwrap();
    assert_eq!(user, "home");
    assert_eq!(
        body["scopes"],
        serde_json::json!([
            "vehicle:read:data",
            "vehicle:read:location",
            "vehicle:control:charging"
        ])
    );
    assert_eq!(body["vendor"], "XPENG");
    assert_eq!(body["redirectUri"], "https://localhost/");

    let out = sunplug(
        &["enode", "vehicles", "--config", config_path(&cfg)],
        Some(enode::CLIENT_SECRET),
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "No vehicle is linked to user \"home\"; all vehicles of this Enode client:"
    );
    let lines = &lines[1..];
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("BRAND") && lines[0].contains("VIN"),
        "{stdout}"
    );
    let row = lines[1];
    for want in [
        "05ee9df5-d072-4ee8-b773-399dec8f5693",
        "Tesla",
        "Model S P85",
        "2HGFB2F5XEH542858",
    ] {
        assert!(row.contains(want), "{want} missing in {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_covers_vehicle_kinds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/sunplug.toml")).unwrap();
    let abs = example
        .replace(
            "\"secrets/",
            &format!("\"{}/examples/secrets/", root.display()),
        )
        .replace(
            "\"policies/pv-only.toml\"",
            &format!("\"{}/policies/target-by-departure.toml\"", root.display()),
        );
    // kind = "none" with a policy that needs the SoC: said at check-config time.
    let (_dir, cfg) =
        crate::support::vehicle::config(&abs.replace("kind = \"enode\"", "kind = \"none\""));
    let out = sunplug(&["check-config", config_path(&cfg)], None).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("needs the car's SoC") && stderr.contains("kind = \"none\""),
        "{stderr}"
    );
    // A bad [cariad] section: every problem at once.
    let cariad = "\n[cariad]\nvin = \"WAUZZZ\"\ndaily_budget = 900\npoll_charging = \"1m\"\nbase_url = \"nope\"\n";
    let (_dir, cfg) = crate::support::vehicle::config(&format!(
        "{}{cariad}",
        abs.replace("kind = \"enode\"", "kind = \"cariad\"")
    ));
    let out = sunplug(&["check-config", config_path(&cfg)], None).await;
    let (_, stderr) = text(&out);
    for key in [
        "cariad.vin",
        "cariad.daily_budget",
        "cariad.poll_charging",
        "cariad.base_url",
        "cariad.client_id",
        "cariad.refresh_token_file",
    ] {
        assert!(stderr.contains(key), "{key} not reported: {stderr}");
    }
    // The shipped example passes.
    let out = sunplug(
        &[
            "check-config",
            root.join("examples/sunplug.toml").to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out).1);
}
