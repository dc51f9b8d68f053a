//! `sunplug charger status|set` and `sunplug smappee locations`, run as the built binary against the
//! emulator through a config whose `[smappee] base_url` points at it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use sunplug::clock::SystemClock;
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};

struct Site {
    emu: SmappeeEmulator,
    dir: tempfile::TempDir,
}

impl Site {
    async fn new() -> Site {
        Site::with(EmulatorConfig::default()).await
    }

    async fn with(cfg: EmulatorConfig) -> Site {
        let emu = SmappeeEmulator::start(cfg, Arc::new(SystemClock))
            .await
            .unwrap();
        Site {
            emu,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A config for the emulator; the client secret in a file, the password from the environment.
    fn config(&self, unit: &str, serial: Option<&str>) -> PathBuf {
        let cfg = self.emu.config();
        let secrets = self.dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::write(
            secrets.join("smappee-client-secret"),
            format!("{}\n", cfg.client_secret),
        )
        .unwrap();
        let serial = serial
            .map(|s| format!("serial = \"{s}\"\n"))
            .unwrap_or_default();
        let text = format!(
            r#"[site]
timezone = "Europe/Brussels"

[control]
state_dir = "state"

[charger]
limit_unit = "{unit}"
max_current_a = 32

[smappee]
client_id = "{client}"
client_secret_file = "secrets/smappee-client-secret"
username = "{user}"
{serial}connector = 1
base_url = "{url}"
"#,
            client = cfg.client_id,
            user = cfg.username,
            url = self.emu.base_url(),
        );
        let path = self.dir.path().join(format!("sunplug-{unit}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }
}

/// Run the binary off the runtime's threads (the emulator keeps serving meanwhile).
async fn sunplug(args: &[&str], password: Option<&str>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let password = password.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"));
        cmd.args(&args)
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("STATE_DIRECTORY")
            .env_remove("SUNPLUG_CONFIG")
            .env_remove("RUST_LOG")
            .env_remove("SUNPLUG_SMAPPEE_CLIENT_SECRET");
        match password {
            Some(p) => cmd.env("SUNPLUG_SMAPPEE_PASSWORD", p),
            None => cmd.env_remove("SUNPLUG_SMAPPEE_PASSWORD"),
        };
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_exact_request_and_sends_nothing() {
    let site = Site::new().await;
    let pw = site.emu.config().password;
    let pct = site.config("percentage", Some("5010000123"));
    let o = sunplug(
        &[
            "charger",
            "set",
            "--config",
            p(&pct),
            "--amps",
            "8.6",
            "--dry-run",
        ],
        Some(&pw),
    )
    .await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert_eq!(
        out,
        format!(
            "PUT {}/dev/v3/chargingstations/5010000123/connectors/1/mode\n\
             Authorization: Bearer ***\n\
             Content-Type: application/json\n\
             \n\
             {{\"mode\":\"NORMAL\",\"limit\":{{\"unit\":\"PERCENTAGE\",\"value\":10}}}}\n",
            site.emu.base_url()
        )
    );
    assert!(
        err.contains("dry run: nothing sent") && err.contains("10 % = 8.60 A"),
        "{err}"
    );

    let amp = site.config("ampere", Some("5010000123"));
    let o = sunplug(
        &["charger", "set", "-c", p(&amp), "--amps", "16", "--dry-run"],
        Some(&pw),
    )
    .await;
    assert!(
        text(&o)
            .0
            .ends_with("{\"mode\":\"NORMAL\",\"limit\":{\"unit\":\"AMPERE\",\"value\":16}}\n"),
        "{:?}",
        text(&o)
    );
    let o = sunplug(
        &["charger", "set", "-c", p(&amp), "--pause", "--dry-run"],
        Some(&pw),
    )
    .await;
    assert!(
        text(&o).0.ends_with("\n{\"mode\":\"PAUSED\"}\n"),
        "{:?}",
        text(&o)
    );
    let o = sunplug(
        &[
            "charger",
            "set",
            "-c",
            p(&amp),
            "--percent",
            "100",
            "--dry-run",
        ],
        Some(&pw),
    )
    .await;
    assert!(
        text(&o).0.contains("\"unit\":\"PERCENTAGE\",\"value\":100"),
        "{:?}",
        text(&o)
    );

    assert!(
        site.emu.requests().is_empty(),
        "a dry run does not even log in"
    );
    assert!(!site.state_dir().join("smappee-token.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_then_status_through_the_api_with_one_login() {
    let site = Site::new().await;
    let pw = site.emu.config().password;
    let cfg = site.config("ampere", Some("5010000123"));
    site.emu.plug_in(1);

    let o = sunplug(
        &["charger", "set", "--config", p(&cfg), "--amps", "10"],
        Some(&pw),
    )
    .await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("connector 1 set to NORMAL at 10 A"), "{out}");
    assert_eq!(
        site.emu.mode_bodies(),
        [r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#]
    );

    let o = sunplug(&["charger", "status", "--config", p(&cfg)], Some(&pw)).await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for want in [
        "Smappee station 5010000123, connector 1 (right), service location 12345 \"Home\"",
        "plugged in, charging (session 4001, CHARGING",
        "state:     started",
        "limit:     15 % ≈ 9.90 A (reported as a percentage)   (station range 6–32 A)",
        "AMPERE, whole amps",
        "token:     valid until",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    let o = sunplug(
        &["charger", "status", "--config", p(&cfg), "--json"],
        Some(&pw),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plugged"], true);
    assert_eq!(v["charging"], true);
    assert_eq!(v["percentage_limit"], 15);
    assert_eq!(v["max_current_a"], 32.0);
    assert_eq!(v["charging_state"], "STARTED");
    assert_eq!(v["session_state"], "started");

    // A state word sunplug does not know is reported as unknown, with the raw word; never as
    // "not charging" (here the session's status speaks for it).
    site.emu.set_state_word(1, Some("Warping"));
    let o = sunplug(
        &["charger", "status", "--config", p(&cfg), "--json"],
        Some(&pw),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["session_state"], "unknown");
    assert_eq!(v["charging_state"], "Warping");
    assert_eq!(v["charging"], true, "from the session's status");
    let o = sunplug(&["charger", "status", "--config", p(&cfg)], Some(&pw)).await;
    assert!(
        text(&o).0.contains("state:     unknown (Warping)"),
        "{:?}",
        text(&o)
    );
    site.emu.set_state_word(1, None);

    let o = sunplug(
        &["charger", "set", "--config", p(&cfg), "--pause"],
        Some(&pw),
    )
    .await;
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(
        site.emu.mode_bodies().last().unwrap(),
        r#"{"mode":"PAUSED"}"#
    );

    // Four runs, one login: the token was kept in the state directory, readable by the owner only.
    assert_eq!(site.emu.token_grants(), ["password"]);
    let file = site.state_dir().join("smappee-token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_lists_stations_before_the_serial_is_known() {
    let site = Site::new().await;
    let pw = site.emu.config().password;
    let cfg = site.config("percentage", None);
    let o = sunplug(&["smappee", "locations", "--config", p(&cfg)], Some(&pw)).await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    for want in [
        "Service location 12345 \"Home\", uuid 6eefadeb-5c08-47cd-87b6-9897acb9fb8f",
        "monitor/hub serial 5100000123 (not a charging station serial)",
        "charging station 5010000123 \"EV Wall\" (Connect 5100000123)",
        "connector 1 (right): 6–32 A, smart device CARCHARGER-299, realtime channels 4, 5, 6 \
         (charger_channels = [4, 5, 6])",
        "Put the station's serial in [smappee] serial",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // The same config cannot drive the charger yet, and says why.
    let o = sunplug(&["charger", "status", "--config", p(&cfg)], Some(&pw)).await;
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("smappee.serial: missing"),
        "{:?}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_get_clear_errors_without_secrets() {
    let site = Site::new().await;
    let cfg = site.config("ampere", Some("5010000123"));
    let pw = site.emu.config().password;

    let o = sunplug(&["charger", "set", "-c", p(&cfg), "--amps", "5"], Some(&pw)).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("below the 6.00 A floor") && text(&o).1.contains("--pause"),
        "{:?}",
        text(&o)
    );

    let o = sunplug(
        &[
            "charger",
            "set",
            "-c",
            p(&cfg),
            "--amps",
            "10.5",
            "--dry-run",
        ],
        Some(&pw),
    )
    .await;
    assert!(text(&o).1.contains("whole amps"), "{:?}", text(&o));

    let o = sunplug(&["charger", "status", "-c", p(&cfg)], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).1.contains("SUNPLUG_SMAPPEE_PASSWORD"),
        "{:?}",
        text(&o)
    );

    let wrong = "wrong-Pa55word!";
    let o = sunplug(&["charger", "status", "-c", p(&cfg)], Some(wrong)).await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("refused the login of \"owner@example.com\""),
        "{err}"
    );
    let secret = site.emu.config().client_secret;
    for s in [wrong, secret.as_str()] {
        assert!(
            !out.contains(s) && !err.contains(s),
            "{s} leaked:\n{out}\n{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_still_checks() {
    let root = env!("CARGO_MANIFEST_DIR");
    let o = sunplug(
        &["check-config", &format!("{root}/examples/sunplug.toml")],
        None,
    )
    .await;
    assert!(o.status.success(), "{:?}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_every_connector_of_a_dual_station() {
    let site = Site::with(EmulatorConfig {
        connectors: vec![(1, 6.0, 32.0), (2, 6.0, 32.0)],
        ..EmulatorConfig::default()
    })
    .await;
    let pw = site.emu.config().password;
    site.emu.plug_in(2);

    // The single form drives connector 1; connector 2 is listed as not configured.
    let single = site.config("ampere", Some("5010000123"));
    let o = sunplug(&["charger", "status", "--config", p(&single)], Some(&pw)).await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let second = out
        .find("Not configured in sunplug:")
        .unwrap_or_else(|| panic!("connector 2 missing in:\n{out}"));
    assert!(out[..second].contains("connector 1 (right)"), "{out}");
    assert!(out[second..].contains("connector 2 (left)"), "{out}");
    assert!(out[second..].contains("plugged in"), "{out}");

    // Two loadpoints, one per connector: both named, one login for both.
    let text_two = std::fs::read_to_string(&single)
        .unwrap()
        .replace("connector = 1\n", "")
        + "\n[[loadpoint]]\nname = \"garage\"\nconnector = 1\n\n[[loadpoint]]\nname = \"drive\"\nconnector = 2\n";
    let two = site.dir.path().join("two.toml");
    std::fs::write(&two, text_two).unwrap();
    let o = sunplug(&["charger", "status", "--config", p(&two)], Some(&pw)).await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("Loadpoint \"garage\":\nSmappee station 5010000123, connector 1"),
        "{out}"
    );
    assert!(
        out.contains("Loadpoint \"drive\":\nSmappee station 5010000123, connector 2"),
        "{out}"
    );
    assert!(!out.contains("Not configured"), "{out}");
    let o = sunplug(
        &["charger", "status", "--config", p(&two), "--json"],
        Some(&pw),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v["connectors"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v:#}");
    assert_eq!(
        (
            list[0]["loadpoint"].as_str(),
            list[0]["connector"].as_u64(),
            list[0]["plugged"].as_bool()
        ),
        (Some("garage"), Some(1), None),
        "connector 1 has no car; the station's open session is connector 2's: {v:#}"
    );
    assert_eq!(
        (
            list[1]["loadpoint"].as_str(),
            list[1]["connector"].as_u64(),
            list[1]["plugged"].as_bool()
        ),
        (Some("drive"), Some(2), Some(true))
    );

    // `charger set` on a site names its loadpoint.
    let o = sunplug(
        &["charger", "set", "--config", p(&two), "--amps", "10"],
        Some(&pw),
    )
    .await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        err.contains("several loadpoints: say which with --loadpoint (garage, drive)"),
        "{err}"
    );
    let o = sunplug(
        &[
            "charger",
            "set",
            "--config",
            p(&two),
            "--loadpoint",
            "drive",
            "--amps",
            "10",
        ],
        Some(&pw),
    )
    .await;
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("connector 2 set to NORMAL at 10 A"), "{out}");
    let last = site
        .emu
        .requests()
        .into_iter()
        .rfind(|r| r.is_mode())
        .unwrap();
    assert!(last.path.ends_with("/connectors/2/mode"), "{last:?}");
    assert_eq!(site.emu.connector(2).unwrap().offered(), 10.0);
    let o = sunplug(
        &[
            "charger",
            "set",
            "--config",
            p(&two),
            "--loadpoint",
            "gate",
            "--pause",
        ],
        Some(&pw),
    )
    .await;
    assert!(
        text(&o)
            .1
            .contains("no loadpoint \"gate\" (they are: garage, drive)"),
        "{:?}",
        text(&o)
    );
    assert_eq!(
        site.emu.token_grants(),
        ["password"],
        "one token for every connector and run"
    );
}
