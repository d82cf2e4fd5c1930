//! Differential tests: for every command, what reaches `erlexec`/`erl`/`run_erl` through
//! beamrc equals what reaches it through the release's own script (`bin/NAME.sh`), with the
//! same inputs. Only the random node suffix and the runtime-config timestamp are normalised,
//! plus the listed deliberate differences.
use crate::support::{Fixture, Recorded, TestRelease, beamrc_bin};
use std::collections::BTreeMap;

/// Shell bookkeeping that differs between a dash chain and a direct exec.
const SHELL_NOISE: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];

fn installed(f: Fixture) -> TestRelease {
    let rel = TestRelease::new(f);
    install(&rel);
    rel
}

fn install(rel: &TestRelease) {
    crate::support::install_with_beamrc(rel);
    // Mix writes the cookie world-readable; beamrc warns about that on start (tested in
    // `readable_cookie_is_reported_on_start_only`), the script does not.
    let cookie = rel.root.join("releases/COOKIE");
    std::fs::set_permissions(&cookie, std::os::unix::fs::PermissionsExt::from_mode(0o400)).unwrap();
}

/// `rpc-1a2b-demo` → `rpc-RAND-demo`; `NAME-VSN-20261121181500-1a2b.runtime` → `…-STAMP.runtime`.
fn normalise(s: &str) -> String {
    let mut out = s.to_string();
    for prefix in ["rpc-", "rem-"] {
        let mut from = 0;
        while let Some(i) = out[from..].find(prefix).map(|i| i + from) {
            let word = &out[i + 4..];
            if word.len() > 5
                && word[..4].chars().all(|c| c.is_ascii_hexdigit())
                && word.as_bytes()[4] == b'-'
            {
                out.replace_range(i + 4..i + 8, "RAND");
            }
            from = i + 4;
        }
    }
    // A 14-digit timestamp, `-` (escaped or not), 4 hex digits: the runtime config's name.
    let bytes = out.as_bytes().to_vec();
    let mut i = 0;
    let mut result = String::new();
    while i < bytes.len() {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 14 {
            let after = &out[i + 14..];
            let sep = if after.starts_with("\\-") {
                2
            } else if after.starts_with('-') {
                1
            } else {
                0
            };
            let hex = after.get(sep..sep + 4).unwrap_or("");
            if sep > 0 && hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                result.push_str("STAMP-RAND");
                i += 14 + sep + 4;
                continue;
            }
        }
        let ch = out[i..].chars().next().unwrap();
        result.push(ch);
        i += ch.len_utf8();
    }
    out = result;
    out
}

fn env_view(r: &Recorded) -> BTreeMap<String, String> {
    r.env
        .iter()
        .filter(|(k, _)| !SHELL_NOISE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), normalise(v)))
        .collect()
}

fn argv_view(r: &Recorded) -> Vec<String> {
    r.argv.iter().map(|a| normalise(a)).collect()
}

/// Runs `args` through the kept script and through beamrc (hidden-VM path for remote
/// commands) and compares what the stand-ins recorded, and stdout/stderr/exit code.
fn compare(rel: &TestRelease, args: &[&str], env: &[(&str, &str)]) {
    let recorder = rel.install_recorders();
    let script = crate::support::oracle_as_name(rel);
    let ours = rel.bin();
    let mut env_ours: Vec<(&str, &str)> = env.to_vec();
    env_ours.push(("BEAMRC_NATIVE", "0"));
    let mut env_script = env.to_vec();
    env_script.push(("BEAMRC_NATIVE", "0"));

    // Some runs start nothing (version, env.sh exiting): then neither may record.
    let take = || (recorder.count() > 0).then(|| recorder.take());
    let out_s = rel.run(&script, args, &env_script, None);
    let rec_s = take();
    let out_b = rel.run(&ours, args, &env_ours, None);
    let rec_b = take();

    assert_eq!(
        rec_b.is_some(),
        rec_s.is_some(),
        "{args:?}: started something"
    );
    if let (Some(rec_b), Some(rec_s)) = (rec_b, rec_s) {
        assert_eq!(rec_b.program, rec_s.program, "{args:?}: program");
        assert_eq!(argv_view(&rec_b), argv_view(&rec_s), "{args:?}: argv");
        let (eb, es) = (env_view(&rec_b), env_view(&rec_s));
        for key in es.keys().chain(eb.keys()) {
            assert_eq!(eb.get(key), es.get(key), "{args:?}: env {key}");
        }
    }
    assert_eq!(out_b.code, out_s.code, "{args:?}: exit code");
    assert_eq!(out_b.stdout, out_s.stdout, "{args:?}: stdout");
    assert_eq!(out_b.stderr, out_s.stderr, "{args:?}: stderr");
}

