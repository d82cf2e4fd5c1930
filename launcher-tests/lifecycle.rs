//! A daemon that tells the truth, a stop that waits, status and attach.
use crate::support::{Fixture, installed, wait_until};
use std::time::Duration;

#[test]
fn daemon_reports_a_broken_sys_config() {
    let rel = installed(Fixture::Plain);
    std::fs::write(
        rel.root.join("releases/0.1.0/sys.config"),
        "[{demo, [oops}].\n",
    )
    .unwrap();
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("exited while booting"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("last lines of"), "{}", out.stderr);
    assert!(
        out.stderr.contains("sys.config"),
        "the log should say why: {}",
        out.stderr
    );
}

#[test]
fn daemon_reports_a_missing_application() {
    let rel = installed(Fixture::Plain);
    let lib = rel.root.join("lib");
    for e in std::fs::read_dir(&lib).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("demo-") {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(out.stderr.contains("demo"), "{}", out.stderr);
}

#[test]
fn daemon_timeout_and_fire_and_forget() {
    let rel = installed(Fixture::Plain);
    let out = rel.run(
        &rel.bin(),
        &["daemon"],
        &[("BEAMRC_START_TIMEOUT", "0.001")],
        None,
    );
    assert_eq!(out.code, Some(6), "{}", out.stderr);
    assert!(
        out.stderr.contains("BEAMRC_START_TIMEOUT"),
        "{}",
        out.stderr
    );
    let bin = rel.bin();
    wait_until(Duration::from_secs(30), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    // already running: an error, not a second VM
    let out = rel.run(&bin, &["daemon"], &[], None);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    assert_eq!(rel.run(&bin, &["stop"], &[], None).code, Some(0));
    // BEAMRC_START_TIMEOUT=0: the script's fire-and-forget
    let out = rel.run(&bin, &["daemon"], &[("BEAMRC_START_TIMEOUT", "0")], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    wait_until(Duration::from_secs(30), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    assert_eq!(rel.run(&bin, &["stop"], &[], None).code, Some(0));
}

#[test]
fn status_both_ways_and_stop_waits() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let out = rel.run(&bin, &["status"], &[], None);
    assert_eq!(out.code, Some(3), "{}", out.stdout);
    assert!(out.stdout.contains("is not running"), "{}", out.stdout);
    assert_eq!(rel.run(&bin, &["daemon"], &[], None).code, Some(0));
    let out = rel.run(&bin, &["status"], &[], None);
    assert_eq!(out.code, Some(0));
    let pid: u32 = out
        .stdout
        .rsplit_once("(pid ")
        .and_then(|(_, p)| p.trim_end().trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(crate::support::pid_alive(pid as i32));
    assert_eq!(rel.run(&bin, &["stop"], &[], None).code, Some(0));
    assert!(
        !crate::support::pid_alive(pid as i32),
        "stop returned before the VM exited"
    );
    assert_eq!(rel.run(&bin, &["status"], &[], None).code, Some(3));
}

#[test]
fn attach_sends_a_line_to_the_vm() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    assert_eq!(rel.run(&bin, &["daemon_iex"], &[], None).code, Some(0));
    // to_erl greets the shell with a form feed (redraw) and leaves at end of input: send a
    // blank line to take the form feed, then ours, and keep stdin open while it is delivered.
    let script = format!(
        "(sleep 0.3; echo; sleep 0.3; echo 'IO.puts(:attached_ok)'; sleep 1) | '{}' attach",
        bin.display()
    );
    let out = rel.run(std::path::Path::new("sh"), &["-c", &script], &[], None);
    assert!(out.stderr.contains("Ctrl+D"), "{}", out.stderr);
    let log = rel.root.join("tmp/log/erlang.log.1");
    wait_until(Duration::from_secs(10), "the line reaches the VM", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("\nattached_ok"))
    });
    assert_eq!(rel.run(&bin, &["stop"], &[], None).code, Some(0));
}

#[test]
fn daemon_reports_a_node_name_clash() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    assert_eq!(rel.run(&bin, &["daemon"], &[], None).code, Some(0));
    // Another instance with the same node name (even with another cookie) is refused
    // before a second VM is started only to die on the name clash.
    let other_tmp = rel.dir.join("other");
    let env = [
        ("RELEASE_TMP", other_tmp.to_str().unwrap()),
        ("RELEASE_COOKIE", "another-cookie"),
    ];
    let out = rel.run(&bin, &["daemon"], &env, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("demo@vm is already running (it refuses our cookie)"),
        "{}",
        out.stderr
    );
    assert!(!other_tmp.join("pipe").exists(), "no second VM may start");
    assert_eq!(rel.run(&bin, &["stop"], &[], None).code, Some(0));
}
