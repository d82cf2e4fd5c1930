//! Errors that name what failed, against real releases (issue 8). The uncreatable
//! `RELEASE_TMP/pipe` case is in `config.rs`.
use crate::support::{Fixture, installed};

/// A reboot release whose runtime sys.config copy cannot be written gets the script's text,
/// naming the copy (exit 1).
#[test]
fn unwritable_runtime_config_copy_is_the_scripts_error() {
    let rel = installed(Fixture::Runtime);
    // RELEASE_TMP is a regular file: neither mkdir -p nor the copy can succeed.
    let tmp = rel.root.join("not-a-dir");
    std::fs::write(&tmp, "x").unwrap();
    let out = rel.run(
        &rel.bin(),
        &["eval", "true"],
        &[("RELEASE_TMP", tmp.to_str().unwrap())],
        None,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "ERROR: Cannot start release because it could not write {}/",
            tmp.display()
        )) && out.stderr.contains(".runtime.config"),
        "{}",
        out.stderr
    );
}
