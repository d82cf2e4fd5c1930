//! End to end with the real VM: releases built by `mix release`, started and stopped through
//! beamrc, with a private epmd per test.
use crate::support::{Fixture, TestRelease, installed, ok, wait_until};
use std::path::Path;
use std::time::Duration;

fn start_daemon(rel: &TestRelease, env: &[(&str, &str)]) -> u32 {
    ok(&rel.run(&rel.bin(), &["daemon"], env, None));
    let pid = ok(&rel.run(&rel.bin(), &["pid"], env, None))
        .trim()
        .to_string();
    pid.parse()
        .unwrap_or_else(|_| panic!("pid printed {pid:?}"))
}

fn is_beam(pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().contains("beam.smp"))
        .unwrap_or(false)
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, r)| r.starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn eval_output_arguments_and_exit_codes() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    assert_eq!(
        ok(&rel.run(&bin, &["eval", "IO.puts :hello_world"], &[], None)),
        "hello_world\n"
    );
    // Elixir 1.14 drops extra eval arguments (1.15+ passes them as System.argv()).
    let argv = if crate::support::elixir_version() >= (1, 15, 0) {
        "[\"a\"]\n"
    } else {
        "[]\n"
    };
    assert_eq!(
        ok(&rel.run(&bin, &["eval", "IO.inspect(System.argv())", "a"], &[], None)),
        argv
    );
    assert_eq!(
        rel.run(&bin, &["eval", "System.halt(3)"], &[], None).code,
        Some(3)
    );
    let out = rel.run(&bin, &["eval", "raise \"boom\""], &[], None);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("** (RuntimeError) boom"),
        "{}",
        out.stderr
    );
    assert_eq!(
        ok(&rel.run(
            &bin,
            &["eval", "IO.puts(node())"],
            &[("RELEASE_DISTRIBUTION", "none")],
            None
        )),
        "nonode@nohost\n"
    );
}

#[test]
fn daemon_rpc_pid_restart_stop() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let pid = start_daemon(&rel, &[]);
    assert!(is_beam(pid), "pid {pid} is not beam.smp");
    assert_eq!(
        ok(&rel.run(&bin, &["rpc", "IO.puts(node())"], &[], None)),
        "demo@vm\n"
    );
    assert_eq!(ok(&rel.run(&bin, &["ping"], &[], None)), "pong\n");
    assert_eq!(ok(&rel.run(&bin, &["restart"], &[], None)), "");
    assert_eq!(
        ok(&rel.run(&bin, &["pid"], &[], None)).trim(),
        pid.to_string()
    );
    assert_eq!(ok(&rel.run(&bin, &["stop"], &[], None)), "");
    assert!(gone(pid), "stop returned while the VM {pid} still runs");
    let out = rel.run(&bin, &["status"], &[], None);
    assert_eq!(out.code, Some(3), "{}", out.stdout);
}

#[test]
fn foreground_start_keeps_the_pid_and_exits_0_on_sigterm() {
    let rel = installed(Fixture::Plain);
    let mut child = rel.cmd(&rel.bin(), &["start"]).spawn().unwrap();
    let launcher = child.id();
    let bin = rel.bin();
    wait_until(Duration::from_secs(30), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    assert_eq!(
        ok(&rel.run(&bin, &["pid"], &[], None)).trim(),
        launcher.to_string()
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(launcher as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn absolute_and_relative_symlinks_find_the_release() {
    let rel = installed(Fixture::Plain);
    let links = rel.dir.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(rel.bin(), links.join("abs")).unwrap();
    let relative = pathdiff(&rel.bin(), &links);
    std::os::unix::fs::symlink(&relative, links.join("rel")).unwrap();
    // a chain: link → link → binary
    std::os::unix::fs::symlink("rel", links.join("chain")).unwrap();
    for name in ["abs", "rel", "chain"] {
        let out = rel.run(
            &links.join(name),
            &["eval", "IO.puts(System.get_env(\"RELEASE_ROOT\"))"],
            &[],
            None,
        );
        assert_eq!(ok(&out).trim(), rel.root.to_str().unwrap(), "{name}");
    }
    // invoked through PATH
    let path = format!("{}:{}", links.display(), std::env::var("PATH").unwrap());
    let out = rel.run(Path::new("abs"), &["version"], &[("PATH", &path)], None);
    assert_eq!(ok(&out), "demo 0.1.0\n");
}

/// `to` relative to directory `from` (both absolute, no symlinks in `from`).
fn pathdiff(to: &Path, from: &Path) -> std::path::PathBuf {
    let to: Vec<_> = to.components().collect();
    let from: Vec<_> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

#[test]
fn long_names_with_an_address() {
    let rel = installed(Fixture::Plain);
    let env = [
        ("RELEASE_DISTRIBUTION", "name"),
        ("RELEASE_NODE", "x@127.0.0.1"),
    ];
    let pid = start_daemon(&rel, &env);
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["rpc", "IO.puts(node())"], &env, None)),
        "x@127.0.0.1\n"
    );
    ok(&rel.run(&rel.bin(), &["stop"], &env, None));
    assert!(gone(pid));
}

#[test]
fn env_sh_node_without_export_takes_effect() {
    let rel = installed(Fixture::EnvSh);
    let pid = start_daemon(&rel, &[]);
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["rpc", "IO.puts(node())"], &[], None)),
        "envsh_node@vm\n"
    );
    assert_eq!(
        ok(&rel.run(
            &rel.bin(),
            &["rpc", "IO.puts(System.get_env(\"ENVSH_SEEN\"))"],
            &[],
            None
        )),
        "args:daemon\n"
    );
    ok(&rel.run(&rel.bin(), &["stop"], &[], None));
    assert!(gone(pid));
}

#[test]
fn runtime_config_reads_its_variable() {
    let rel = installed(Fixture::Runtime);
    let env = [("GREETING", "hola")];
    let pid = start_daemon(&rel, &env);
    assert_eq!(
        ok(&rel.run(
            &rel.bin(),
            &["rpc", "IO.puts(Application.get_env(:rtdemo, :greeting))"],
            &[],
            None
        )),
        "hola\n"
    );
    ok(&rel.run(&rel.bin(), &["stop"], &[], None));
    assert!(gone(pid));
}

#[test]
fn release_without_erts() {
    let rel = installed(Fixture::NoErts);
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["eval", "IO.puts(:ok)"], &[], None)),
        "ok\n"
    );
    let pid = start_daemon(&rel, &[]);
    ok(&rel.run(&rel.bin(), &["stop"], &[], None));
    assert!(gone(pid));
}
