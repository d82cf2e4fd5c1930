//! `bin/NAME check` / `beamrc check RELEASE_DIR` on real Mix releases broken on purpose,
//! and the readable errors of `daemon` and `start` for the same breakages.
#[path = "support/broken.rs"]
pub(crate) mod broken;

use crate::support::{Fixture, RunOutput, TestRelease, beamrc_bin, free_port, installed, ok};

/// `check` exits with this when the release cannot start (README).
const CANNOT_START: i32 = 8;

fn check(rel: &TestRelease, env: &[(&str, &str)]) -> RunOutput {
    rel.run(&rel.bin(), &["check"], env, None)
}

/// The release cannot start, and exactly one line says why.
#[track_caller]
fn one_error(out: &RunOutput, needle: &str) -> String {
    assert_eq!(
        out.code,
        Some(CANNOT_START),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ERROR: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stdout);
    assert!(
        errors[0].contains(needle),
        "{:?} lacks {needle:?}\n{}",
        errors[0],
        out.stdout
    );
    errors[0].to_string()
}

/// A daemon that fails to boot: exit 6, and the readable `ERROR:` line for the cause.
#[track_caller]
fn daemon_explains(rel: &TestRelease, env: &[(&str, &str)], needle: &str) -> String {
    let out = rel.run(&rel.bin(), &["daemon"], env, None);
    assert_eq!(out.code, Some(6), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("ERROR: ") && l.contains(needle)),
        "no ERROR line with {needle:?}:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("  hint: "), "{}", out.stderr);
    out.stderr
}

#[test]
fn a_sound_release_passes_both_faces() {
    let rel = installed(Fixture::Plain);
    let out = check(&rel, &[]);
    let text = ok(&out);
    assert!(!text.contains("ERROR"), "{text}");
    for id in [
        "ERTS programs",
        "applications present",
        "vm.args renders",
        "sys.config parses",
        "node name demo",
    ] {
        assert!(text.contains(id), "{id}: {text}");
    }
    let out = check(&rel, &[("BEAMRC_CHECK_FORMAT", "json")]);
    assert!(
        ok(&out).starts_with("{\"ok\":true,\"exit_code\":0,\"findings\":[{\"level\":"),
        "{}",
        out.stdout
    );
    let root = rel.root.to_str().unwrap();
    let out = rel.run(&beamrc_bin(), &["check", root, "--json"], &[], None);
    assert!(
        ok(&out).contains("\"check\":\"integrity.rel\""),
        "{}",
        out.stdout
    );
    // the cookie never appears
    let cookie = std::fs::read_to_string(rel.root.join("releases/COOKIE")).unwrap();
    assert!(!out.stdout.contains(cookie.trim()));
}

#[test]
fn every_fixture_passes() {
    // with and without ERTS, runtime config, env.sh, substitution: no false alarms
    for f in Fixture::ALL {
        let rel = installed(f);
        let out = check(&rel, &[]);
        assert!(!ok(&out).contains("ERROR"), "{f:?}: {}", out.stdout);
    }
}

#[test]
fn erts_for_another_architecture() {
    let rel = installed(Fixture::Plain);
    let arch = broken::make_foreign(&broken::erts_program(&rel, "beam.smp"));
    let line = one_error(&check(&rel, &[]), &format!("beam.smp is built for {arch}"));
    assert!(line.contains("Syntax error"), "{line}");
    // plain start refuses before exec, with the same line (exit 126)
    let out = rel.run(&rel.bin(), &["start"], &[], None);
    assert_eq!(out.code, Some(126), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("beam.smp is built for {arch}")),
        "{}",
        out.stderr
    );
}

#[test]
fn beam_needing_a_missing_library() {
    let rel = installed(Fixture::Plain);
    let beam = broken::erts_program(&rel, "beam.smp");
    broken::patch_string(&beam, "libtinfo.so.6", "libtinfo.so.5");
    one_error(
        &check(&rel, &[]),
        "beam.smp needs libtinfo.so.5, which is not found",
    );
    let out = rel.run(&rel.bin(), &["start"], &[], None);
    assert_eq!(out.code, Some(126), "{}", out.stderr);
    assert!(out.stderr.contains("install ncurses"), "{}", out.stderr);
    // daemon: run_erl starts the VM anyway; its log is explained
    daemon_explains(&rel, &[], "libtinfo.so.5");
}

#[test]
fn nifs_needing_a_missing_library_or_glibc_99() {
    let rel = installed(Fixture::Plain);
    let app = broken::app_dir(&rel, "demo");
    let nif = broken::nif_needing_missing_library(&rel, &app);
    one_error(
        &check(&rel, &[]),
        &format!("lib/{app}/priv/missing_nif.so needs libbeamrc_gone.so.1"),
    );
    std::fs::remove_file(nif).unwrap();
    broken::nif_needing_glibc_99(&rel, &app);
    one_error(
        &check(&rel, &[]),
        "glibc_nif.so needs glibc 99.0 (GLIBC_99.0), this host has glibc 2.",
    );
}

#[test]
fn a_missing_application_directory() {
    let rel = installed(Fixture::Plain);
    let app = broken::app_dir(&rel, "demo");
    std::fs::remove_dir_all(rel.root.join("lib").join(&app)).unwrap();
    one_error(
        &check(&rel, &[]),
        "application demo 0.1.0 listed in demo.rel is missing",
    );
    let err = rel.run(&rel.bin(), &["daemon"], &[], None).stderr;
    assert!(
        err.contains("ERROR: application demo 0.1.0 listed in demo.rel is missing"),
        "{err}"
    );
}

