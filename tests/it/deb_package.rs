//! The `.deb`: `packaging/build-deb.sh` packs this test build's binary with the assets of Cargo.toml's
//! `[package.metadata.deb]` (what `cargo deb` packs), and the package is checked as a user meets it:
//! its file list and modes against that table, its control fields and conffiles, then `dpkg --root`
//! installs it into a scratch root (maintainer scripts included, kept off the host by `DPKG_ROOT`),
//! `check-config` passes on the installed config the way the unit runs it (secrets handed over as
//! credentials), and a purge removes what the package owns and keeps the user's secrets.
//! Skipped, saying so, only where dpkg is not installed; CI (Debian) has it, and there (`CI` set) a
//! missing dpkg fails the test instead.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("UTF-8 output")
}

fn metadata() -> toml::Table {
    let text = fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = text.parse().expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("Cargo.toml has [package.metadata.deb]")
        .clone()
}

/// Every file `cargo deb` would pack, with its mode: the assets (globs expanded, `target/release/X`
/// being the built binary X, a dest ending in `/` a directory) and the copyright file it writes.
fn expected_files(meta: &toml::Table) -> BTreeSet<(String, u32)> {
    let mut files = BTreeSet::new();
    for asset in meta["assets"].as_array().expect("assets is a list") {
        let [src, dest, mode] = asset
            .as_array()
            .and_then(|a| <[toml::Value; 3]>::try_from(a.clone()).ok())
            .expect("each asset is [source, dest, mode]");
        let (src, dest) = (src.as_str().unwrap(), dest.as_str().unwrap());
        let mode = u32::from_str_radix(mode.as_str().unwrap(), 8).expect("octal mode");
        let sources: Vec<String> = match src.strip_suffix("/*") {
            Some(dir) => fs::read_dir(repo().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect(),
            None => vec![Path::new(src).file_name().unwrap().to_string_lossy().into()],
        };
        assert!(!sources.is_empty(), "asset {src} matches nothing");
        for name in sources {
            let path = match dest.strip_suffix('/') {
                Some(dir) => format!("{dir}/{name}"),
                None => dest.to_string(),
            };
            files.insert((path, mode));
        }
    }
    files.insert(("usr/share/doc/sunplug/copyright".into(), 0o644));
    files
}

/// The regular files of `dpkg-deb -c`: ("etc/sunplug/sunplug.toml", 0o644), all owned by root.
fn packed_files(deb: &Path) -> BTreeSet<(String, u32)> {
    let listing = stdout(Command::new("dpkg-deb").arg("-c").arg(deb));
    let mut files = BTreeSet::new();
    for line in listing.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 6, "unexpected dpkg-deb -c line: {line}");
        assert_eq!(cols[1], "root/root", "owned by root: {line}");
        let perms = cols[0];
        if !perms.starts_with('-') {
            continue;
        }
        let mode = perms[1..]
            .chars()
            .fold(0u32, |m, c| (m << 1) | u32::from(c != '-'));
        files.insert((cols[5].trim_start_matches("./").to_string(), mode));
    }
    files
}

fn field(deb: &Path, name: &str) -> String {
    stdout(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_string()
}

fn build_deb(out: &Path) -> PathBuf {
    let text = stdout(
        Command::new("bash")
            .arg(repo().join("packaging/build-deb.sh"))
            .args(["--bin", env!("CARGO_BIN_EXE_sunplug"), "--fast", "--out"])
            .arg(out)
            .current_dir(repo()),
    );
    PathBuf::from(
        text.lines()
            .last()
            .expect("the script prints the .deb's path"),
    )
}

fn dpkg(root: &Path, args: &[&str]) -> Output {
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-not-root",
            "--force-script-chrootless",
            "--force-depends",
        ])
        .args(args))
}

