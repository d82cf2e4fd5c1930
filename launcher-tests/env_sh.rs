//! env.sh as a hostile environment would use it (issue 15): secrets on command lines,
//! signals while it runs, values larger than the kernel lets through `execve`.
use crate::process_init::{children_now, group_field, in_pty, print_groups};
use crate::support::{Fixture, TestRelease, installed, pid_alive, wait_for, wait_until};
use std::path::Path;
use std::time::Duration;

const COOKIE: &str = "s3cret-cookie-value-4711";

fn write_env_sh(rel: &TestRelease, text: &str) {
    std::fs::write(rel.version_dir().join("env.sh"), text).unwrap();
}

/// Every argv of every process whose parent chain leads to `root` (root included).
fn descendants_cmdlines(root: u32) -> Vec<(u32, Vec<u8>)> {
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&pid) = tree.get(i) {
        tree.extend(children_now(pid));
        i += 1;
    }
    tree.into_iter()
        .filter_map(|pid| Some((pid, std::fs::read(format!("/proc/{pid}/cmdline")).ok()?)))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The cookie (from the caller and from env.sh itself) never appears in the argv of anything
/// beamrc starts: not the shell while env.sh sleeps, not the process that dumps the shell's
/// variables back to beamrc.
#[test]
fn the_cookie_is_on_no_command_line_while_env_sh_runs() {
    let rel = installed(Fixture::Plain);
    let dir = rel.dir.clone();
    // A wrapper in place of beamrc's re-exec records the argv the dump process gets, then
    // becomes it. The env.sh runner names that program `$__beamrc_self`; the test checks that
    // the wrapper really ran.
    let wrapper = dir.join("dump-wrapper");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > \"$ARGV_LOG\"\nexec \"$REAL_SELF\" \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for (cookie_from_env_sh, caller_cookie) in [(false, true), (true, false)] {
        let ready = dir.join("ready");
        let _ = std::fs::remove_file(&ready);
        let log = dir.join("argv.log");
        let _ = std::fs::remove_file(&log);
        let assign = if cookie_from_env_sh {
            format!("RELEASE_COOKIE={COOKIE}\n")
        } else {
            String::new()
        };
        write_env_sh(
            &rel,
            &format!(
                "{assign}export REAL_SELF=\"$__beamrc_self\" ARGV_LOG='{}'\n__beamrc_self='{}'\n: > '{}'\nsleep 2\n",
                log.display(),
                wrapper.display(),
                ready.display()
            ),
        );
        let mut cmd = rel.cmd(&rel.bin(), &["version"]);
        if caller_cookie {
            cmd.env("RELEASE_COOKIE", COOKIE);
        }
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let pid = child.id();
        wait_until(Duration::from_secs(20), "env.sh started", || ready.exists());
        // The shell writes `ready` just before it forks `sleep`: look until all three are there.
        let mut seen = Vec::new();
        wait_until(Duration::from_secs(20), "beamrc, sh and sleep", || {
            seen = descendants_cmdlines(pid);
            seen.len() >= 3
        });
        for (p, cmdline) in &seen {
            assert!(
                !contains(cmdline, COOKIE),
                "the cookie is in the argv of pid {p}: {:?}",
                String::from_utf8_lossy(cmdline)
            );
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0.1.0"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let argv = std::fs::read_to_string(&log).expect("the dump wrapper did not run");
        assert!(
            !argv.contains(COOKIE),
            "the dump process got the cookie in argv:\n{argv}"
        );
    }
}

