//! The Cariad refresh token on disk: read at start, replaced atomically on every rotation.
//!
//! Owns: [`TokenStore`] (which file holds the live token, loading and saving it) and [`write_atomic`]
//! (temp file in the same directory, mode 0600, fsync, rename, fsync of the directory).
//!
//! The refresh token rotates: each refresh may return a new one and retire the old one. A new token is
//! therefore saved *before* it is used, or the next start is locked out. The configured file is used
//! in place when sunplug can replace it. When it cannot (a read-only `/etc` under systemd), the token
//! is copied once into the state directory as `cariad-refresh-token` and that copy is used from then
//! on. A note beside the copy (`cariad-refresh-token.source`) records the size and modification time
//! of the configured file at copy time: when a person later puts a new token into the configured
//! file, the change is seen and the copy is replaced.

use secrecy::{ExposeSecret, SecretString};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The copy's file name in the state directory.
pub const COPY_NAME: &str = "cariad-refresh-token";
const SOURCE_NOTE: &str = "cariad-refresh-token.source";

/// Where the live refresh token is kept.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
    /// True when the token lives in the state directory copy.
    copied: bool,
}

impl TokenStore {
    /// Pick the file for `configured`, copying it into `state_dir` when it cannot be replaced in place.
    pub fn open(configured: &Path, state_dir: &Path) -> Result<TokenStore, String> {
        TokenStore::open_with(configured, state_dir, replaceable)
    }

    /// As [`TokenStore::open`], with the writability test given (tests run as root, where every file
    /// is writable).
    pub fn open_with(
        configured: &Path,
        state_dir: &Path,
        writable: impl Fn(&Path) -> bool,
    ) -> Result<TokenStore, String> {
        let copy = state_dir.join(COPY_NAME);
        let note = state_dir.join(SOURCE_NOTE);
        let source = fingerprint(configured);
        if copy.is_file() {
            let noted = std::fs::read_to_string(&note).ok();
            match &source {
                // The configured file is as it was when copied: the copy holds its rotated successor.
                Some(fp) if noted.as_deref() == Some(fp.as_str()) => {
                    return Ok(TokenStore {
                        path: copy,
                        copied: true,
                    });
                }
                None => {
                    tracing::warn!(file = %configured.display(), copy = %copy.display(),
                        "the configured refresh token file is gone; using the copy in the state directory");
                    return Ok(TokenStore {
                        path: copy,
                        copied: true,
                    });
                }
                Some(_) => {} // A person put a new token there: it wins.
            }
        }
        if source.is_none() {
            return Err(format!(
                "cannot read the refresh token file {}: create it (chmod 600) with the token on one line; \
                 docs/vehicles.md says how to obtain one",
                configured.display()
            ));
        }
        if writable(configured) {
            return Ok(TokenStore {
                path: configured.to_path_buf(),
                copied: false,
            });
        }
        let token = read_token(configured)?;
        std::fs::create_dir_all(state_dir).map_err(|e| {
            format!(
                "cannot create the state directory {}: {e}",
                state_dir.display()
            )
        })?;
        write_atomic(&copy, format!("{}\n", token.expose_secret()).as_bytes())
            .map_err(|e| format!("cannot copy the refresh token into {}: {e}", copy.display()))?;
        write_atomic(&note, source.unwrap_or_default().as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", note.display()))?;
        tracing::info!(file = %configured.display(), copy = %copy.display(),
            "the refresh token file cannot be replaced in place; using a copy in the state directory from now on");
        Ok(TokenStore {
            path: copy,
            copied: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_copy(&self) -> bool {
        self.copied
    }

    pub fn load(&self) -> Result<SecretString, String> {
        read_token(&self.path)
    }

    /// Replace the stored token (atomically, 0600).
    pub fn save(&self, token: &SecretString) -> std::io::Result<()> {
        write_atomic(
            &self.path,
            format!("{}\n", token.expose_secret()).as_bytes(),
        )
    }
}

fn read_token(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "{} is empty: put the refresh token in it, on one line",
            path.display()
        ));
    }
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the refresh token file is readable by others: chmod 600 it");
    }
    Ok(SecretString::from(token.to_string()))
}

/// Size and modification time of a file, as text (no content: it is a secret).
fn fingerprint(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "{} {}.{:09}",
        m.len(),
        mtime.as_secs(),
        mtime.subsec_nanos()
    ))
}

/// Whether `path` can be replaced by rename: the file opens for writing and its directory takes a new
/// file. Read-only mounts (systemd's `ProtectSystem=`) fail both, even for root.
pub fn replaceable(path: &Path) -> bool {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let probe = dir.join(format!(".sunplug-probe-{}", std::process::id()));
    let dir_ok = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&probe)
        .is_ok();
    if dir_ok {
        let _ = std::fs::remove_file(&probe);
    }
    dir_ok && std::fs::OpenOptions::new().append(true).open(path).is_ok()
}

pub use crate::files::write_atomic;

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writable_file_is_used_in_place_and_replaced_atomically() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("rt");
        std::fs::write(&f, "first\n").unwrap();
        let s = TokenStore::open(&f, &d.path().join("state")).unwrap();
        assert_eq!(s.path(), f);
        assert!(!s.is_copy());
        assert_eq!(s.load().unwrap().expose_secret(), "first");
        s.save(&SecretString::from("second".to_string())).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "second\n");
        assert_eq!(mode(&f), 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temp file left behind: {leftovers:?}"
        );
    }

    #[test]
    fn read_only_file_is_copied_once_and_the_copy_wins_until_the_source_changes() {
        let d = tempfile::tempdir().unwrap();
        let (etc, state) = (d.path().join("etc-token"), d.path().join("state"));
        std::fs::write(&etc, "from-etc\n").unwrap();
        let ro = |_: &Path| false;
        let s = TokenStore::open_with(&etc, &state, ro).unwrap();
        assert!(s.is_copy());
        assert_eq!(s.path(), state.join(COPY_NAME));
        assert_eq!(mode(s.path()), 0o600);
        s.save(&SecretString::from("rotated".to_string())).unwrap();
        // Next start: the copy's rotated token is used, not the stale original.
        let s = TokenStore::open_with(&etc, &state, ro).unwrap();
        assert_eq!(s.load().unwrap().expose_secret(), "rotated");
        // A person puts a new token in the configured file: it replaces the copy.
        std::fs::write(&etc, "new-login-token\n").unwrap();
        let s = TokenStore::open_with(&etc, &state, ro).unwrap();
        assert_eq!(s.load().unwrap().expose_secret(), "new-login-token");
        // Even when the configured file became writable meanwhile, an up-to-date copy is preferred.
        s.save(&SecretString::from("rotated-again".to_string()))
            .unwrap();
        let s = TokenStore::open_with(&etc, &state, |_| true).unwrap();
        assert_eq!(s.load().unwrap().expose_secret(), "rotated-again");
    }

    #[test]
    fn missing_or_empty_token_files_say_what_to_do() {
        let d = tempfile::tempdir().unwrap();
        let e = TokenStore::open(&d.path().join("nope"), d.path()).unwrap_err();
        assert!(e.contains("docs/vehicles.md"), "{e}");
        let f = d.path().join("empty");
        std::fs::write(&f, "\n").unwrap();
        let e = TokenStore::open(&f, d.path()).unwrap().load().unwrap_err();
        assert!(e.contains("is empty"), "{e}");
    }

    #[test]
    fn replaceable_sees_a_writable_directory() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t");
        std::fs::write(&f, "x").unwrap();
        assert!(replaceable(&f));
        assert!(!replaceable(Path::new("/proc/version")));
    }
}
