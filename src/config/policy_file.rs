//! Reading a policy file from disk: the one place a policy file is read with `std::fs`. Parsing and
//! checking its text is the policy layer's ([`crate::control::policies::load_str`]).

use super::{Problem, Problems};
use crate::control::policies::{self, LoadedPolicy};
use std::path::Path;

/// Load a policy file: find its module, parse the file for it, check every value.
pub fn load_policy(path: &Path) -> Result<LoadedPolicy, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            key: String::new(),
            line: None,
            message: format!("cannot read the policy file: {e}"),
        }])
    })?;
    policies::load_str(path, &text)
}