#[test]
fn a_deleted_boot_file() {
    let rel = installed(Fixture::Plain);
    std::fs::remove_file(rel.version_dir().join("start.boot")).unwrap();
    one_error(
        &check(&rel, &[]),
        "releases/0.1.0/start.boot cannot be read",
    );
    let err = daemon_explains(&rel, &[], "the boot file");
    assert!(err.contains("cannot get bootfile"), "{err}");
}

#[test]
fn a_sys_config_syntax_error() {
    let rel = installed(Fixture::Plain);
    std::fs::write(
        rel.version_dir().join("sys.config"),
        "[{demo, [{k, 1}]},\n {logger, []}\n",
    )
    .unwrap();
    one_error(&check(&rel, &[]), "releases/0.1.0/sys.config:2: ");
    let err = daemon_explains(&rel, &[], "sys.config is not valid Erlang");
    // the check that covers it runs and names the line
    assert!(
        err.contains("check:\nERROR: releases/0.1.0/sys.config:2:"),
        "{err}"
    );
}

/// True when this host's name has no dot and nothing gives it a domain (then `-name`
/// without a host fails); the test asserts whichever outcome this host must have.
fn dotless_host_without_domain() -> bool {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let aliased = hosts.lines().any(|l| {
        l.split_whitespace()
            .any(|w| w.starts_with(&format!("{host}.")))
    });
    let domain = resolv
        .lines()
        .any(|l| l.starts_with("domain") || l.starts_with("search"));
    !host.contains('.') && !aliased && !domain
}

#[test]
fn a_long_name_on_a_dotless_host() {
    let rel = installed(Fixture::Plain);
    let env = [("RELEASE_DISTRIBUTION", "name"), ("BEAMRC_INIT", "1")];
    let out = check(&rel, &env);
    if !dotless_host_without_domain() {
        assert!(
            !out.stdout.contains("Can't set long node name"),
            "{}",
            out.stdout
        );
        return;
    }
    one_error(&out, "Can't set long node name");
    // init-mode start: the VM dies; its crash dump's slogan and the check explain it
    let out = rel.run(&rel.bin(), &["start"], &env, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("ERROR: distribution could not start"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("check:\nERROR: long name demo without a host"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_short_name_with_an_ip_address() {
    let rel = installed(Fixture::Plain);
    let env = [("RELEASE_NODE", "demo@10.0.0.7"), ("BEAMRC_INIT", "1")];
    let line = one_error(&check(&rel, &env), "Can't set short node name");
    assert!(line.contains("RELEASE_DISTRIBUTION=name"), "{line}");
    let out = rel.run(&rel.bin(), &["start"], &env, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("check:\nERROR: short name demo@10.0.0.7"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_name_already_in_use() {
    let rel = installed(Fixture::Plain);
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let line = one_error(
        &check(&rel, &[]),
        "the name demo is already registered in epmd",
    );
    assert!(
        line.contains(&format!("(port {})", rel.epmd().port)),
        "{line}"
    );
    // a second VM under init mode dies on the clash; its crash dump is explained
    let out = rel.run(&rel.bin(), &["start"], &[("BEAMRC_INIT", "1")], None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the VM exited while booting; check finds:\nERROR: the name demo is already registered"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(rel.run(&rel.bin(), &["stop"], &[], None).code, Some(0));
}

#[test]
fn an_unwritable_release_tmp() {
    let rel = installed(Fixture::Plain);
    let file = rel.dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let tmp = file.join("tmp");
    let env = [
        ("RELEASE_TMP", tmp.to_str().unwrap()),
        ("REPLACE_OS_VARS", "1"),
    ];
    one_error(&check(&rel, &env), "RELEASE_TMP");
}

#[test]
fn epmd_down() {
    let rel = installed(Fixture::Plain);
    let port = free_port().to_string();
    let env = [
        ("ERL_EPMD_PORT", port.as_str()),
        ("ELIXIR_ERL_OPTIONS", "-start_epmd false"),
    ];
    one_error(&check(&rel, &env), "register/listen error: econnrefused");
    daemon_explains(&rel, &env, "epmd is not running");
}

#[test]
fn crash_dump_slogans() {
    let rel = installed(Fixture::Plain);
    let dump = rel.dir.join("erl_crash.dump");
    std::fs::write(
        &dump,
        "=erl_crash_dump:0.5\nTue Dec  1 20:00:00 2026\nSlogan: {\"init terminating in do_boot\",{undef,[{elixir,start_cli,[],[]}]}}\nSystem version: Erlang/OTP 25\n",
    )
    .unwrap();
    // default: erl_crash.dump in the cwd (the test's dir)
    let out = rel.run(&rel.bin(), &["check", "--crash-dump"], &[], None);
    assert!(
        ok(&out).contains("ERROR: the VM cannot run elixir:start_cli/0"),
        "{}",
        out.stdout
    );
    let out = rel.run(
        &rel.bin(),
        &["check", "--crash-dump", "/nonexistent/dump"],
        &[],
        None,
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn unsupported_options_and_tool_usage() {
    let rel = installed(Fixture::Plain);
    let out = rel.run(&rel.bin(), &["check", "--yaml"], &[], None);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with("ERROR: unknown check option"),
        "{}",
        out.stderr
    );
    let out = rel.run(&beamrc_bin(), &["check"], &[], None);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with("ERROR: ") && out.stderr.contains("RELEASE_DIR"),
        "{}",
        out.stderr
    );
}
