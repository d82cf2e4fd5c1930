//! The application layer in-process, without Erlang: a release skeleton on disk, a fake
//! process handle, and the dry run as the observable outcome. Each bug of issue 8 that
//! lives here has a test.
use super::gather::test_host::FakeHost;
use super::launch;
use crate::environment::EnvMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A release skeleton as `mix release` lays it out (Elixir 1.15, no env.sh commands).
fn release(name: &str) -> PathBuf {
    let root = crate::test_support::scratch(name);
    let vsn = root.join("releases/0.1.0");
    std::fs::create_dir_all(&vsn).unwrap();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("erts-14.0/bin")).unwrap();
    let w = |p: &str, text: &str| std::fs::write(root.join(p), text).unwrap();
    w("releases/start_erl.data", "14.0 0.1.0\n");
    w("releases/COOKIE", "SECRETCOOKIE");
    w(
        "releases/0.1.0/demo.rel",
        "{release,{\"demo\",\"0.1.0\"},{erts,\"14.0\"},[]}.\n",
    );
    w(
        "releases/0.1.0/elixir",
        "ELIXIR_VERSION=1.15.7\nERTS_BIN=\"$SCRIPT_PATH\"/../../erts-14.0/bin/\n",
    );
    w("releases/0.1.0/env.sh", "#!/bin/sh\n# nothing\n");
    w("releases/0.1.0/vm.args", "+K true\n");
    w("releases/0.1.0/remote.vm.args", "");
    w("releases/0.1.0/sys.config", "[].\n");
    w("bin/demo", "");
    root
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut vars: EnvMap = [("PATH", "/usr/bin:/bin"), ("HOME", "/nonexistent")]
        .into_iter()
        .collect();
    for (k, v) in env {
        vars.set(k, *v);
    }
    let host = FakeHost::new(&root.join("bin/demo"), vars);
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (code, err) = match launch::run(&host, "bin/demo".as_ref(), &args) {
        Ok(code) => (code, String::new()),
        Err(e) => (e.code(), e.line()),
    };
    Run {
        code,
        out: host.output(),
        err,
    }
}

fn dry(root: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut env = env.to_vec();
    env.push(("BEAMRC_DRY_RUN", "1"));
    let r = run(root, args, &env);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!r.out.contains("SECRETCOOKIE"), "cookie shown:\n{}", r.out);
    r.out
}

/// issue 8: `BEAMRC_INIT=1 BEAMRC_DRY_RUN=1 start` printed `exec …`.
#[test]
fn dry_run_shows_init_mode() {
    let root = release("init");
    let out = dry(&root, &["start"], &[("BEAMRC_INIT", "1")]);
    assert!(out.contains("init mode (BEAMRC_INIT)"), "{out}");
    assert!(out.contains("supervise "), "{out}");
    assert!(!out.contains("\nexec "), "{out}");
    let out = dry(&root, &["start"], &[("BEAMRC_SHUTDOWN_TIMEOUT", "25")]);
    assert!(out.starts_with("exec ") || out.contains("\nexec "), "{out}");
    let mut host_pid1 = FakeHost::new(&root.join("bin/demo"), EnvMap::default());
    host_pid1.pid1 = true;
    host_pid1.env.set("PATH", "/bin");
    host_pid1.env.set("BEAMRC_DRY_RUN", "yes");
    host_pid1.env.set("BEAMRC_SHUTDOWN_TIMEOUT", "25");
    launch::run(&host_pid1, "bin/demo".as_ref(), &["start".into()]).unwrap();
    let out = host_pid1.output();
    assert!(
        out.contains("init mode (PID 1)") && out.contains("kill it after 25s"),
        "{out}"
    );
}

/// With NOTIFY_SOCKET the dry run says how readiness is observed.
#[test]
fn dry_run_shows_readiness() {
    let root = release("notify");
    let out = dry(&root, &["start"], &[("NOTIFY_SOCKET", "/run/n.sock")]);
    assert!(
        out.contains("notify /run/n.sock: READY=1 once demo@testhost has booted"),
        "{out}"
    );
    let out = dry(
        &root,
        &["start"],
        &[
            ("NOTIFY_SOCKET", "/run/n.sock"),
            ("RELEASE_DISTRIBUTION", "none"),
        ],
    );
    assert!(
        out.contains("boot not observable: RELEASE_DISTRIBUTION=none"),
        "{out}"
    );
}

