//! Probe commands (issue 13): `ping`, `status`, `ready`, `wait` against a dead, a booting,
//! a booted and a stopping node of a real release; probes never write a file; the dry run
//! shows the route; init mode's drain delay and user drop.
use crate::support::{Fixture, TestRelease, installed, ok, wait_until};
use std::time::Duration;

const BOOT_SLEEP_MS: u32 = 6000;

/// The release's vm.args gains `-eval 'timer:sleep(N)'`: init runs it after the boot
/// script, so for N ms the node answers while `init:get_status()` is `{starting, started}`.
fn slow_booting(rel: &TestRelease) {
    let vm_args = rel.version_dir().join("vm.args");
    let mut text = std::fs::read_to_string(&vm_args).unwrap();
    text.push_str(&format!("\n-eval 'timer:sleep({BOOT_SLEEP_MS})'\n"));
    std::fs::write(&vm_args, text).unwrap();
}

fn code(rel: &TestRelease, args: &[&str]) -> (Option<i32>, String) {
    let out = rel.run(&rel.bin(), args, &[], None);
    (out.code, format!("{}{}", out.stdout, out.stderr))
}

/// An application whose stop takes a while, started at run time: `stop` then leaves the
/// node in `init:get_status()` = `{stopping, _}` for a few seconds.
const SLOW_STOP: &str = r#"
Code.compile_string("""
defmodule SlowStop do
  use Application
  def start(_, _), do: Supervisor.start_link([], strategy: :one_for_one)
  def prep_stop(state) do
    Process.sleep(4000)
    state
  end
end
""")
:ok = :application.load({:application, :slowstop, [description: ~c"slow", vsn: ~c"1", modules: [SlowStop], registered: [], applications: [:kernel, :stdlib], mod: {SlowStop, []}]})
:ok = Application.start(:slowstop)
IO.puts(:slow_ok)
"#;

#[test]
fn probes_through_a_nodes_life() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    // dead
    assert_eq!(code(&rel, &["ping"]).0, Some(1));
    assert_eq!(code(&rel, &["status"]).0, Some(3));
    let (c, text) = code(&rel, &["ready"]);
    assert_eq!(c, Some(3), "{text}");
    assert!(text.contains("is not running"), "{text}");
    let (c, text) = code(&rel, &["wait", "--timeout", "0.3"]);
    assert_eq!(c, Some(6), "{text}");
    assert!(text.contains("--timeout"), "{text}");

    // booting: answers ping, not ready
    slow_booting(&rel);
    let out = rel.run(&bin, &["daemon"], &[("BEAMRC_START_TIMEOUT", "0")], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    wait_until(Duration::from_secs(30), "the node answers", || {
        code(&rel, &["ping"]).0 == Some(0)
    });
    let (c, text) = code(&rel, &["ready"]);
    assert_eq!(c, Some(1), "{text}");
    assert!(text.contains("is not ready: booting"), "{text}");
    assert_eq!(code(&rel, &["status"]).0, Some(0));

    // wait blocks until booted
    let (c, text) = code(&rel, &["wait", "--app", "demo"]);
    assert_eq!(c, Some(0), "{text}");
    assert!(text.contains("is ready"), "{text}");

    // booted
    let (c, text) = code(&rel, &["ready"]);
    assert_eq!(c, Some(0), "{text}");
    assert!(
        text.starts_with("demo@") && text.ends_with(" is ready\n"),
        "{text}"
    );
    for (args, want) in [
        (&["ready", "--app", "demo", "--app=logger"][..], 0),
        (&["ready", "--process", "Elixir.Demo.Supervisor"], 0),
        (&["ready", "--app", "nope"], 1),
        (&["ready", "--process", "nope_process"], 1),
        (&["ready", "--bogus"], 1),
        (
            &[
                "wait",
                "--timeout",
                "0",
                "--process",
                "application_controller",
            ],
            0,
        ),
    ] {
        let (c, text) = code(&rel, args);
        assert_eq!(c, Some(want), "{args:?}: {text}");
    }
    let (_, text) = code(
        &rel,
        &["ready", "--app", "nope", "--process", "nope_process"],
    );
    assert!(
        text.contains("application nope is not started, process nope_process is not registered"),
        "{text}"
    );

    // through the hidden VM (the fallback route): the same check, evaluated there
    let vm = [("BEAMRC_NATIVE", "0")];
    let out = rel.run(&bin, &["ready", "--app", "demo"], &vm, None);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.ends_with(" is ready\n"), "{}", out.stdout);
    let out = rel.run(&bin, &["ready", "--app", "nope"], &vm, None);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("application nope is not started"),
        "{}",
        out.stdout
    );

    // 200 readiness probes leave the node's atom and port counts as they were (node-assigned
    // names; one call with atoms the node has).
    let counts = || {
        let out = rel.run(
            &bin,
            &[
                "rpc",
                "IO.puts(\"#{:erlang.system_info(:atom_count)} #{length(:erlang.ports())}\")",
            ],
            &[],
            None,
        );
        let text = ok(&out).trim().to_string();
        let (a, p) = text.split_once(' ').unwrap();
        (a.parse::<i64>().unwrap(), p.parse::<i64>().unwrap())
    };
    let (atoms, ports) = counts();
    for _ in 0..200 {
        assert_eq!(
            code(
                &rel,
                &["ready", "--app", "demo", "--process", "nope_process"]
            )
            .0,
            Some(1)
        );
    }
    let (atoms_after, ports_after) = counts();
    assert!(
        atoms_after - atoms <= 5,
        "atoms grew by {}",
        atoms_after - atoms
    );
    assert_eq!(ports_after, ports);

    // stopping
    let out = rel.run(&bin, &["rpc", SLOW_STOP], &[], None);
    assert_eq!(ok(&out).trim(), "slow_ok");
    let stopper = rel.spawn(&bin, &["stop"], &[]);
    let mut seen_stopping = false;
    wait_until(Duration::from_secs(30), "the node is stopping", || {
        let (c, text) = code(&rel, &["ready"]);
        seen_stopping = c == Some(1) && text.contains("stopping");
        seen_stopping || c == Some(3)
    });
    assert!(seen_stopping, "ready never saw the node stopping");
    let out = stopper.wait(Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // dead again
    assert_eq!(code(&rel, &["ready"]).0, Some(3));
}

