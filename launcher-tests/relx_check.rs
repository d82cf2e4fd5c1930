//! `bin/NAME check` / `beamrc check RELEASE_DIR` on real relx releases (rebar3 fixtures),
//! and the readable boot error of relx's `daemon`.
use crate::support::RunOutput;
use crate::support::relx::{RelxFixture, RelxRelease};

/// `check` exits with this when the release cannot start (README).
const CANNOT_START: i32 = 8;

fn installed(f: RelxFixture) -> RelxRelease {
    let rel = RelxRelease::new(f);
    rel.install_beamrc().assert_success("beamrc install");
    rel
}

/// `bin/NAME args` with the test's own pipe dir.
#[track_caller]
fn ours(rel: &RelxRelease, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    let pipes = format!("{}/pipes/", rel.dir.display());
    let mut all = vec![("PIPE_DIR", pipes.as_str())];
    all.extend_from_slice(env);
    rel.run(&rel.bin(), args, &all)
}

fn errors(out: &RunOutput) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("ERROR: "))
        .collect()
}

/// The release cannot start, and exactly one line says why.
#[track_caller]
fn one_error(out: &RunOutput, needle: &str) {
    assert_eq!(out.code, Some(CANNOT_START), "{out}");
    let errors = errors(out);
    assert_eq!(errors.len(), 1, "{out}");
    assert!(errors[0].contains(needle), "{out}");
}

fn break_sys_config(rel: &RelxRelease) {
    std::fs::write(
        rel.version_dir().join("sys.config"),
        "[{erlapp, [{k, 1}]},\n {logger, []}\n",
    )
    .unwrap();
}

#[test]
fn relx_check_a_good_release_checks_clean() {
    let rel = installed(RelxFixture::Plain);
    let out = ours(&rel, &["check"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(errors(&out).is_empty(), "{out}");
    for what in [
        "ERTS programs",
        "applications present",
        "sys.config parses",
        "cookie found",
        "epmd answers",
    ] {
        assert!(out.stdout.contains(what), "{what} reported: {out}");
    }
    let json = ours(&rel, &["check", "--json"], &[]);
    assert_eq!(json.code, Some(0), "{json}");
    assert!(json.stdout.trim_start().starts_with(['[', '{']), "{json}");
    // `beamrc check DIR` on a relx release as rebar3 built it (not installed)
    let built = RelxRelease::new(RelxFixture::Plain);
    let root = built.root.to_string_lossy().into_owned();
    let tool = built.run(&crate::support::beamrc_bin(), &["check", &root], &[]);
    assert_eq!(tool.code, Some(0), "{tool}");
    assert!(tool.stdout.contains("applications present"), "{tool}");
    // `.src` files and RELX_COOKIE are read the relx way
    let src = installed(RelxFixture::Src);
    let out = ours(&src, &["check"], &[("RELX_COOKIE", "secret-cookie")]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("cookie found (RELX_COOKIE)"), "{out}");
    assert!(!out.stdout.contains("secret-cookie"), "{out}");
}

#[test]
fn relx_check_a_broken_sys_config() {
    let rel = installed(RelxFixture::Plain);
    break_sys_config(&rel);
    one_error(
        &ours(&rel, &["check"], &[]),
        "releases/0.1.0/sys.config:2: ",
    );
}

#[test]
fn relx_check_a_missing_application_directory() {
    let rel = installed(RelxFixture::Plain);
    std::fs::remove_dir_all(rel.root.join("lib").join("erlapp-0.1.0")).unwrap();
    one_error(
        &ours(&rel, &["check"], &[]),
        "application erlapp 0.1.0 listed in erlapp.rel is missing",
    );
}

#[test]
fn relx_check_a_failed_daemon_boot_is_explained() {
    let rel = installed(RelxFixture::Plain);
    break_sys_config(&rel);
    let out = ours(&rel, &["daemon"], &[("BEAMRC_START_TIMEOUT", "20")]);
    assert_eq!(out.code, Some(6), "{out}");
    assert!(out.stderr.contains("exited while booting"), "{out}");
    assert!(
        out.stderr.contains("sys.config is not valid Erlang"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("check:\nERROR: releases/0.1.0/sys.config:2:"),
        "{out}"
    );
}