/// The daemon's dry run shows run_erl, the refusal check and the boot wait with its timeout.
#[test]
fn dry_run_shows_the_boot_wait() {
    let root = release("daemon");
    let out = dry(&root, &["daemon"], &[("BEAMRC_START_TIMEOUT", "12")]);
    assert!(out.contains("run "), "{out}");
    assert!(
        out.contains("wait up to 12s (BEAMRC_START_TIMEOUT) for demo@testhost to boot"),
        "{out}"
    );
    let out = dry(&root, &["daemon"], &[("BEAMRC_START_TIMEOUT", "0")]);
    assert!(
        out.contains("no boot wait: BEAMRC_START_TIMEOUT=0"),
        "{out}"
    );
}

/// Remote commands: the route with its reason, the deadlines, and the hidden VM's plan.
#[test]
fn dry_run_shows_routes_and_reasons() {
    let root = release("route");
    let out = dry(&root, &["stop"], &[("BEAMRC_STOP_TIMEOUT", "5")]);
    assert!(out.contains("route native ("), "{out}");
    assert!(
        out.contains("stop, then wait up to 5s (BEAMRC_STOP_TIMEOUT)"),
        "{out}"
    );
    assert!(
        out.contains("as a hidden node named by the node (host testhost), EPMD port 4369"),
        "{out}"
    );
    assert!(
        out.contains("connect timeout 7s, call timeout none"),
        "{out}"
    );
    let out = dry(&root, &["rpc", "1"], &[("BEAMRC_NATIVE", "false")]);
    assert!(out.contains("route hidden VM (BEAMRC_NATIVE=0)"), "{out}");
    assert!(out.contains("--rpc-eval"), "{out}");
    std::fs::write(
        root.join("releases/0.1.0/remote.vm.args"),
        "-proto_dist inet_tls\n",
    )
    .unwrap();
    let out = dry(&root, &["pid"], &[]);
    assert!(
        out.contains("route hidden VM (distribution is customised (-proto_dist inet_tls))"),
        "{out}"
    );
}

/// issue 8: `BEAMRC_DRY_RUN=false` printed the plan instead of acting.
#[test]
fn dry_run_false_acts() {
    let root = release("dryfalse");
    let r = run(&root, &["version"], &[("BEAMRC_DRY_RUN", "false")]);
    assert_eq!((r.code, r.out.as_str()), (0, "demo 0.1.0\n"), "{}", r.err);
    let r = run(&root, &["version"], &[("BEAMRC_DRY_RUN", "1")]);
    assert_eq!(r.out, "print \"demo 0.1.0\\n\"\n");
}

/// issue 8: `BEAMRC_STOP_TIMEOUT=abc stop` stopped the node, then complained. Now nothing
/// is attempted: the switch is an error before the route is even taken.
#[test]
fn bad_switches_fail_before_anything_happens() {
    let root = release("badswitch");
    for (key, value) in [
        ("BEAMRC_STOP_TIMEOUT", "abc"),
        ("BEAMRC_START_TIMEOUT", "99999999999999999999"),
        ("BEAMRC_NATIVE", "maybe"),
        ("ERL_EPMD_PORT", "99999999999999999999"),
    ] {
        // An EPMD port nobody listens on: reaching the network would fail with exit 1.
        let mut env = vec![("ERL_EPMD_PORT", "1")];
        env.push((key, value));
        let r = run(&root, &["stop"], &env);
        assert_eq!(r.code, 4, "{key}={value}: {}", r.err);
        assert!(
            r.err.starts_with("ERROR: ") && r.err.contains(key),
            "{}",
            r.err
        );
        assert_eq!(r.out, "");
    }
}

/// issue 8: `BEAMRC_LOG` (and every other switch) set in release.env or RELEASE_ENV_FILE is
/// read from the same view as the others.
#[test]
fn switches_come_from_env_files_too() {
    let root = release("envfile");
    std::fs::write(
        root.join("releases/0.1.0/release.env"),
        "BEAMRC_DRY_RUN=on\nBEAMRC_LOG=beamrc=debug\n",
    )
    .unwrap();
    let r = run(&root, &["version"], &[]);
    assert_eq!(r.out, "print \"demo 0.1.0\\n\"\n", "{}", r.err);
    std::fs::write(
        root.join("releases/0.1.0/release.env"),
        "BEAMRC_LOG=beamrc=nonsense[\n",
    )
    .unwrap();
    let r = run(&root, &["version"], &[]);
    assert_eq!(r.code, 4, "{}", r.err);
    assert!(r.err.contains("BEAMRC_LOG"), "{}", r.err);
}

