//! What the service keeps across restarts, written atomically in the state directory.
//!
//! Owns: [`StateStore`] (JSON files: write to a temp file, fsync, rename, fsync the directory; mode
//! 0600 because tokens live here too) and [`Persisted`] (the controller's snapshot, the last command and
//! charging session, and the user's Home Assistant settings).
//! A file that cannot be read or parsed is reported and ignored: the service then starts as if new,
//! which is safe (it ramps from the floor), and never crashes on a corrupt state file.

use crate::config::values::LocalTime;
use crate::control::{Overrides, Snapshot};
use crate::units::Soc;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Use `dir`, creating it (0700) if needed.
    pub fn open(dir: &Path) -> std::io::Result<StateStore> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Read `name` as JSON. `Ok(None)` if absent; `Err` with a message if unreadable or corrupt.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, String> {
        let path = self.path(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{}: not valid state ({e}); starting fresh", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Write `name` atomically as JSON.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
        write_atomic(&self.path(name), &bytes)
    }
}

pub use crate::files::write_atomic;

/// The user's settings from Home Assistant, kept across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    /// The policy chosen in Home Assistant (a file name in the policy directory), over the config's.
    pub policy: Option<String>,
    pub target_soc: Option<Soc>,
    pub min_soc: Option<Soc>,
    pub departure: Option<LocalTime>,
    pub charge_now: bool,
}

impl UserSettings {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            charge_now: self.charge_now,
            target_soc: self.target_soc,
            min_soc: self.min_soc,
            departure: self.departure,
            ..Overrides::default()
        }
    }
}

/// Everything in `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub snapshot: Option<Snapshot>,
    /// The last command the charger confirmed, in amps (0 = paused), and when.
    pub last_command_a: Option<f64>,
    pub last_command_at: Option<DateTime<Utc>>,
    pub settings: UserSettings,
    /// The running policy's own state (a script's `state` map), with the policy's name.
    pub policy_state: Option<PolicyState>,
}

/// A policy's own state, kept for the policy of that name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    pub policy: String,
    pub state: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_atomically_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(&dir.path().join("state")).unwrap();
        let mut p = Persisted::default();
        p.settings.target_soc = Soc::new(80.0);
        p.settings.departure = Some("07:30".parse().unwrap());
        store.save("state.json", &p).unwrap();
        let back: Persisted = store.load("state.json").unwrap().unwrap();
        assert_eq!(back, p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("state.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!store.path(".state.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        std::fs::write(store.path("state.json"), "{not json").unwrap();
        let e = store.load::<Persisted>("state.json").unwrap_err();
        assert!(e.contains("starting fresh"), "{e}");
        assert_eq!(store.load::<Persisted>("absent.json"), Ok(None));
    }
}
