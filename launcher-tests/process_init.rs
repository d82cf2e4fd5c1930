//! Init mode (`beamrc::process::supervise`) as PID 1 of a fresh PID namespace:
//! `unshare --pid --fork --mount-proc target/debug/examples/init_harness -- PROG ARGS...`.
//!
//! Needs root (or an unprivileged user namespace) for `unshare`; when that is refused the
//! tests fail with unshare's message instead of skipping. The harness is an example, which
//! `cargo test --test launcher` does not build: the first test that needs it builds it with the
//! cargo that runs the tests (same profile, target directory and flags; a no-op when it is up
//! to date), so a stale harness can never be tested either.
//!
//! Every test starts its own processes and cleans up by pid: killing the harness (PID 1 of the
//! namespace) with SIGKILL from outside tears the whole namespace down.
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Once, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

fn harness() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build_harness)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `cargo build --example init_harness` for the profile and target directory this test
/// executable was built in (it is `TARGET_DIR[/TRIPLE]/PROFILE/deps/launcher-HASH`).
fn build_harness() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or("no target dir")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let up = profile_dir.parent().ok_or("no target dir")?;
    // A cross build has the triple between the target directory and the profile.
    let (target_dir, triple) =
        if up.join("CACHEDIR.TAG").is_file() || up.join(".rustc_info.json").is_file() {
            (up, None)
        } else {
            (up.parent().ok_or("no target dir")?, up.file_name())
        };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "--example",
        "init_harness",
        "--manifest-path",
    ])
    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
    .arg("--target-dir")
    .arg(target_dir)
    .arg("--profile")
    .arg(match profile {
        "debug" => "dev",
        other => other,
    });
    if let Some(triple) = triple {
        cmd.arg("--target").arg(triple);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo to build the init harness: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build --example init_harness failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let path = profile_dir.join("examples").join("init_harness");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is missing after cargo build", path.display()))
    }
}