/// issue 8: with REPLACE_OS_VARS and an uncreatable RELEASE_TMP/pipe, the error named the
/// rendered vm.args ("could not write …", exit 1); it is the pipe that cannot be created.
#[test]
fn an_uncreatable_pipe_is_named() {
    let root = release("pipe");
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("pipe"), "a file, not a directory").unwrap();
    let r = run(
        &root,
        &["daemon"],
        &[("REPLACE_OS_VARS", "1"), ("BEAMRC_NATIVE", "0")],
    );
    assert_eq!(r.code, 5, "{}", r.err);
    assert!(
        r.err.starts_with("ERROR: cannot create ") && r.err.contains("tmp/pipe"),
        "{}",
        r.err
    );
}

/// issue 15 (wired here): a cookie the VM cannot use is refused before anything starts,
/// naming where it came from, never showing it.
#[test]
fn an_unusable_cookie_is_refused_before_start() {
    let root = release("cookie");
    for cmd in ["start", "daemon", "remote"] {
        let r = run(
            &root,
            &[cmd],
            &[("RELEASE_COOKIE", "s3cr\u{20ac}t"), ("BEAMRC_DRY_RUN", "1")],
        );
        assert_eq!(r.code, 4, "{cmd}: {}", r.err);
        assert!(
            r.err.starts_with("ERROR: the cookie from RELEASE_COOKIE: "),
            "{}",
            r.err
        );
        assert!(!r.err.contains("s3cr"), "{}", r.err);
        assert_eq!(r.out, "");
    }
    let long = "x".repeat(256);
    let r = run(
        &root,
        &["start"],
        &[("RELEASE_COOKIE", &long), ("BEAMRC_DRY_RUN", "1")],
    );
    assert_eq!(r.code, 4, "{}", r.err);
    // Latin-1 is fine, and an undistributed VM does not care.
    dry(&root, &["start"], &[("RELEASE_COOKIE", "\u{fc}n\u{ef}")]);
    dry(
        &root,
        &["start"],
        &[
            ("RELEASE_COOKIE", "\u{20ac}"),
            ("RELEASE_DISTRIBUTION", "none"),
        ],
    );
}

/// issue 15: a release built with ERTS whose erts-VSN/bin is gone fails (exit 2, naming the
/// directory) instead of quietly running the `erl` on PATH; commands that need no ERTS work.
#[test]
fn missing_erts_is_an_error_not_erl_from_path() {
    let root = release("noerts");
    std::fs::remove_dir_all(root.join("erts-14.0")).unwrap();
    for cmd in ["start", "daemon", "remote"] {
        let r = run(&root, &[cmd], &[("BEAMRC_DRY_RUN", "1")]);
        assert_eq!(r.code, 2, "{cmd}: {}", r.err);
        assert!(
            r.err.contains("erts-14.0/bin") && r.err.contains("built with ERTS"),
            "{}",
            r.err
        );
    }
    let r = run(
        &root,
        &["rpc", "1"],
        &[("BEAMRC_DRY_RUN", "1"), ("BEAMRC_NATIVE", "0")],
    );
    assert_eq!(r.code, 2, "{}", r.err);
    dry(&root, &["pid"], &[]);
    dry(&root, &["version"], &[]);
}

/// A dry run of a release whose env.sh holds nothing runs no shell and says nothing about it
/// (the sourced case is launcher-tests/switches.rs: it needs the real binary).
#[test]
fn dry_run_without_env_sh_commands() {
    let root = release("envsh");
    let out = dry(&root, &["version"], &[]);
    assert_eq!(out, "print \"demo 0.1.0\\n\"\n");
}

#[test]
fn locality_without_a_resolver_for_names_and_literals() {
    use super::node::is_local;
    assert!(is_local("a@vm", "vm.example.com"));
    assert!(is_local("a@vm.example.com", "vm.example.com"));
    assert!(is_local("a@::1", "vm"));
    assert!(is_local("a@127.0.0.1", "vm"));
    assert!(is_local("a@localhost", "vm"));
    assert!(!is_local("a@10.1.2.3", "vm"));
}
