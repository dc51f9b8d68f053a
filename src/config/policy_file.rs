//! Reading a policy file and the script it names from disk: the one place policy files are read
//! with `std::fs`. Parsing, checking and compiling their text is the policy layer's
//! ([`crate::control::policies::load_with_script`]); nothing under `control` reads a file.

use super::{Problem, Problems};
use crate::control::policies::{self, LoadedPolicy};
use std::path::Path;

fn read(path: &Path, what: &str) -> Result<String, Problems> {
    std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            key: String::new(),
            line: None,
            message: format!("cannot read the {what}: {e}"),
        }])
    })
}

/// Load a policy file: find its module, parse the file for it, check every value; for a `script`
/// policy, read and compile the script it names too.
pub fn load_policy(path: &Path) -> Result<LoadedPolicy, Problems> {
    let text = read(path, "policy file")?;
    load_policy_str(path, &text)
}

/// As [`load_policy`], from the policy's text already read (e.g. a tuning variant); `path` names it
/// and anchors the script's path. The script, if the text names one, is read here.
pub fn load_policy_str(path: &Path, text: &str) -> Result<LoadedPolicy, Problems> {
    let script = match policies::script_file(path, text) {
        Some(file) => Some(read(&file, "script")?),
        None => None,
    };
    policies::load_with_script(path, text, script.as_deref())
}