#[test]
fn probes_write_nothing_and_show_their_route() {
    let rel = installed(Fixture::Subst);
    let env = [
        ("REPLACE_OS_VARS", "1"),
        ("NODE_NAME", "subst"),
        ("GREETING", "hi"),
        ("BEAMRC_DRY_RUN", "1"),
    ];
    for args in [
        &["ping"][..],
        &["status"],
        &["ready", "--app", "subst"],
        &["wait"],
    ] {
        let out = rel.run(&rel.bin(), args, &env, None);
        let text = ok(&out);
        assert!(text.starts_with("route native"), "{args:?}: {text}");
        assert!(
            !text.contains("\nwrite "),
            "{args:?} would write a file: {text}"
        );
        assert!(
            !text.contains(&std::fs::read_to_string(rel.root.join("releases/COOKIE")).unwrap())
        );
    }
    let out = rel.run(&rel.bin(), &["wait", "--timeout", "5"], &env, None);
    assert!(ok(&out).contains("wait up to 5s"), "{}", out.stdout);
    // and for real: a probe against nothing leaves no rendered file behind
    let env = &env[..3];
    assert_eq!(rel.run(&rel.bin(), &["ready"], env, None).code, Some(3));
    assert_eq!(rel.run(&rel.bin(), &["ping"], env, None).code, Some(1));
    assert!(
        !rel.root.join("tmp/rendered").exists(),
        "a probe rendered files"
    );
    // wait has no hidden-VM route
    let out = rel.run(&rel.bin(), &["wait"], &[("BEAMRC_NATIVE", "0")], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("wait needs the native route"),
        "{}",
        out.stderr
    );
}

/// `start` in init mode with `BEAMRC_STOP_DELAY`, booted, then sent SIGTERM, which it holds.
fn start_and_hold_sigterm(rel: &TestRelease, delay: &str) -> crate::support::Running {
    let running = rel.spawn(
        &rel.bin(),
        &["start"],
        &[("BEAMRC_INIT", "1"), ("BEAMRC_STOP_DELAY", delay)],
    );
    wait_until(Duration::from_secs(30), "the node is ready", || {
        code(rel, &["ready"]).0 == Some(0)
    });
    running.signal(libc::SIGTERM);
    wait_until(Duration::from_secs(10), "beamrc holds SIGTERM", || {
        running.stderr_so_far().contains("BEAMRC_STOP_DELAY")
    });
    running
}

