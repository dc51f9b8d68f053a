//! Script policies through the whole controller: the shipped examples run through a day; whatever a
//! script asks (3 A, 80 A, NaN, an unknown wish, an endless loop), the guard and the fallback keep the
//! command safe; a syntax error is a `check-config` error with file:line:column (exit 1).

use crate::support::control::*;
use std::path::{Path, PathBuf};
use sunplug::control::policies;
use sunplug::control::{Command, Controller};

/// A policy file and its script in a temp dir.
fn script_policy(src: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.rhai"), src).unwrap();
    let toml = dir.path().join("s.toml");
    std::fs::write(
        &toml,
        format!("module = \"script\"\nscript = \"s.rhai\"\n{extra}"),
    )
    .unwrap();
    (dir, toml)
}

/// A sunny hour that clouds over, then sun again: 5 s steps; every command checked safe.
fn run_day(c: &mut Controller) -> Vec<sunplug::control::Decision> {
    let mut site = Site::new(0.0);
    site.load_w = 400.0;
    site.soc = Some((40.0, at(0)));
    let mut out = Vec::new();
    for i in 0..(3 * 720) {
        site.pv_w = match i / 720 {
            0 => 9000.0,
            1 => 1500.0 + 400.0 * ((i % 7) as f64),
            _ => 7000.0,
        };
        let d = site.step(c, at(i * 5));
        let a = d.command.current().0;
        assert!(
            a == 0.0 || (6.0..=16.0).contains(&a),
            "step {i}: {a} A is not safe ({})",
            d.reason
        );
        if let Command::Charge { current, .. } = d.command {
            assert!(current.0.is_finite());
        }
        out.push(d);
    }
    out
}

#[test]
fn each_example_compiles_and_runs_through_a_day() {
    for name in ["pv-only-script", "weekday-departure", "price-cap"] {
        let mut c = Controller::new(params(), policy(name));
        let ds = run_day(&mut c);
        let errors: Vec<&str> = ds
            .iter()
            .map(|d| d.reason.as_str())
            .filter(|r| r.contains("script error"))
            .collect();
        assert!(
            errors.is_empty(),
            "{name}: {:?}",
            &errors[..errors.len().min(3)]
        );
        assert!(
            ds.iter().any(|d| d.command.is_charging()),
            "{name} never charged in full sun"
        );
    }
}

#[test]
fn pv_only_script_starts_in_sun_and_stops_in_a_long_cloud() {
    let mut c = Controller::new(params(), policy("pv-only-script"));
    let ds = run_day(&mut c);
    // Charging within the first sunny 10 minutes, paused during the cloud's second half.
    assert!(ds[..120].iter().any(|d| d.command.is_charging()));
    assert!(
        ds[1100..1400].iter().all(|d| !d.command.is_charging()),
        "{}",
        ds[1200].reason
    );
    assert!(ds[1440 + 300..].iter().any(|d| d.command.is_charging()));
}

#[test]
fn what_a_script_asks_is_clamped_or_rejected_by_the_guard() {
    for (src, expect) in [
        ("fn wish(ctx) { fixed(3) }", "pause"),
        ("fn wish(ctx) { fixed(80) }", "max"),
        ("fn wish(ctx) { direct(80.0) }", "max"),
        ("fn wish(ctx) { fixed(0.0 / 0.0) }", "fallback"),
        (
            "fn wish(ctx) { #{ wish: \"turbo\", amps: 32 } }",
            "fallback",
        ),
        ("fn wish(ctx) { turbo(32) }", "fallback"),
    ] {
        let (_dir, toml) = script_policy(src, "");
        let mut c = Controller::new(params(), sunplug::config::load_policy(&toml).unwrap());
        let ds = run_day(&mut c);
        let last = ds.last().unwrap();
        match expect {
            "pause" => assert!(ds.iter().all(|d| !d.command.is_charging()), "{src}"),
            "max" => assert_eq!(last.command.current().0, 16.0, "{src}: {}", last.reason),
            _ => {
                // Default on_error: the floor while the meter is fresh.
                assert_eq!(last.command.current().0, 6.0, "{src}: {}", last.reason);
                assert!(last.reason.contains("script error"), "{}", last.reason);
            }
        }
    }
}

#[test]
fn an_endless_loop_falls_back_within_the_step() {
    let (_dir, toml) = script_policy(
        "fn wish(ctx) { let n = 0; loop { n += 1; } }",
        "on_error = \"pause\"\n",
    );
    let mut c = Controller::new(params(), sunplug::config::load_policy(&toml).unwrap());
    let mut site = Site::new(9000.0);
    let d = site.step(&mut c, at(0));
    assert_eq!(d.command, Command::Pause);
    assert!(d.reason.contains("operations"), "{}", d.reason);
}

#[test]
fn script_and_on_error_are_refused_for_built_in_modules() {
    let e = policies::load_str(
        Path::new("p.toml"),
        "module = \"pv-only\"\nscript = \"x.rhai\"\n",
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("only used with module = \"script\""),
        "{e}"
    );
}

#[test]
fn check_config_reports_a_script_syntax_error_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("secrets")).unwrap();
    std::fs::create_dir_all(etc.join("policies")).unwrap();
    for e in std::fs::read_dir(root.join("examples/secrets")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), etc.join("secrets").join(e.file_name())).unwrap();
    }
    std::fs::write(
        etc.join("policies/mine.rhai"),
        "fn wish(ctx) {\n    if ctx.soc_pct > 50 {\n        pause(\n    }\n}\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("policies/mine.toml"),
        "module = \"script\"\nscript = \"mine.rhai\"\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(root.join("examples/sunplug.toml"))
        .unwrap()
        .replace("policies/pv-only.toml", "policies/mine.toml");
    let cfg = etc.join("sunplug.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(["check-config", cfg.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("mine.rhai:4:5"), "{all}");
}
