//! relx releases end to end with the real VM: every remote command's output and exit code
//! through beamrc against relx's kept script (erl_call path and `USE_NODETOOL` path), the
//! lifecycle, and the portable cases of relx's `rlx_extended_bin_SUITE` and shelltests
//! (named after them in each test).
use crate::support::RunOutput;
use crate::support::relx::{RelxFixture, RelxRelease};
use std::path::PathBuf;

fn installed(f: RelxFixture) -> RelxRelease {
    let rel = RelxRelease::new(f);
    rel.install_beamrc().assert_success("beamrc install");
    rel
}

fn pipes(rel: &RelxRelease) -> String {
    format!("{}/pipes/", rel.dir.display())
}

/// Runs `program args` with the test's pipe dir.
#[track_caller]
fn run(
    rel: &RelxRelease,
    program: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> RunOutput {
    let pipe = pipes(rel);
    let mut env = env.to_vec();
    env.push(("PIPE_DIR", &pipe));
    rel.run(program, args, &env)
}

/// Through beamrc (`bin/NAME`).
#[track_caller]
fn ours(rel: &RelxRelease, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    run(rel, &rel.bin(), args, env)
}

/// Through relx's kept script (`bin/NAME.sh`).
#[track_caller]
fn script(rel: &RelxRelease, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    run(rel, &rel.oracle(), args, env)
}

/// Same stdout and exit code through both.
#[track_caller]
fn same(rel: &RelxRelease, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    let o = ours(rel, args, env);
    let s = script(rel, args, env);
    assert_eq!(
        o.code, s.code,
        "{args:?}: exit code\nbeamrc: {o}\nscript: {s}"
    );
    assert_eq!(
        o.stdout, s.stdout,
        "{args:?}: stdout\nbeamrc: {o}\nscript: {s}"
    );
    o
}

#[test]
fn relx_e2e_remote_commands_match_the_script() {
    // CT: ping, shortname_ping, pid, status (custom_status_script), extension_script*
    let rel = installed(RelxFixture::Hooks);
    ours(&rel, &["daemon"], &[]).assert_success("daemon");
    // builtin_wait_for_vm_start_script_hook: pong right after daemon returns
    assert_eq!(ours(&rel, &["ping"], &[]).stdout, "pong\n");
    same(&rel, &["ping"], &[]);
    let pid = same(&rel, &["pid"], &[]);
    assert!(pid.stdout.trim().parse::<u32>().is_ok(), "{pid}");
    for args in [
        &["rpc", "erlang", "node"][..],
        &["rpc", "application", "get_env", "[kernel, foo, ok]"][..],
        &["rpc", "application", "get_env", "[kernel, foo, ok]."][..],
        &["rpc", "lists", "reverse", "[[1,2,3]]"][..],
        &["rpc", "erlang", "list_to_tuple", "[[a, 'B', \"str\", 1]]"][..],
        &["eval", "node()."][..],
        &["eval", "erlang:get_cookie()."][..],
        &["eval", "\"a string\"."][..],
        &["eval", "lists:seq(1,3)."][..],
        &["eval", "X = 1,", "X + 1."][..],
        &["rpc", "io", "format", "[\"hello\\n\"]"][..],
        &["eval", "io:format(\"x~n\"), 5."][..],
        &["status"][..],
        &["versions"][..],
        &["bar"][..],
        &["foo"][..],
        &["baz"][..],
    ] {
        same(&rel, args, &[]);
    }
    // nodetool's way: remote io:format output is shown (force_nodetool_tests)
    let nt = [("USE_NODETOOL", "1")];
    let hello = same(&rel, &["rpc", "io", "format", "[\"hello\\n\"]"], &nt);
    assert_eq!(hello.stdout, "hello\nok\n");
    for args in [
        &["rpc", "erlang", "node"][..],
        &["rpc", "lists", "reverse", "[[1,2,3]]"][..],
        &["rpc", "erlang", "error", "[foo]"][..],
        &["eval", "node()."][..],
        &["eval", "erlang:error(x)."][..],
    ] {
        same(&rel, args, &nt);
    }
    // erl_call's defect fixed: {badrpc, …} is a failure (relx: rc 0)
    let bad = ours(&rel, &["rpc", "erlang", "error", "[foo]"], &[]);
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(bad.stdout.starts_with("{badrpc, {'EXIT', {foo, "), "{bad}");
    // shelltest: an rpc longer than the timeout fails with nodetool's message, rc 1
    let slow = ours(
        &rel,
        &["rpc", "timer", "sleep", "[2000]."],
        &[("RELX_RPC_TIMEOUT", "1")],
    );
    assert_eq!(slow.code, Some(1), "{slow}");
    assert_eq!(slow.stdout, "RPC to hooked@localhost failed: timeout\n");
    // shelltest: NODETOOL_TIMEOUT=foo is an error, exit 2
    let nan = ours(
        &rel,
        &["rpc", "erlang", "node"],
        &[("NODETOOL_TIMEOUT", "foo")],
    );
    assert_eq!(nan.code, Some(2), "{nan}");
    assert!(nan.stderr.contains("Illegal number:"), "{nan}");
    // a second daemon of a running node is refused (relx starts a VM that dies)
    let again = ours(&rel, &["daemon"], &[]);
    assert_eq!(again.code, Some(1), "{again}");
    assert!(again.stderr.contains("already running"), "{again}");
    // stop waits; hooks ran in order (custom_start_script_hooks, hooks_tests)
    ours(&rel, &["stop"], &[]).assert_success("stop");
    let log = std::fs::read_to_string(rel.root.join("test")).unwrap();
    let phases: Vec<&str> = log
        .lines()
        .map(|l| l.split(',').next().unwrap().trim_start_matches('{'))
        .collect();
    assert_eq!(
        phases,
        ["pre_start", "post_start", "pre_stop", "post_stop"],
        "{log}"
    );
    assert!(log.contains("'hooked@localhost', hooked}."), "{log}");
    // builtin_pid_start_script_hook
    assert!(rel.root.join("foo.pid").is_file());
    // not running: relx's messages and codes
    for args in [
        &["ping"][..],
        &["rpc", "erlang", "node"][..],
        &["eval", "1."][..],
        &["status"][..],
    ] {
        let o = same(&rel, args, &[]);
        assert_eq!(o.code, Some(1));
        assert_eq!(o.stdout, "Node is not running!\n");
    }
    assert_eq!(ours(&rel, &["stop"], &[]).code, Some(1));
    let pid = ours(&rel, &["pid"], &[]);
    assert_eq!((pid.code, pid.stdout.as_str()), (Some(1), "\n"));
}

#[test]
fn relx_e2e_sname_without_host_restart_and_escript() {
    // CT: restart (same OS pid), escript (RELEASE_ROOT_DIR), start_preserves_arguments,
    // builtin_status_script (no hook: empty output)
    let rel = installed(RelxFixture::Plain);
    let out = ours(&rel, &["daemon", "-erlapp", "baz", "\"bat zing\""], &[]);
    out.assert_success("daemon with arguments");
    let pid = ours(&rel, &["pid"], &[]).stdout;
    let status = ours(&rel, &["status"], &[]);
    assert_eq!((status.code, status.stdout.as_str()), (Some(0), ""));
    let baz = ours(&rel, &["eval", "application:get_env(erlapp, baz)."], &[]);
    assert_eq!(baz.stdout, "{ok, \"bat zing\"}\n", "{baz}");
    same(&rel, &["eval", "application:get_env(erlapp, baz)."], &[]);
    ours(&rel, &["restart"], &[]).assert_success("restart");
    // restart waited: the node answers at once, same OS process
    assert_eq!(ours(&rel, &["pid"], &[]).stdout, pid);
    // `-mode(interpret)`: OTP 26+ compiles escripts by default, and the release has no
    // `compiler` application (escript: "Internal error: undef" from compile:forms).
    std::fs::write(
        rel.root.join("script.erl"),
        "#!/usr/bin/env escript\n-mode(interpret).\nmain(Args) -> io:format(\"~s ~p~n\", [os:getenv(\"RELEASE_ROOT_DIR\"), Args]).\n",
    )
    .unwrap();
    let esc = same(&rel, &["escript", "script.erl", "a", "b c"], &[]);
    let root = std::fs::canonicalize(&rel.root).unwrap();
    assert_eq!(esc.stdout, format!("{} [\"a\",\"b c\"]\n", root.display()));
    ours(&rel, &["stop"], &[]).assert_success("stop");
    // help and usage need no VM (relx boots one for the host name)
    same(&rel, &["help", "rpc"], &[]);
}

#[test]
fn relx_e2e_src_files_and_multi_node() {
    // CT: replace_os_vars_sys_config_vm_args_src, replace_os_vars_multi_node,
    // replace_os_vars_custom_location; shelltest replace_src_vars_tests
    let rel = installed(RelxFixture::Src);
    let out_dir = rel.dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.to_str().unwrap().to_string();
    let env1 = [
        ("NODENAME", "node1"),
        ("COOKIE", "cookie1"),
        ("VAR1", "101"),
        ("VAR2", "ab&cd"),
        ("RELX_OUT_FILE_PATH", out.as_str()),
    ];
    ours(&rel, &["daemon"], &env1).assert_success("daemon node1");
    assert!(out_dir.join("sys.config").is_file());
    let v = |env: &[(&str, &str)], expr: &str| ours(&rel, &["eval", expr], env).stdout;
    assert_eq!(
        v(&env1, "application:get_env(srcapp, var1)."),
        "{ok, 101}\n"
    );
    assert_eq!(
        v(&env1, "application:get_env(srcapp, var2)."),
        "{ok, \"ab&cd\"}\n"
    );
    assert_eq!(v(&env1, "erlang:get_cookie()."), "cookie1\n");
    same(&rel, &["eval", "node()."], &env1);
    let env2 = [
        ("NODENAME", "node2"),
        ("COOKIE", "cookie2"),
        ("VAR1", "201"),
        ("RELX_MULTI_NODE", "1"),
    ];
    ours(&rel, &["daemon"], &env2).assert_success("daemon node2");
    assert!(
        rel.version_dir()
            .join("sys.node2@localhost.config")
            .is_file()
    );
    assert_eq!(
        v(&env2, "application:get_env(srcapp, var1)."),
        "{ok, 201}\n"
    );
    assert_eq!(
        v(&env2, "application:get_env(srcapp, var2)."),
        "{ok, \"two\"}\n"
    );
    ours(&rel, &["stop"], &env1).assert_success("stop node1");
    assert_eq!(ours(&rel, &["stop"], &env1).code, Some(1));
    ours(&rel, &["stop"], &env2).assert_success("stop node2");
    let gone = same(&rel, &["ping"], &[("NODENAME", "n")]);
    assert_eq!(gone.code, Some(1), "{gone}");
}

#[test]
fn relx_e2e_boot_failure_is_reported() {
    let rel = installed(RelxFixture::Plain);
    std::fs::write(
        rel.version_dir().join("sys.config"),
        "[{kernel, [{bad}]}].\n",
    )
    .unwrap();
    let out = ours(&rel, &["daemon"], &[("BEAMRC_START_TIMEOUT", "20")]);
    assert_eq!(out.code, Some(6), "{out}");
    assert!(out.stderr.contains("exited while booting"), "{out}");
    assert!(out.stderr.contains("last lines of"), "{out}");
}

#[test]
fn relx_e2e_install_refuses_what_it_cannot_drive() {
    let plain = RelxRelease::new(RelxFixture::PlainBin);
    let out = plain.install_beamrc();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("plain start script"), "{out}");
    assert!(
        crate::support::relx::is_script(&plain.bin()),
        "left untouched"
    );
    let rel = RelxRelease::new(RelxFixture::NoErts);
    rel.install_beamrc().assert_success("install without ERTS");
    let bin: PathBuf = rel.root.join("bin");
    for kept in [
        "noerts.sh",
        "noerts-0.1.0",
        "nodetool",
        "install_upgrade.escript",
    ] {
        assert!(bin.join(kept).is_file(), "{kept} left in place");
    }
    // no ERTS bundled: erl from PATH, no VM boot for help
    let out = ours(&rel, &["help", "eval"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.starts_with("Usage: noerts eval"));
}

#[test]
fn relx_e2e_dist_port_without_epmd() {
    // shelltest extended_start_script_tests step 19: ERL_DIST_PORT daemon / ping / stop
    // (native: straight to the port, as relx's erl_call -address)
    let rel = installed(RelxFixture::Plain);
    let port = crate::support::free_port().to_string();
    let env = [("ERL_DIST_PORT", port.as_str())];
    ours(&rel, &["daemon"], &env).assert_success("daemon with ERL_DIST_PORT");
    let ping = crate::support::wait_for(
        std::time::Duration::from_secs(30),
        "the node answers on ERL_DIST_PORT",
        || {
            let o = ours(&rel, &["ping"], &env);
            o.success().then_some(o)
        },
    );
    assert_eq!(ping.stdout, "pong\n");
    same(&rel, &["rpc", "erlang", "node"], &env);
    ours(&rel, &["stop"], &env).assert_success("stop");
}

#[test]
fn relx_e2e_longname_and_reboot_with_heart() {
    // CT: longname_ping, reboot (heart brings the node back through HEART_COMMAND, which
    // names bin/NAME — beamrc — with `daemon`); shelltest reboot_restart_test
    let rel = installed(RelxFixture::Plain);
    let vm = rel.dir.join("long.vm.args");
    std::fs::write(
        &vm,
        "-name erlapp@127.0.0.1\n-setcookie longcookie\n-heart\n",
    )
    .unwrap();
    let vm = vm.to_str().unwrap().to_string();
    let env = [("VMARGS_PATH", vm.as_str())];
    ours(&rel, &["daemon"], &env).assert_success("daemon -name");
    assert_eq!(ours(&rel, &["ping"], &env).stdout, "pong\n");
    same(&rel, &["rpc", "erlang", "node"], &env);
    let before = ours(&rel, &["pid"], &env).stdout;
    ours(&rel, &["reboot"], &env).assert_success("reboot");
    let after = crate::support::wait_for(
        std::time::Duration::from_secs(60),
        "heart restarts the node",
        || {
            let o = ours(&rel, &["pid"], &env);
            (o.success() && o.stdout != before).then_some(o.stdout)
        },
    );
    assert_ne!(after, before);
    ours(&rel, &["stop"], &env).assert_success("stop");
}

#[test]
fn relx_e2e_dry_run_changes_nothing() {
    let rel = installed(RelxFixture::Src);
    let out = ours(
        &rel,
        &["foreground"],
        &[("BEAMRC_DRY_RUN", "1"), ("VAR1", "5")],
    );
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("erlexec"), "{out}");
    assert!(out.stdout.contains("sys.config"), "{out}");
    assert!(
        !rel.version_dir().join("sys.config").exists(),
        "nothing written"
    );
    let out = ours(&rel, &["daemon"], &[("BEAMRC_DRY_RUN", "1")]);
    assert!(out.stdout.contains("run_erl"), "{out}");
    assert!(!rel.root.join("log").exists(), "no log dir created");
}

#[test]
fn relx_e2e_remote_console_argv_matches_the_script() {
    // remote_console needs a running node (the script asks it for its tick time): boot the
    // daemon with the real erlexec, then record the remsh VM each side would exec.
    let rel = installed(RelxFixture::Hooks);
    ours(&rel, &["daemon"], &[]).assert_success("daemon");
    let bin = rel.erts_bin().unwrap();
    let rec =
        crate::support::Recorder::install(&rel.dir.join("records"), &bin, &["erlexec"], false);
    let o = ours(&rel, &["remote_console"], &[]);
    let r_ours = rec.take();
    let s = script(&rel, &["remote_console"], &[]);
    let r_script = rec.take();
    assert_eq!((o.code, s.code), (Some(0), Some(0)), "{o}\n{s}");
    assert_eq!(r_ours.argv, r_script.argv);
    for key in [
        "NAME",
        "ROOTDIR",
        "BINDIR",
        "PROGNAME",
        "EMU",
        "LD_LIBRARY_PATH",
    ] {
        assert_eq!(r_ours.env(key), r_script.env(key), "env {key}");
    }
    ours(&rel, &["stop"], &[]).assert_success("stop");
}