#[test]
fn the_deb_holds_the_cargo_deb_assets_installs_and_passes_check_config() {
    if !have("dpkg-deb") || !have("dpkg") {
        // CI runs on Debian, where dpkg is always there: a skip there would hide a broken check.
        assert!(
            std::env::var_os("CI").is_none(),
            "dpkg/dpkg-deb are missing in CI: the .deb check cannot run"
        );
        eprintln!(
            "SKIPPED the .deb check: dpkg/dpkg-deb are not installed (Debian: apt-get install dpkg)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(&tmp.path().join("out"));
    let meta = metadata();

    // The file list and modes are exactly what cargo-deb packs from the same table.
    assert_eq!(packed_files(&deb), expected_files(&meta));

    // Control fields.
    let revision = meta["revision"].as_str().unwrap();
    let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(field(&deb, "Package"), "sunplug");
    assert_eq!(
        field(&deb, "Version"),
        format!("{}-{revision}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(field(&deb, "Architecture"), arch.trim());
    assert_eq!(
        field(&deb, "Maintainer"),
        meta["maintainer"].as_str().unwrap()
    );
    let depends = field(&deb, "Depends");
    assert!(
        depends.contains("libc6") && depends.contains("ca-certificates") && !depends.contains('$'),
        "Depends: {depends}"
    );
    let description = field(&deb, "Description");
    assert!(
        description.starts_with(env!("CARGO_PKG_DESCRIPTION")) && description.contains("systemd"),
        "Description: {description}"
    );
    assert!(
        deb.file_name().unwrap().to_string_lossy()
            == format!(
                "sunplug_{}-{revision}_{}.deb",
                env!("CARGO_PKG_VERSION"),
                arch.trim()
            )
    );

    // Every file under /etc is a conffile, and nothing else is.
    let conffiles = stdout(
        Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .arg("conffiles"),
    );
    let conffiles: BTreeSet<String> = conffiles.lines().map(str::to_string).collect();
    let etc: BTreeSet<String> = expected_files(&meta)
        .into_iter()
        .filter(|(p, _)| p.starts_with("etc/"))
        .map(|(p, _)| format!("/{p}"))
        .collect();
    assert!(etc.contains("/etc/sunplug/sunplug.toml") && etc.len() > 5);
    assert_eq!(conffiles, etc);

    // Installed into a scratch root with its maintainer scripts.
    let root = tmp.path().join("root");
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let install = dpkg(&root, &["--install", deb.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&install.stdout);
    assert!(
        said.contains("check-config"),
        "postinst says what next: {said}"
    );
    let status = stdout(
        Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--status", "sunplug"]),
    );
    assert!(status.contains("Status: install ok installed"), "{status}");
    let secrets = root.join("etc/sunplug/secrets");
    assert_eq!(
        fs::metadata(&secrets)
            .expect("postinst made /etc/sunplug/secrets")
            .permissions()
            .mode()
            & 0o777,
        0o700,
        "postinst made the secrets directory, root's only"
    );

    // The unit starts the installed binary, and loads secrets the user writes as the page says.
    let unit = fs::read_to_string(root.join("usr/lib/systemd/system/sunplug.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .and_then(|l| l.split_whitespace().next())
        .expect("the unit has an ExecStart");
    let bin = root.join(exec.trim_start_matches('/'));
    assert!(
        fs::metadata(&bin).unwrap().permissions().mode() & 0o111 != 0,
        "{exec} is installed and executable"
    );
    let creds = tmp.path().join("run/credentials/sunplug.service");
    fs::create_dir_all(&creds).unwrap();
    let mut loaded = 0;
    for line in unit.lines() {
        let Some((name, path)) = line
            .strip_prefix("LoadCredential=")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        let file = root.join(path.trim_start_matches('/'));
        assert!(
            file.starts_with(&secrets),
            "{path} is in /etc/sunplug/secrets"
        );
        fs::write(&file, format!("the-{name}")).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        fs::copy(&file, creds.join(name)).unwrap();
        loaded += 1;
    }
    assert!(loaded >= 2, "the unit loads the Smappee secrets at least");

    // check-config on the installed config, as the unit runs it.
    let config = root.join("etc/sunplug/sunplug.toml");
    let checked = stdout(
        Command::new(&bin)
            .arg("check-config")
            .arg("--credentials")
            .arg(&creds)
            .arg(&config),
    );
    assert!(checked.contains(": OK"), "{checked}");
    let under_systemd = run(Command::new(&bin)
        .arg("check-config")
        .arg(&config)
        .env("CREDENTIALS_DIRECTORY", &creds));
    assert!(String::from_utf8_lossy(&under_systemd.stdout).contains(": OK"));

    // Purge: the package's files and the service's state go, the user's secrets stay.
    let state = root.join("var/lib/private/sunplug");
    fs::create_dir_all(&state).unwrap();
    fs::write(state.join("state.json"), "{}").unwrap();
    dpkg(&root, &["--purge", "sunplug"]);
    assert!(!bin.exists() && !config.exists() && !state.exists());
    assert!(!root.join("etc/sunplug/policies").exists());
    assert!(secrets.join("smappee-password").exists());
}

#[test]
fn the_deb_script_says_what_is_missing() {
    if !have("dpkg-deb") {
        eprintln!("SKIPPED: dpkg-deb is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(repo().join("packaging/build-deb.sh"))
        .args(["--bin", "/nonexistent/sunplug", "--out"])
        .arg(tmp.path())
        .current_dir(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no binary at /nonexistent/sunplug"), "{err}");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no .deb left behind"
    );
}

/// The package's unit is the manual install's, with the binary where a package puts it: one unit,
/// whichever way a user installs.
#[test]
fn the_deb_unit_is_the_manual_unit_with_the_binary_in_usr_bin() {
    let manual = fs::read_to_string(repo().join("packaging/sunplug.service")).unwrap();
    let deb = fs::read_to_string(repo().join("packaging/deb/sunplug.service")).unwrap();
    assert!(manual.contains("ExecStart=/usr/local/bin/sunplug "));
    assert_eq!(
        deb,
        manual.replace(
            "ExecStart=/usr/local/bin/sunplug ",
            "ExecStart=/usr/bin/sunplug "
        ),
        "packaging/deb/sunplug.service must follow packaging/sunplug.service"
    );
}