const COMMANDS: &[&[&str]] = &[
    &["start"],
    &["start_iex"],
    &["daemon"],
    &["daemon_iex"],
    &["eval", "IO.puts(:hi)", "a", "b c"],
    &["rpc", "IO.puts(:hi)"],
    &["remote"],
    &["stop"],
    &["restart"],
    &["pid"],
];

fn all_commands(f: Fixture, env: &[(&str, &str)]) {
    let rel = installed(f);
    for args in COMMANDS {
        compare(&rel, args, env);
    }
}

#[test]
fn plain_release_every_command() {
    all_commands(Fixture::Plain, &[]);
}

#[test]
fn plain_release_with_overrides() {
    all_commands(
        Fixture::Plain,
        &[
            ("RELEASE_DISTRIBUTION", "name"),
            ("RELEASE_NODE", "demo@127.0.0.1"),
            ("RELEASE_MODE", "interactive"),
            ("RELEASE_COOKIE", "s3cr-t=="),
            ("ELIXIR_ERL_OPTIONS", "+K true -heart"),
            ("RELEASE_BOOT_SCRIPT", "start"),
        ],
    );
}

#[test]
fn distribution_none() {
    all_commands(Fixture::Plain, &[("RELEASE_DISTRIBUTION", "none")]);
}

#[test]
fn runtime_config_release_copies_sys_config() {
    all_commands(Fixture::Runtime, &[("GREETING", "hola")]);
}

#[test]
fn release_without_erts_uses_erl_from_path() {
    all_commands(Fixture::NoErts, &[]);
}

#[test]
fn customised_env_sh() {
    all_commands(Fixture::EnvSh, &[]);
}

#[test]
fn release_under_a_path_with_spaces_and_non_ascii() {
    let rel = TestRelease::new_under(Fixture::Plain, "with space/é ü 'q\"");
    install(&rel);
    for args in COMMANDS {
        compare(&rel, args, &[]);
    }
}

#[test]
fn usage_version_and_errors_match() {
    let rel = installed(Fixture::Plain);
    for args in [
        &[][..],
        &["version"][..],
        &["bogus"][..],
        &["eval"][..],
        &["eval", ""][..],
        &["rpc"][..],
    ] {
        let script = crate::support::oracle_as_name(&rel);
        let a = rel.run(&script, args, &[], None);
        let b = rel.run(&rel.bin(), args, &[], None);
        assert_eq!(
            (b.code, &b.stdout, &b.stderr),
            (a.code, &a.stdout, &a.stderr),
            "{args:?}"
        );
    }
}

#[test]
fn invalid_distribution_is_an_error_not_a_silent_boot() {
    // Deliberate difference: the script prints the error and boots anyway (exit 0).
    // The message is the one of the release's own script (its wording changed in 1.18).
    let rel = installed(Fixture::Plain);
    let recorder = rel.install_recorders();
    let env = [("RELEASE_DISTRIBUTION", "foo")];
    let script = rel.run(
        &crate::support::oracle_as_name(&rel),
        &["start"],
        &env,
        None,
    );
    let expected = script
        .stderr
        .lines()
        .find(|l| l.starts_with("ERROR: "))
        .unwrap_or_else(|| panic!("the script printed no ERROR line:\n{script}"))
        .to_string();
    recorder.take();
    let out = rel.run(&rel.bin(), &["start"], &env, None);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr, format!("{expected}\n"));
    assert_eq!(recorder.count(), 0, "nothing must be started");
}

