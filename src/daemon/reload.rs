//! Hot reload of the running policy: its TOML file and its script are polled (mtime and size) once
//! per tick; a change is loaded and swapped in before the next step only if it loads and compiles,
//! otherwise the running policy keeps running and the log says why.
//!
//! Owns: [`PolicyWatch`]. A script's `state` map is carried over to the reloaded policy.

use crate::config::load_policy;
use crate::control::Controller;
use std::path::PathBuf;
use std::time::SystemTime;
use tracing::{info, warn};

type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &PathBuf) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The files of the running policy and how they looked when last seen.
#[derive(Debug, Default)]
pub struct PolicyWatch {
    seen: Vec<(PathBuf, Stamp)>,
}

/// What a poll did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    Swapped,
    /// The change does not load: the running policy stays; the message says why.
    Kept(String),
}

impl PolicyWatch {
    /// Start watching the controller's policy.
    pub fn new(controller: &Controller) -> PolicyWatch {
        PolicyWatch {
            seen: Self::look(controller),
        }
    }

    fn look(controller: &Controller) -> Vec<(PathBuf, Stamp)> {
        controller
            .policy()
            .files
            .iter()
            .map(|f| (f.clone(), stamp(f)))
            .collect()
    }

    /// Once per tick: reload and swap if a file of the running policy changed and the result loads.
    pub fn poll(&mut self, controller: &mut Controller) -> Option<Reloaded> {
        let now = Self::look(controller);
        let same_files =
            now.len() == self.seen.len() && now.iter().zip(&self.seen).all(|(a, b)| a.0 == b.0);
        if !same_files {
            // Another policy was chosen (Home Assistant): watch that one from here.
            self.seen = now;
            return None;
        }
        if now == self.seen {
            return None;
        }
        self.seen = now;
        let path = self.seen.first()?.0.clone();
        match load_policy(&path) {
            Ok(mut new) => {
                if let Some(state) = controller.policy_state() {
                    new.policy.restore_state(&state);
                }
                controller.set_policy(new);
                self.seen = Self::look(controller);
                info!(
                    "policy {} reloaded from {}",
                    controller.policy_name(),
                    path.display()
                );
                Some(Reloaded::Swapped)
            }
            Err(problems) => {
                let why = problems.to_string().trim_end().replace('\n', "; ");
                warn!(
                    "policy {} changed but does not load, keeping the running one: {why}",
                    path.display()
                );
                Some(Reloaded::Kept(why))
            }
        }
    }
}
