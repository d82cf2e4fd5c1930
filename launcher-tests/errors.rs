//! Errors that name what failed, against real releases (issue 8).
use crate::support::{Fixture, installed};

/// An uncreatable `RELEASE_TMP/pipe` is named as such (exit 5), with substitution too
/// (it used to be blamed on the rendered vm.args, exit 1). Test by helper "config".
#[test]
fn uncreatable_pipe_is_named_with_substitution_too() {
    let rel = installed(Fixture::Subst);
    let tmp = rel.root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // a regular file where run_erl's pipe directory must go
    std::fs::write(tmp.join("pipe"), "not a directory").unwrap();
    for env in [
        &[("GREETING", "g")][..],
        &[("GREETING", "g"), ("REPLACE_OS_VARS", "1")][..],
    ] {
        let out = rel.run(&rel.bin(), &["daemon"], env, None);
        assert_eq!(out.code, Some(5), "{env:?}: {}", out.stderr);
        let pipe = tmp.join("pipe");
        assert!(
            out.stderr
                .contains(&format!("ERROR: cannot create {}", pipe.display()))
                && !out.stderr.contains("vm.args"),
            "{env:?}: {}",
            out.stderr
        );
    }
}

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