/// nobody must read the release and write RELEASE_TMP and HOME.
fn open_to_everyone(rel: &TestRelease) {
    let st = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(&rel.dir)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn init_mode_holds_sigterm_for_the_stop_delay() {
    let rel = installed(Fixture::Plain);
    let out = rel.run(
        &rel.bin(),
        &["start"],
        &[
            ("BEAMRC_DRY_RUN", "1"),
            ("BEAMRC_INIT", "1"),
            ("BEAMRC_STOP_DELAY", "2.5"),
            ("BEAMRC_USER", "nobody"),
        ],
        None,
    );
    let text = ok(&out);
    assert!(
        text.contains("hold the first SIGTERM 2.5s before forwarding it (BEAMRC_STOP_DELAY)"),
        "{text}"
    );
    assert!(
        text.contains("drop to user nobody before exec (BEAMRC_USER"),
        "{text}"
    );

    let running = start_and_hold_sigterm(&rel, "3");
    // Held: the VM is still serving (the delay is 3 s; this probe takes milliseconds).
    assert_eq!(code(&rel, &["ready"]).0, Some(0));
    let out = running.wait(Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(code(&rel, &["ping"]).0, Some(1));

    // A second SIGTERM during the delay goes through at once: with a 600 s delay the VM
    // still stops (the wait below gives up, and fails, long before 600 s).
    let running = start_and_hold_sigterm(&rel, "600");
    running.signal(libc::SIGTERM);
    let out = running.wait(Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn start_drops_to_the_user_before_exec() {
    let rel = installed(Fixture::Plain);
    open_to_everyone(&rel);
    let out = rel.run(
        &rel.bin(),
        &["start"],
        &[("BEAMRC_USER", "no-such-user-x")],
        None,
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("no user no-such-user-x"),
        "{}",
        out.stderr
    );
    for init in ["0", "1"] {
        let running = rel.spawn(
            &rel.bin(),
            &["start"],
            &[("BEAMRC_USER", "nobody"), ("BEAMRC_INIT", init)],
        );
        wait_until(Duration::from_secs(30), "the node is ready", || {
            code(&rel, &["ready"]).0 == Some(0)
        });
        let pid = ok(&rel.run(&rel.bin(), &["pid"], &[], None))
            .trim()
            .to_string();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(uid_line.contains("65534"), "init={init}: {uid_line}");
        assert_eq!(rel.run(&rel.bin(), &["stop"], &[], None).code, Some(0));
        let _ = running.wait(Duration::from_secs(60));
    }
}

/// As a container's PID 1 (`unshare --pid --fork --mount-proc bin/NAME start`): the VM runs
/// as `BEAMRC_USER`, and the first SIGTERM is held for `BEAMRC_STOP_DELAY`.
#[test]
fn pid1_drops_to_nobody_and_holds_sigterm() {
    let rel = installed(Fixture::Plain);
    open_to_everyone(&rel);
    let mut cmd = rel.cmd(
        std::path::Path::new("unshare"),
        &["--pid", "--fork", "--mount-proc"],
    );
    cmd.arg(rel.bin())
        .arg("start")
        .env("BEAMRC_USER", "nobody")
        .env("BEAMRC_STOP_DELAY", "1")
        .stderr(std::process::Stdio::piped());
    let child = cmd
        .spawn()
        .expect("unshare (util-linux) is needed, as root");
    let children = format!("/proc/{0}/task/{0}/children", child.id());
    let init: i32 = crate::support::wait_for(Duration::from_secs(10), "unshare's child", || {
        std::fs::read_to_string(&children)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()))
    });
    wait_until(Duration::from_secs(30), "the node is ready", || {
        code(&rel, &["ready"]).0 == Some(0)
    });
    let status =
        |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let uid = |pid: i32| {
        status(pid)
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        uid(init).contains("\t0\t"),
        "beamrc stays root: {}",
        uid(init)
    );
    let vm: i32 = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        uid(vm).contains("65534"),
        "the VM runs as nobody: {}",
        uid(vm)
    );
    // SAFETY: signalling the PID 1 we started.
    unsafe { libc::kill(init, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("BEAMRC_STOP_DELAY"), "{stderr}");
}

/// Counts the connections a relx node accepts: a process on the node sees every `nodeup`
/// (hidden nodes included) and appends a line to the file `log` for each, so the count can be
/// read after the node has died.
fn counter(log: &std::path::Path) -> String {
    format!(
        "spawn(fun() -> net_kernel:monitor_nodes(true, [{{node_type, all}}]), \
         L = fun L() -> receive {{nodeup, _, _}} -> \
         file:write_file(\"{}\", <<\"up\\n\">>, [append]), L(); _ -> L() end end, L() end), \
         ok.",
        log.display()
    )
}

/// relx releases share Mix's probe command and lifecycle waits: `wait` keeps one connection
/// while a process is missing and `stop` makes one (counted on the node: no churn);
/// `restart` comes back; `stop` returns with the VM gone.
#[test]
fn relx_wait_keeps_one_connection_and_stop_restart_wait_for_events() {
    use crate::support::relx::{RelxFixture, RelxRelease};
    let rel = RelxRelease::new(RelxFixture::Plain);
    rel.install_beamrc().assert_success("beamrc install");
    let pipes = format!("{}/pipes/", rel.dir.display());
    let env = [("PIPE_DIR", pipes.as_str()), ("BEAMRC_START_TIMEOUT", "30")];
    let run = |args: &[&str]| rel.run(&rel.bin(), args, &env);
    let log = rel.dir.join("connections.log");
    // Fleet mode is for Mix releases: refused (also in the dry run), not silently one node.
    for dry in ["0", "1"] {
        let fleet = [("BEAMRC_FLEET_NODES", "a,b"), ("BEAMRC_DRY_RUN", dry)];
        let out = rel.run(&rel.bin(), &["ping"], &fleet);
        assert_eq!(out.code, Some(4), "{out}");
        assert!(
            out.stderr
                .contains("fleet mode (BEAMRC_FLEET_NODES) is for Mix releases"),
            "{out}"
        );
    }
    assert_eq!(run(&["daemon"]).code, Some(0));
    // The counter starts after this command's own connections are up: it sees only later ones.
    let installed = run(&["eval", &counter(&log)]);
    assert_eq!(installed.code, Some(0), "{installed}");
    // Ready but a process missing: `wait` re-checks for 2 s (20 ms doubling to 250 ms:
    // about ten checks, each a connection if it reconnected) and times out (exit 6).
    let late = run(&["wait", "--timeout", "2", "--process", "no_such_process"]);
    assert_eq!(late.code, Some(6), "{late}");
    assert!(
        late.stderr
            .contains("process no_such_process is not registered"),
        "{late}"
    );
    // `stop`: os:getpid and init:stop on one connection, then the close and a pidfd.
    let stopped = run(&["stop"]);
    assert_eq!(stopped.code, Some(0), "{stopped}");
    // Read after the node died, so every nodeup has been written: one each.
    let seen = std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
    assert_eq!(
        seen, 2,
        "the node saw {seen} connections during `wait` and `stop` (one each)"
    );
    assert_eq!(run(&["daemon"]).code, Some(0));
    let restarted = run(&["restart"]);
    assert_eq!(restarted.code, Some(0), "{restarted}");
    let ready = run(&["ready"]);
    assert_eq!(ready.code, Some(0), "{ready}");
    let pid: i32 = run(&["pid"]).stdout.trim().parse().expect("pid");
    let stopped = run(&["stop"]);
    assert_eq!(stopped.code, Some(0), "{stopped}");
    // `stop` returned after the OS process had exited (the pidfd wait).
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')),
        "the VM (pid {pid}) is still running after stop"
    );
    let down = run(&["ready"]);
    assert_eq!(down.code, Some(3), "{down}");
}

/// The same count on a Mix node: `wait` while a process is missing, then `stop`, make one
/// connection each.
#[test]
fn mix_wait_and_stop_make_one_connection_each() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let log = rel.dir.join("connections.log");
    let out = rel.run(&bin, &["daemon"], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let counter = format!(
        "log = \"{}\"; spawn(fn -> :net_kernel.monitor_nodes(true, node_type: :all); \
         loop = fn loop -> receive do {{:nodeup, _, _}} -> File.write!(log, \"up\\n\", [:append]); \
         loop.(loop); _ -> loop.(loop) end end; loop.(loop) end); IO.puts(:counting)",
        log.display()
    );
    assert_eq!(
        ok(&rel.run(&bin, &["rpc", &counter], &[], None)).trim(),
        "counting"
    );
    let (c, text) = code(
        &rel,
        &["wait", "--timeout", "2", "--process", "no_such_process"],
    );
    assert_eq!(c, Some(6), "{text}");
    assert!(
        text.contains("process no_such_process is not registered"),
        "{text}"
    );
    let (c, text) = code(&rel, &["stop"]);
    assert_eq!(c, Some(0), "{text}");
    let seen = std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
    assert_eq!(
        seen, 2,
        "the node saw {seen} connections during `wait` and `stop` (one each)"
    );
}