#[test]
fn node_with_spaces_is_one_argument() {
    // Deliberate difference: the script word-splits it.
    let rel = installed(Fixture::Plain);
    let recorder = rel.install_recorders();
    let out = rel.run(&rel.bin(), &["start"], &[("RELEASE_NODE", "my node")], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rec = recorder.take();
    let i = rec.argv.iter().position(|a| a == "-sname").unwrap();
    assert_eq!(rec.argv[i + 1], "my node");
}

#[test]
fn dry_run_prints_the_plan_masks_the_cookie_and_writes_nothing() {
    let rel = installed(Fixture::Runtime);
    let out = rel.run(
        &rel.bin(),
        &["daemon"],
        &[
            ("BEAMRC_DRY_RUN", "1"),
            ("RELEASE_COOKIE", "topsecret-cookie=="),
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stdout.contains("topsecret"), "{}", out.stdout);
    assert!(out.stdout.contains("run_erl"), "{}", out.stdout);
    // run_erl's command string escapes `-` only before Elixir 1.15.
    let flag = if crate::support::elixir_version() >= (1, 15, 0) {
        "-setcookie ********"
    } else {
        r"\-setcookie ********"
    };
    assert!(out.stdout.contains(flag), "{}", out.stdout);
    assert!(
        !rel.root.join("tmp").exists(),
        "dry run must not create tmp/"
    );
}

#[test]
fn version_and_usage_need_no_cookie() {
    let rel = installed(Fixture::Plain);
    std::fs::remove_file(rel.root.join("releases/COOKIE")).unwrap();
    let out = rel.run(&rel.bin(), &["version"], &[], None);
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "demo 0.1.0\n"));
    let out = rel.run(&rel.bin(), &["start"], &[], None);
    assert_eq!(out.code, Some(4));
    assert!(out.stderr.starts_with("ERROR: "), "{}", out.stderr);
    assert!(out.stderr.contains("COOKIE"), "{}", out.stderr);
}

#[test]
fn install_is_idempotent_and_keeps_the_script() {
    let rel = TestRelease::new(Fixture::Plain);
    install(&rel);
    let kept = std::fs::read(rel.root.join("bin/demo.sh")).unwrap();
    assert!(kept.starts_with(b"#!/bin/sh"));
    install(&rel);
    assert_eq!(std::fs::read(rel.root.join("bin/demo.sh")).unwrap(), kept);
    assert!(std::fs::read(rel.bin()).unwrap().starts_with(b"\x7fELF"));
    let out = rel.run(
        &beamrc_bin(),
        &["install", rel.dir.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("is not a release"), "{}", out.stderr);
}

#[test]
fn readable_cookie_is_reported_on_start_only() {
    let rel = TestRelease::new(Fixture::Plain);
    let out = rel.run(
        &beamrc_bin(),
        &["install", rel.root.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.code, Some(0));
    let _recorder = rel.install_recorders();
    let out = rel.run(&rel.bin(), &["start"], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.starts_with("WARNING: cookie file "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("chmod 400"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1);
    let out = rel.run(&rel.bin(), &["eval", "true"], &[], None);
    assert_eq!(out.stderr, "");
}

#[test]
fn env_sh_exit_failure_arguments_and_unexported_variables() {
    let rel = installed(Fixture::Plain);
    let env_sh = rel.root.join("releases/0.1.0/env.sh");
    let cases = [
        // exit status and output of env.sh are the launcher's
        "echo \"from env.sh: $1 $#\"\nexit 3\n",
        // a failing command under set -e
        "echo before\nfalse\necho after\n",
        // unexported RELEASE_* and exported others reach the VM; $@ is the full argv
        "RELEASE_NODE=\"unexported_$1\"\nRELEASE_MODE=interactive\nexport FROM_ENV_SH=\"$*\"\nNOT_EXPORTED=1\n",
        // env.sh changing RELEASE_NAME after the fact (used for version and names)
        "RELEASE_NAME=renamed\n",
    ];
    for text in cases {
        std::fs::write(&env_sh, text).unwrap();
        for args in [
            &["start"][..],
            &["version"][..],
            &["eval", "IO.puts(1)", "x"][..],
        ] {
            compare(&rel, args, &[]);
        }
    }
}
