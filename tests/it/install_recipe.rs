//! The README's install recipe, followed by `packaging/test-install.sh` into a temporary root with
//! the binary this test build made: every step must succeed, `check-config` included, with the
//! secrets handed over as the unit hands them over.

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_install_recipe_works_into_a_temporary_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("packaging/test-install.sh"))
        .arg(env!("CARGO_BIN_EXE_sunplug"))
        .current_dir(root)
        .output()
        .expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test-install: OK"), "{text}");
    assert!(text.contains(": OK"), "check-config passed: {text}");
}