fn require_unshare() {
    static PROBE: Once = Once::new();
    PROBE.call_once(|| {
        let out = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run unshare (util-linux): {e}"));
        assert!(
            out.status.success(),
            "`unshare --pid --fork --mount-proc` is not permitted here ({}): {}\n\
             these tests need root or unprivileged user namespaces",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    });
}

/// A running harness: stdout lines arrive on a channel, stderr is collected.
struct Run {
    child: Child,
    /// Whether `child` is `unshare` (the harness is then its child).
    via_unshare: bool,
    lines: Receiver<String>,
    stdout_seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    started: Instant,
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    /// Start `init_harness -- args` as PID 1 of a new PID namespace.
    fn in_namespace(env: &[(&str, &str)], args: &[&str]) -> Run {
        require_unshare();
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc"])
            .arg(harness())
            .arg("--")
            .args(args);
        Self::start(cmd, env, true)
    }

    /// Start `init_harness -- args` directly (not PID 1: the subreaper path).
    fn direct(env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = Command::new(harness());
        cmd.arg("--").args(args);
        Self::start(cmd, env, false)
    }

    fn start(mut cmd: Command, env: &[(&str, &str)], via_unshare: bool) -> Run {
        // Start from default dispositions whatever ran `cargo test`: a background job of a
        // non-interactive shell inherits SIGINT/SIGQUIT as SIG_IGN, which the harness (like
        // `exec`) passes on, and a shell cannot trap a signal ignored on entry.
        // SAFETY: only async-signal-safe `signal` calls between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                for sig in 1..32 {
                    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                        libc::signal(sig, libc::SIG_DFL);
                    }
                }
                Ok(())
            });
        }
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Run {
            child,
            via_unshare,
            lines,
            stdout_seen: Vec::new(),
            stderr: Some(stderr),
            started: Instant::now(),
        }
    }

    /// Wait for a stdout line starting with `prefix`; returns it.
    fn expect_line(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout_seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => {
                    let diag = self.diagnose();
                    self.kill();
                    panic!(
                        "no line {prefix:?} ({e}); stdout so far: {:?}\n{diag}",
                        self.stdout_seen
                    );
                }
            }
        }
    }

    /// Signal state of the harness and its children, for failure messages.
    fn diagnose(&self) -> String {
        let mut out = String::new();
        let harness = if self.via_unshare {
            child_of_now(self.child.id())
        } else {
            Some(self.child.id())
        };
        let mut pids: Vec<u32> = harness.into_iter().collect();
        if let Some(h) = harness {
            pids.extend(children_now(h));
        }
        for pid in pids {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            out += &format!(
                "pid {pid} {:?}:",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            );
            for line in status.lines().filter(|l| {
                l.starts_with("State") || l.starts_with("Sig") || l.starts_with("ShdPnd")
            }) {
                out += &format!(" {}", line.replace('\t', " "));
            }
            out.push('\n');
        }
        out
    }

    /// The harness's pid in our namespace (the child of `unshare`, or `child` itself); only
    /// while it runs.
    fn harness_pid(&self) -> u32 {
        if self.via_unshare {
            child_of(self.child.id())
        } else {
            self.child.id()
        }
    }

    fn signal(&self, sig: libc::c_int) {
        let pid = self.harness_pid();
        // SAFETY: signalling the harness we started, by pid.
        let r = unsafe { libc::kill(pid as i32, sig) };
        assert_eq!(
            r,
            0,
            "kill({pid}, {sig}): {}",
            std::io::Error::last_os_error()
        );
    }

    fn kill(&mut self) {
        // Through unshare: SIGKILL the harness (PID 1 of the namespace), which ends the whole
        // namespace; then unshare (or the harness itself when started directly).
        if self.via_unshare && matches!(self.child.try_wait(), Ok(None)) {
            if let Some(pid) = child_of_now(self.child.id()) {
                // SAFETY: only the processes this test started, by pid.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn finish(mut self) -> Outcome {
        let deadline = self.started + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "the harness did not exit within {LIMIT:?}; stdout {:?}",
                    self.stdout_seen
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = self.started.elapsed();
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        let stderr = self.stderr.take().unwrap().join().unwrap();
        let mut stdout = self.stdout_seen.join("\n");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            if !stdout.is_empty() {
                stdout.push('\n');
            }
            stdout.push_str(&line);
        }
        Outcome {
            code,
            stdout,
            stderr,
            elapsed,
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// The pid of the (single) child of `parent`, found via /proc/*/stat; waits for it.
fn child_of(parent: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = child_of_now(parent) {
            return pid;
        }
        assert!(Instant::now() < deadline, "unshare ({parent}) has no child");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn child_of_now(parent: u32) -> Option<u32> {
    children_now(parent).into_iter().next()
}

/// The children of `parent`, found via /proc/*/stat.
pub(crate) fn children_now(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok());
        if ppid == Some(parent) {
            found.push(pid);
        }
    }
    found
}

/// A shell function printing the number of zombies visible in /proc.
const ZOMBIES: &str = r#"zombies() { z=0; for f in /proc/[0-9]*/stat; do l=$(cat "$f" 2>/dev/null) || continue; s=${l##*) }; s=${s%% *}; [ "$s" = Z ] && z=$((z+1)); done; echo $z; }"#;

#[test]
fn exit_code_propagates() {
    let out = Run::in_namespace(&[], &["sh", "-c", "echo ppid=$PPID; exit 7"]).finish();
    assert_eq!(out.code, 7, "{}", out.stderr);
    // The harness really is PID 1 and the program its child.
    assert_eq!(out.stdout, "ppid=1");
    assert!(
        out.stderr.contains("init_harness: spawned "),
        "{}",
        out.stderr
    );
}

#[test]
fn killed_by_signal_is_128_plus_n() {
    let out = Run::in_namespace(&[], &["sh", "-c", "kill -9 $$"]).finish();
    assert_eq!(out.code, 137, "{}", out.stderr);
    let out = Run::in_namespace(&[], &["sh", "-c", "kill -SEGV $$"]).finish();
    assert_eq!(out.code, 128 + libc::SIGSEGV, "{}", out.stderr);
}

#[test]
fn exec_failure_is_127() {
    let out = Run::in_namespace(&[], &["no-such-program-beamrc"]).finish();
    assert_eq!(out.code, 127);
    assert!(
        out.stderr.contains("cannot execute no-such-program-beamrc"),
        "{}",
        out.stderr
    );
}

#[test]
fn sigterm_is_forwarded() {
    let mut run = Run::in_namespace(
        &[],
        &[
            "sh",
            "-c",
            r#"trap 'echo got-TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done"#,
        ],
    );
    run.expect_line("ready");
    run.signal(libc::SIGTERM);
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("got-TERM"), "{}", out.stdout);
    assert!(
        out.stderr.contains("init_harness: stop signal"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_forwarded_signal_reaches_only_the_main_child() {
    let script = r#"
        for s in HUP INT QUIT USR1 USR2 WINCH; do trap "echo got-$s" $s; done
        trap 'echo got-TERM; exit 0' TERM
        (trap 'echo grandchild-HUP' HUP; trap 'echo grandchild-USR1' USR1; while :; do sleep 0.05; done) &
        echo ready
        while :; do sleep 0.05; done"#;
    let mut run = Run::in_namespace(&[], &["sh", "-c", script]);
    run.expect_line("ready");
    for (sig, name) in [
        (libc::SIGHUP, "HUP"),
        (libc::SIGINT, "INT"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGUSR2, "USR2"),
        (libc::SIGWINCH, "WINCH"),
    ] {
        run.signal(sig);
        run.expect_line(&format!("got-{name}"));
    }
    run.signal(libc::SIGTERM);
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("grandchild"), "{}", out.stdout);
    // INT and TERM both count as stop signals.
    assert_eq!(
        out.stderr.matches("init_harness: stop signal").count(),
        2,
        "{}",
        out.stderr
    );
}

#[test]
fn orphans_are_reaped() {
    let script = format!(
        r#"{ZOMBIES}
        # Control: a zombie whose parent is alive and never waits, so the check can see one.
        sh -c 'sleep 0 & exec sleep 1' &
        sleep 0.4
        echo control=$(zombies)
        wait
        # Orphans: grandchildren whose parents exit at once are reparented to PID 1.
        for i in 1 2 3 4 5; do (sleep 0.1 &); done
        sh -c 'sleep 0.1 & sleep 0.2 & exit 0'
        sleep 0.8
        echo after=$(zombies)"#
    );
    let out = Run::in_namespace(&[], &["sh", "-c", &script]).finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let control = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("control="))
        .unwrap();
    assert!(
        control.parse::<u32>().unwrap() >= 1,
        "the zombie check saw no control zombie: {}",
        out.stdout
    );
    assert!(out.stdout.contains("after=0"), "{}", out.stdout);
}

#[test]
fn exits_promptly_while_orphans_still_run() {
    let out = Run::in_namespace(&[], &["sh", "-c", "(sleep 30 &); sleep 30 & exit 3"]).finish();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
}

#[test]
fn shutdown_timeout_kills_a_vm_that_ignores_sigterm() {
    let mut run = Run::in_namespace(
        &[("BEAMRC_SHUTDOWN_TIMEOUT", "300ms")],
        &[
            "sh",
            "-c",
            r#"trap '' TERM; echo ready; while :; do sleep 0.05; done"#,
        ],
    );
    run.expect_line("ready");
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    let out = run.finish();
    let waited = sent.elapsed();
    assert_eq!(out.code, 137, "{}", out.stderr);
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(
        out.stderr
            .contains("beamrc: the VM did not stop within 0.3s after SIGTERM; killed it"),
        "{}",
        out.stderr
    );
}

#[test]
fn shutdown_timeout_does_not_fire_when_the_vm_stops() {
    let mut run = Run::in_namespace(
        &[("BEAMRC_SHUTDOWN_TIMEOUT", "5s")],
        &[
            "sh",
            "-c",
            r#"trap 'exit 4' TERM; echo ready; while :; do sleep 0.05; done"#,
        ],
    );
    run.expect_line("ready");
    run.signal(libc::SIGTERM);
    let out = run.finish();
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!out.stderr.contains("killed it"), "{}", out.stderr);
}

#[test]
fn listen_pid_and_watchdog_pid_are_rewritten_for_the_child() {
    // PID 1 is the harness: LISTEN_PID=1 names it and must become the child's pid;
    // WATCHDOG_PID names someone else and stays.
    let out = Run::in_namespace(
        &[
            ("LISTEN_PID", "1"),
            ("WATCHDOG_PID", "999"),
            ("LISTEN_FDS", "1"),
        ],
        &[
            "sh",
            "-c",
            r#"echo "$$ $LISTEN_PID $WATCHDOG_PID $LISTEN_FDS""#,
        ],
    )
    .finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fields.len(), 4, "{}", out.stdout);
    assert_eq!(
        fields[1], fields[0],
        "LISTEN_PID not rewritten: {}",
        out.stdout
    );
    assert_eq!(&fields[2..], ["999", "1"]);

    let out = Run::in_namespace(
        &[("WATCHDOG_PID", "1")],
        &["sh", "-c", r#"echo "$$ $WATCHDOG_PID ${LISTEN_PID-unset}""#],
    )
    .finish();
    let fields: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(
        fields[1], fields[0],
        "WATCHDOG_PID not rewritten: {}",
        out.stdout
    );
    assert_eq!(fields[2], "unset");
}

#[test]
fn child_has_clean_signal_state() {
    let out = Run::in_namespace(
        &[],
        &["sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"],
    )
    .finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in out.stdout.lines() {
        let bits = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        if line.starts_with("SigBlk") {
            assert_eq!(bits, 0, "{}", out.stdout);
        } else {
            for sig in [libc::SIGPIPE, libc::SIGTTIN, libc::SIGTTOU, libc::SIGCHLD] {
                assert_eq!(
                    bits & (1 << (sig - 1)),
                    0,
                    "signal {sig} ignored: {}",
                    out.stdout
                );
            }
        }
    }
}

#[test]
fn not_pid1_becomes_a_subreaper() {
    // The grandchild is orphaned by its subshell; it must be reparented to the harness (not
    // to init). `read` is a builtin, so /proc/self is the grandchild shell itself.
    let gc = r#"sleep 0.3; read -r l < /proc/self/stat; l=${l##*) }; set -- $l; echo gc-ppid=$2"#;
    let run = Run::direct(
        &[("GC", gc)],
        &["sh", "-c", r#"(sh -c 'eval "$GC"' &); sleep 0.8"#],
    );
    let harness_pid = run.harness_pid();
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("subreaper"), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("gc-ppid={harness_pid}")),
        "harness {harness_pid}: {}",
        out.stdout
    );
}

