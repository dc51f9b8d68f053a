//! The Smappee token file in the state directory, so a restart does not log in again.
//!
//! Owns: [`TokenFile`]. The file is JSON, mode 0600 (its directory 0700 when we create it), written
//! atomically (a temporary file, fsync, rename), and bound to the API base URL, client id and user
//! name: a token from another account or from the emulator is ignored. A file that cannot be read or
//! written is not fatal (the tokens stay in memory and a warning is logged once); a file with the
//! wrong owner mode is still used, with a warning, since refusing it would only cause logins.

use super::token::Token;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::{debug, warn};

/// The file's name in the state directory.
pub const FILE_NAME: &str = "smappee-token.json";
const VERSION: u32 = 1;

/// Where the token is kept and whose it is.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    base_url: String,
    client_id: String,
    username: String,
    warned: AtomicBool,
}

/// The file's content. No `Debug`: it holds secrets.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    base_url: String,
    client_id: String,
    username: String,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TokenFile {
    pub fn new(path: PathBuf, base_url: &str, client_id: &str, username: &str) -> TokenFile {
        TokenFile {
            path,
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            username: username.to_string(),
            warned: AtomicBool::new(false),
        }
    }

    /// `<state_dir>/smappee-token.json`.
    pub fn in_dir(dir: &Path, base_url: &str, client_id: &str, username: &str) -> TokenFile {
        TokenFile::new(dir.join(FILE_NAME), base_url, client_id, username)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored token, if there is one for this account.
    pub fn load(&self) -> Option<Token> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn_once(format_args!("cannot read {}: {e}", self.path.display()));
                return None;
            }
        };
        self.check_mode();
        let Ok(s) = serde_json::from_str::<Stored>(&text) else {
            self.warn_once(format_args!(
                "{} is not a sunplug token file; it will be replaced",
                self.path.display()
            ));
            return None;
        };
        let ours = s.version == VERSION
            && s.base_url == self.base_url
            && s.client_id == self.client_id
            && s.username == self.username;
        if !ours {
            debug!("smappee: the stored token belongs to another account or API; ignoring it");
            return None;
        }
        Some(Token {
            access: SecretString::from(s.access_token),
            refresh: s.refresh_token.map(SecretString::from),
            issued_at: s.issued_at,
            expires_at: s.expires_at,
        })
    }

    /// Store `t`. Failures are logged once and otherwise ignored.
    pub fn save(&self, t: &Token) {
        let stored = Stored {
            version: VERSION,
            base_url: self.base_url.clone(),
            client_id: self.client_id.clone(),
            username: self.username.clone(),
            access_token: t.access.expose_secret().to_string(),
            refresh_token: t.refresh.as_ref().map(|r| r.expose_secret().to_string()),
            issued_at: t.issued_at,
            expires_at: t.expires_at,
        };
        let Ok(json) = serde_json::to_vec_pretty(&stored) else {
            return;
        };
        match crate::files::write_atomic(&self.path, &json) {
            Ok(()) => debug!("smappee: token stored in {}", self.path.display()),
            Err(e) => self.warn_once(format_args!(
                "cannot store the token in {}: {e}; it is kept in memory only (a restart will log in again)",
                self.path.display()
            )),
        }
    }

    #[cfg(unix)]
    fn check_mode(&self) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(&self.path)
            && m.permissions().mode() & 0o077 != 0
        {
            self.warn_once(format_args!(
                "{} is readable by others (mode {:o}): run chmod 600 on it",
                self.path.display(),
                m.permissions().mode() & 0o777
            ));
        }
    }

    #[cfg(not(unix))]
    fn check_mode(&self) {}

    fn warn_once(&self, msg: std::fmt::Arguments<'_>) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            warn!("smappee: {msg}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn token() -> Token {
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        Token {
            access: SecretString::from("acc-123456".to_string()),
            refresh: Some(SecretString::from("ref-123456".to_string())),
            issued_at: t0,
            expires_at: t0 + chrono::Duration::hours(10),
        }
    }

    #[test]
    fn round_trip_with_mode_0600_in_a_new_0700_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let f = TokenFile::in_dir(&state, "http://x/", "cid", "me");
        f.save(&token());
        let back = f.load().unwrap();
        assert_eq!(back.access.expose_secret(), "acc-123456");
        assert_eq!(back.refresh.unwrap().expose_secret(), "ref-123456");
        assert_eq!(back.expires_at, token().expires_at);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
            assert_eq!(dmode, 0o700);
        }
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn another_account_or_api_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        TokenFile::in_dir(dir.path(), "http://x", "cid", "me").save(&token());
        assert!(
            TokenFile::in_dir(dir.path(), "http://x", "cid", "you")
                .load()
                .is_none()
        );
        assert!(
            TokenFile::in_dir(dir.path(), "http://y", "cid", "me")
                .load()
                .is_none()
        );
        assert!(
            TokenFile::in_dir(dir.path(), "http://x", "other", "me")
                .load()
                .is_none()
        );
        assert!(
            TokenFile::in_dir(dir.path(), "http://x/", "cid", "me")
                .load()
                .is_some()
        );
    }

    #[test]
    fn garbage_or_unwritable_files_are_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "not json").unwrap();
        let f = TokenFile::in_dir(dir.path(), "http://x", "cid", "me");
        assert!(f.load().is_none());
        f.save(&token());
        assert!(f.load().is_some(), "a garbage file is replaced");
        // A state directory that is a file: saving fails quietly.
        let blocked = TokenFile::in_dir(&dir.path().join(FILE_NAME), "http://x", "cid", "me");
        blocked.save(&token());
        assert!(blocked.load().is_none());
    }
}
