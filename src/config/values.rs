//! Small value types the config is made of: secrets and their sources (the durations and times of
//! day are [`crate::units`]' and re-exported here).
//!
//! Owns: [`SecretSource`] and [`resolve_secret`] (file key → `$CREDENTIALS_DIRECTORY` → environment variable).
//! Secrets are [`SecretString`]s: their `Debug` is redacted and they are exposed only where a request
//! is built.

use secrecy::SecretString;
use std::path::{Path, PathBuf};

pub use crate::units::{HumanDuration, LocalTime};

/// Where a secret comes from, in order of precedence. Never an inline value: config files get
/// copied, pasted into forums and committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSource {
    /// The config key that names the file, e.g. `smappee.password_file`.
    pub key: &'static str,
    /// The file named by that key, relative paths already resolved against the config's directory.
    pub file: Option<PathBuf>,
    /// The systemd credential name looked up in `$CREDENTIALS_DIRECTORY` (`LoadCredential=`).
    pub credential: &'static str,
    /// The environment variable, e.g. `SUNPLUG_SMAPPEE_PASSWORD`.
    pub env: &'static str,
}

/// The credentials directory given on the command line (`check-config --credentials DIR`); it
/// stands in for `$CREDENTIALS_DIRECTORY`, which only systemd sets.
static CREDENTIALS_OVERRIDE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Look secrets up in `dir` as systemd would hand them over (`check-config --credentials DIR`).
/// Set once, before the config is loaded.
pub fn use_credentials_dir(dir: PathBuf) {
    let _ = CREDENTIALS_OVERRIDE.set(dir);
}

/// Read a secret: `$CREDENTIALS_DIRECTORY/<credential>` when systemd handed it over (the unit's
/// `LoadCredential=` is the deployment's word, and its throw-away user cannot read root's files),
/// else the file named in the config, else the environment variable. Errors name the key and the
/// ways to provide it, never the value. Trailing newlines (as `echo` writes them) are removed.
pub fn resolve_secret(src: &SecretSource) -> Result<SecretString, String> {
    resolve_secret_in(src, credentials_dir().as_deref(), |k| std::env::var(k).ok())
}

/// Where systemd's credentials are (`check-config --credentials DIR`, else `$CREDENTIALS_DIRECTORY`).
pub fn credentials_dir() -> Option<PathBuf> {
    CREDENTIALS_OVERRIDE
        .get()
        .cloned()
        .or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from))
}

fn resolve_secret_in(
    src: &SecretSource,
    credentials_dir: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<SecretString, String> {
    if let Some(dir) = credentials_dir {
        let path = dir.join(src.credential);
        if path.exists() {
            return read_secret_file(&path).map_err(|e| {
                format!("cannot read the systemd credential {}: {e}", path.display())
            });
        }
    }
    if let Some(path) = &src.file {
        return read_secret_file(path).map_err(|e| {
            format!(
                "cannot read the secret file {}: {e}; create it (chmod 600) or remove the key and set {} instead",
                path.display(),
                src.env
            )
        });
    }
    if let Some(v) = env(src.env) {
        let v = v.trim_end_matches(['\r', '\n']).to_string();
        if !v.is_empty() {
            return Ok(SecretString::from(v));
        }
    }
    Err(format!(
        "no secret given: set {} to a file holding it, or set the environment variable {}, or pass it as the \
         systemd credential \"{}\" (LoadCredential=; `check-config --credentials DIR` reads them from DIR, \
         as does $CREDENTIALS_DIRECTORY)",
        src.key, src.env, src.credential
    ))
}

/// A secret file's content without its trailing newline; the error never quotes the file.
pub fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (the service runs as its own user: check the file's owner and mode)"
                .to_string()
        }
        _ => e.to_string(),
    })?;
    let text = text.trim_end_matches(['\r', '\n']);
    if text.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(SecretString::from(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn src(file: Option<PathBuf>) -> SecretSource {
        SecretSource {
            key: "smappee.password_file",
            file,
            credential: "smappee-password",
            env: "SUNPLUG_TEST_SECRET",
        }
    }

    #[test]
    fn durations_parse_and_explain() {
        assert_eq!(
            "10s".parse::<HumanDuration>().unwrap(),
            HumanDuration::secs(10)
        );
        assert_eq!(
            "1h 30m".parse::<HumanDuration>().unwrap(),
            HumanDuration::secs(5400)
        );
        let e = "ten".parse::<HumanDuration>().unwrap_err();
        assert!(e.contains("\"ten\"") && e.contains("\"10s\""), "{e}");
        let e = toml::from_str::<std::collections::BTreeMap<String, HumanDuration>>("a = 10")
            .unwrap_err();
        assert!(e.to_string().contains("need a unit"), "{e}");
    }

    #[test]
    fn local_time_parses() {
        assert_eq!("07:30".parse::<LocalTime>().unwrap().to_string(), "07:30");
        assert!("7.30".parse::<LocalTime>().is_err());
        assert!("25:00".parse::<LocalTime>().is_err());
    }

    #[test]
    fn secret_precedence_credentials_then_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join("smappee-password"), "from-cred").unwrap();
        let env = |_: &str| Some("from-env".to_string());

        let s = resolve_secret_in(&src(Some(f.clone())), Some(&creds), env).unwrap();
        assert_eq!(s.expose_secret(), "from-cred");
        let s = resolve_secret_in(&src(None), Some(&creds), env).unwrap();
        assert_eq!(s.expose_secret(), "from-cred");
        let s = resolve_secret_in(&src(Some(f)), None, env).unwrap();
        assert_eq!(s.expose_secret(), "from-file");
        let s = resolve_secret_in(&src(None), None, env).unwrap();
        assert_eq!(s.expose_secret(), "from-env");
    }

    #[test]
    fn missing_secret_says_how_to_provide_it() {
        let e =
            resolve_secret_in(&src(Some("/nonexistent/pw".into())), None, |_| None).unwrap_err();
        assert!(
            e.contains("/nonexistent/pw") && e.contains("SUNPLUG_TEST_SECRET"),
            "{e}"
        );
        let e = resolve_secret_in(&src(None), None, |_| None).unwrap_err();
        assert!(
            e.contains("smappee.password_file") && e.contains("LoadCredential"),
            "{e}"
        );
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = resolve_secret_in(&src(None), None, |_| Some("hunter2".into())).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