/// SIGTERM to bin/NAME while env.sh is still running: the shell, its background child and its
/// foreground child are gone when beamrc exits, and beamrc exits 128 + 15.
#[test]
fn sigterm_while_env_sh_runs_leaves_nothing_behind() {
    let rel = installed(Fixture::Plain);
    let dir = rel.dir.clone();
    let pids = dir.join("pids");
    write_env_sh(
        &rel,
        &format!(
            "sleep 60 & bg=$!\nsleep 60 & fg=$!\necho \"$$ $bg $fg\" > '{0}.tmp'\nmv '{0}.tmp' '{0}'\nwait $fg\n",
            pids.display()
        ),
    );
    let mut child = rel
        .cmd(&rel.bin(), &["version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started: Vec<i32> = wait_for(Duration::from_secs(20), "env.sh started", || {
        let text = std::fs::read_to_string(&pids).ok()?;
        Some(
            text.split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect(),
        )
    });
    // The shell's children start with our (empty) signal mask, not with what beamrc blocks
    // while it waits.
    let bg = started[1];
    let mask = wait_for(Duration::from_secs(20), "the background sleep", || {
        let cmdline = std::fs::read(format!("/proc/{bg}/cmdline")).ok()?;
        let status = std::fs::read_to_string(format!("/proc/{bg}/status")).ok()?;
        let mask = status
            .lines()
            .find(|l| l.starts_with("SigBlk:"))?
            .to_string();
        cmdline.starts_with(b"sleep\0").then_some(mask)
    });
    // SAFETY: signalling the process we started, by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_for(Duration::from_secs(20), "bin/NAME exited", || {
        child.try_wait().unwrap()
    });
    let left: Vec<i32> = started.iter().copied().filter(|&p| pid_alive(p)).collect();
    for &p in &left {
        // SAFETY: cleaning up what this test started, by pid.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        (status.code(), status.signal()),
        (Some(128 + libc::SIGTERM), None),
        "{status:?}"
    );
    assert!(left.is_empty(), "left behind: {left:?} of {started:?}");
    assert_eq!(mask, "SigBlk:\t0000000000000000");
}

/// An env.sh export of 1 MB makes execve fail with E2BIG: the error says so and names the
/// variable, never its value; exit 126.
#[test]
fn an_oversized_variable_is_named_when_exec_fails() {
    let rel = installed(Fixture::Plain);
    write_env_sh(
        &rel,
        "HUGE_SETTING=$(head -c 1048576 /dev/zero | tr '\\0' x)\nexport HUGE_SETTING\n",
    );
    let out = rel.run(
        &rel.bin(),
        &["eval", "true"],
        &[("RELEASE_COOKIE", COOKIE)],
        None,
    );
    assert_eq!(out.code, Some(126), "{out}");
    let err = &out.stderr;
    assert!(err.contains("argument list too long"), "{err}");
    assert!(err.contains("HUGE_SETTING"), "{err}");
    assert!(!err.contains("xxxxxxxx"), "a value was printed: {err}");
    assert!(!err.contains(COOKIE), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// The same through an env-file line (no shell involved): the exec of erlexec fails, and the
/// error names the variable, not the file's contents.
#[test]
fn an_oversized_env_file_line_is_named_when_exec_fails() {
    let rel = installed(Fixture::Plain);
    let file = rel.dir.join("big.env");
    std::fs::write(&file, format!("BIG_FROM_FILE={}\n", "y".repeat(1 << 20))).unwrap();
    let file = file.to_str().unwrap();
    let out = rel.run(
        &rel.bin(),
        &["eval", "true"],
        &[("RELEASE_COOKIE", COOKIE), ("RELEASE_ENV_FILE", file)],
        None,
    );
    assert_eq!(out.code, Some(126), "{out}");
    let err = &out.stderr;
    assert!(err.contains("cannot execute"), "{err}");
    assert!(
        err.contains("argument list too long: variable BIG_FROM_FILE (1024.0 KiB)"),
        "{err}"
    );
    assert!(!err.contains("yyyyyyyy") && !err.contains(COOKIE), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// On a terminal beamrc owns, env.sh's group gets the foreground (so it can still prompt), and
/// beamrc gives it back afterwards.
#[test]
fn env_sh_gets_the_terminal_foreground() {
    let rel = installed(Fixture::Plain);
    write_env_sh(&rel, &format!("{}\n", print_groups("env.sh")));
    let inner = format!(
        "'{}' version; {}",
        rel.bin().display(),
        print_groups("after")
    );
    let text = in_pty(rel.cmd(Path::new("script"), &[]), &inner);
    let field = |mark, name| group_field(&text, mark, name);
    assert_eq!(
        field("env.sh", "pgrp"),
        field("env.sh", "self"),
        "not its own group: {text}"
    );
    assert_eq!(
        field("env.sh", "tpgid"),
        field("env.sh", "self"),
        "not in the foreground: {text}"
    );
    assert!(text.contains("0.1.0"), "{text}");
    // Given back: the terminal's foreground is the caller's group again.
    assert_eq!(field("after", "tpgid"), field("after", "pgrp"), "{text}");
}
