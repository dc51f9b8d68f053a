//! `sunplug check-config`: the shipped example passes; broken files report every problem with its key
//! and line, and exit 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sunplug(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(args)
        .env_remove("SUNPLUG_SMAPPEE_PASSWORD")
        .env_remove("SUNPLUG_SMAPPEE_CLIENT_SECRET")
        .env_remove("SUNPLUG_ENODE_CLIENT_SECRET")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("runs")
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The example config, edited, in a temp dir that also holds the policies and secrets it refers to.
fn example_with(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("secrets")).unwrap();
    std::fs::create_dir_all(etc.join("policies")).unwrap();
    for entry in std::fs::read_dir(repo("examples/secrets")).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), etc.join("secrets").join(e.file_name())).unwrap();
    }
    for entry in std::fs::read_dir(repo("policies")).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), etc.join("policies").join(e.file_name())).unwrap();
    }
    let text = std::fs::read_to_string(repo("examples/sunplug.toml")).unwrap();
    let path = etc.join("sunplug.toml");
    std::fs::write(&path, edit(text)).unwrap();
    (dir, path)
}

#[test]
fn the_shipped_example_passes() {
    let out = sunplug(&[
        "check-config",
        repo("examples/sunplug.toml").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK"), "{stdout}");
    assert!(stdout.contains("policy \"pv-only\""), "{stdout}");
}

#[test]
fn three_mistakes_are_all_reported_with_keys_and_lines() {
    let (_dir, path) = example_with(|t| {
        t.replace("interval = \"5s\"", "interval = \"5 parsecs\"")
            .replace("ramp_a_per_s = 1.0", "ramp_a_per_sec = 1.0")
            .replace(
                "password_file = \"secrets/smappee-password\"",
                "password_file = \"secrets/missing\"",
            )
    });
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    assert!(err.contains("3 problems found"), "{err}");
    for (key, needle, hint) in [
        ("control.interval", "interval = \"5 parsecs\"", "\"10s\""),
        (
            "control.ramp_a_per_sec",
            "ramp_a_per_sec",
            "did you mean `ramp_a_per_s`",
        ),
        (
            "smappee.password_file",
            "password_file = \"secrets/missing\"",
            "SUNPLUG_SMAPPEE_PASSWORD",
        ),
    ] {
        let expected = format!("sunplug.toml:{}: {key}:", line_of(needle));
        let line = err
            .lines()
            .find(|l| l.contains(&expected))
            .unwrap_or_else(|| panic!("{expected} in {err}"));
        assert!(line.contains(hint), "{line}");
    }
}

#[test]
fn secrets_never_appear_in_the_output() {
    let (dir, path) = example_with(|t| {
        t.replace(
            "timezone = \"Europe/Brussels\"",
            "timezone = \"Mars/Olympus\"",
        )
    });
    std::fs::write(
        dir.path().join("etc/secrets/smappee-password"),
        "hunter2-very-secret",
    )
    .unwrap();
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("unknown timezone \"Mars/Olympus\""), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
}

#[test]
fn a_policy_that_needs_soc_without_a_vehicle_is_refused() {
    let (_dir, path) = example_with(|t| {
        t.replace("policies/pv-only.toml", "policies/target-by-departure.toml")
            .replace("kind = \"enode\"", "kind = \"none\"")
    });
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("control.policy") && err.contains("needs the car's SoC"),
        "{err}"
    );
}

#[test]
fn a_broken_policy_file_is_reported_with_its_own_file_and_line() {
    let (dir, path) = example_with(|t| t);
    std::fs::write(
        dir.path().join("etc/policies/pv-only.toml"),
        "module = \"pv-only\"\n\n[switch]\nstart_energy = 3\n",
    )
    .unwrap();
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pv-only.toml:4: switch.start_energy: unknown key"),
        "{err}"
    );
    assert!(
        err.contains("start_energy_wh"),
        "suggests the right key: {err}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = sunplug(&["check-config", "/nonexistent/sunplug.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
}

#[test]
fn the_example_s_placeholders_are_warnings_and_enums_read_as_in_toml() {
    let out = sunplug(&[
        "check-config",
        repo("examples/sunplug.toml").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a warning is not an error: {stdout}{err}"
    );
    assert!(
        err.contains("warning:")
            && err.contains("smappee.password_file")
            && err.contains("REPLACE-ME"),
        "{err}"
    );
    assert!(stdout.contains("OK, with 3 warnings"), "{stdout}");
    assert!(stdout.contains("in percentage"), "{stdout}");
    assert!(!stdout.contains("Percentage"), "{stdout}");
    assert!(stdout.contains("vehicle: enode"), "{stdout}");
}

#[test]
fn real_secrets_give_no_warning() {
    let (dir, path) = example_with(|t| t);
    for e in std::fs::read_dir(dir.path().join("etc/secrets")).unwrap() {
        std::fs::write(e.unwrap().path(), "s3cret\n").unwrap();
    }
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn one_unquoted_value_is_one_problem() {
    let (_dir, path) = example_with(|t| t.replace("host = \"localhost\"", "host = broker.lan"));
    let out = sunplug(&["check-config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 problem found"), "{err}");
    assert!(err.contains("must be quoted"), "{err}");
}

#[test]
fn price_source_mistakes_are_reported_with_keys_and_lines() {
    let (_dir, path) = example_with(|t| {
        format!(
            "{t}\n[prices]\nsource = \"entsoe\"\nzone = \"Atlantis\"\nfallback = 0.30\n\
             token_file = \"secrets/entsoe-missing\"\nhome_id = \"abc\"\ncurrency = \"euro\"\n"
        )
    });
    let out = Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(["check-config", path.to_str().unwrap()])
        .env_remove("SUNPLUG_ENTSOE_TOKEN")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&path).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    for (key, needle, hint) in [
        ("prices.zone", "zone = \"Atlantis\"", "DE-LU"),
        (
            "prices.home_id",
            "home_id",
            "only used with source = \"tibber\"",
        ),
        ("prices.currency", "currency = \"euro\"", "\"EUR\""),
        ("prices.token_file", "token_file", "SUNPLUG_ENTSOE_TOKEN"),
    ] {
        let expected = format!("sunplug.toml:{}: {key}:", line_of(needle));
        let line = err
            .lines()
            .find(|l| l.contains(&expected))
            .unwrap_or_else(|| panic!("{expected} in {err}"));
        assert!(line.contains(hint), "{line}");
    }
}