#[test]
fn real_beam_stops_on_sigterm() {
    let eval = r#"os:cmd("sleep 0.1 &"), timer:sleep(500), io:format("zombies=~s", [os:cmd("eval \"$ZCHECK\"")]), io:format("ready~n")"#;
    let zcheck = format!("{ZOMBIES}; zombies");
    let mut run = Run::in_namespace(&[("ZCHECK", &zcheck)], &["erl", "-noshell", "-eval", eval]);
    let zombies = run.expect_line("zombies=");
    run.expect_line("ready");
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(sent.elapsed() < Duration::from_secs(15));
    assert_eq!(zombies, "zombies=0", "{}", out.stdout);
    assert!(
        out.stderr.contains("init_harness: stop signal"),
        "{}",
        out.stderr
    );
}

/// A shell snippet printing `MARK self=PID pgrp=PGRP tpgid=TERMINAL_FOREGROUND parent=PPID` for
/// the shell running it (`read` is a builtin, so /proc/self is that shell).
pub(crate) fn print_groups(mark: &str) -> String {
    format!(
        r#"read -r l < /proc/self/stat; l=${{l##*) }}; set -- $l; echo "{mark} self=$$ pgrp=$3 tpgid=$6 parent=$2""#
    )
}

/// Runs the shell command line `inner` under `script` (a pty as stdin and controlling
/// terminal, its group in the foreground); `script` is the command for the `script` program,
/// its environment set by the caller. Returns stdout without `\r`; panics unless it succeeded.
pub(crate) fn in_pty(mut script: Command, inner: &str) -> String {
    let out = script
        .args(["-qec", inner, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The numeric field `name` of the `print_groups(mark)` line in `text` (found wherever it
/// starts: other output shares the pty).
pub(crate) fn group_field(text: &str, mark: &str, name: &str) -> u32 {
    let line = text
        .lines()
        .find_map(|l| l.find(&format!("{mark} self=")).map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no {mark} line: {text}"));
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
}

#[test]
fn child_takes_the_terminal_foreground() {
    // The VM must get its own group and the terminal's foreground with it (so a Ctrl-C
    // reaches it once, from the terminal, and not a second time through us).
    let inner = format!(
        "{} -- sh -c '{}'",
        harness().display(),
        print_groups("child")
    );
    let text = in_pty(Command::new("script"), &inner);
    let field = |name| group_field(&text, "child", name);
    assert_eq!(field("pgrp"), field("self"), "not its own group: {text}");
    assert_eq!(
        field("tpgid"),
        field("self"),
        "not in the foreground: {text}"
    );
    assert_ne!(field("parent"), field("self"));
}

/// The signals of issue 8 that the old 7-signal list missed or dropped, plus a real-time one
/// (SIGRTMIN+2 = 36 with glibc and musl): each must reach the child, and the supervisor must
/// survive them all and exit with the child's status after SIGTERM.
/// How a test starts the harness: [`Run::in_namespace`] or [`Run::direct`].
type Start = fn(&[(&str, &str)], &[&str]) -> Run;

fn forwards_like_tini(start: Start) {
    let script = r#"
        for s in ALRM USR1 PWR WINCH 36; do trap "echo got-$s" $s; done
        trap 'echo got-TERM; exit 0' TERM
        echo ready
        # Bounded, so a supervisor that dies of a signal does not leave this loop behind forever.
        i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 9"#;
    let mut run = start(&[], &["sh", "-c", script]);
    run.expect_line("ready");
    for (sig, name) in [
        (libc::SIGALRM, "ALRM"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGPWR, "PWR"),
        (libc::SIGWINCH, "WINCH"),
        (36, "36"),
    ] {
        run.signal(sig);
        run.expect_line(&format!("got-{name}"));
    }
    run.signal(libc::SIGTERM);
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("got-TERM"), "{}", out.stdout);
}

#[test]
fn pid1_forwards_alrm_usr1_pwr_winch_and_realtime() {
    forwards_like_tini(Run::in_namespace);
}

#[test]
fn not_pid1_survives_and_forwards_alrm_usr1_pwr_winch_and_realtime() {
    forwards_like_tini(Run::direct);
}
