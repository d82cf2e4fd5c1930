//! Smoke tests of the test infrastructure itself, run against the ORIGINAL release scripts.

use std::time::Duration;

use crate::support::*;

const BOOT: Duration = Duration::from_secs(30);

#[track_caller]
fn eval(rel: &TestRelease, expr: &str, env: &[(&str, &str)]) -> RunOutput {
    let out = rel.run(&rel.script(), &["eval", expr], env, None);
    out.assert_success(&format!("{} eval {expr:?}", rel.name));
    out
}

#[test]
fn every_fixture_builds_and_its_script_answers_version() {
    require_erlang();
    for f in Fixture::ALL {
        let root = fixture(f);
        assert!(
            root.ends_with(format!("_build/prod/rel/{}", f.app())),
            "{}",
            root.display()
        );
        let rel = TestRelease::new(f);
        let out = rel.run(&rel.script(), &["version"], &[], None);
        out.assert_success("version");
        assert_eq!(out.stdout, format!("{} 0.1.0\n", f.app()));
    }
}

#[test]
fn plain_eval_prints_and_reads_static_config() {
    let rel = TestRelease::new(Fixture::Plain);
    assert_eq!(eval(&rel, "IO.puts(:hi)", &[]).stdout, "hi\n");
    assert_eq!(eval(&rel, "Demo.hello()", &[]).stdout, "hello world\n");
    // Under start_clean 1.14 does not load the app: its env appears only after a load;
    // 1.15+ loads it before evaluating.
    let out = eval(
        &rel,
        "IO.inspect({Demo.greeting(), Application.load(:demo), Demo.greeting()})",
        &[],
    );
    let expected = if crate::support::elixir_version() >= (1, 15, 0) {
        "{\"from sys.config\", {:error, {:already_loaded, :demo}}, \"from sys.config\"}\n"
    } else {
        "{nil, :ok, \"from sys.config\"}\n"
    };
    assert_eq!(out.stdout, expected);
    // eval leaves nothing behind: no BOOTED (the app is not started), no tmp copy of sys.config.
    assert!(rel.booted().is_none());
    assert!(!rel.tmp_dir().exists());
}

#[test]
fn runtime_eval_runs_the_config_provider() {
    let rel = TestRelease::new(Fixture::Runtime);
    let sys_config = std::fs::read_to_string(rel.version_dir().join("sys.config")).unwrap();
    assert!(
        sys_config.contains("%% RUNTIME_CONFIG=true"),
        "{sys_config}"
    );
    let expr = "Application.load(:rtdemo); IO.puts(Application.get_env(:rtdemo, :greeting))";
    assert_eq!(eval(&rel, expr, &[("GREETING", "x")]).stdout, "x\n");
    assert_eq!(eval(&rel, expr, &[]).stdout, "unset\n");
    // The script copied sys.config into RELEASE_TMP for the provider (one per eval).
    let copies: Vec<_> = std::fs::read_dir(rel.tmp_dir())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(copies.len(), 2, "{copies:?}");
}

#[test]
fn noerts_eval_uses_erl_from_path() {
    let rel = TestRelease::new(Fixture::NoErts);
    assert!(rel.erts_bin().is_none());
    let out = eval(&rel, "IO.puts(:code.root_dir())", &[]);
    let system_root = String::from_utf8(
        std::process::Command::new("erl")
            .args([
                "-noshell",
                "-eval",
                "io:put_chars(code:root_dir()), halt().",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(out.stdout.trim_end(), system_root);
    assert_eq!(eval(&rel, "Noerts.hello()", &[]).stdout, "hello world\n");
}

#[test]
fn envsh_sees_the_arguments_and_its_exports_reach_the_vm() {
    let rel = TestRelease::new(Fixture::EnvSh);
    let expr = r#"IO.puts(System.get_env("ENVSH_SEEN"))"#;
    assert_eq!(eval(&rel, expr, &[]).stdout, format!("args:eval {expr}\n"));
    let out = eval(
        &rel,
        r#"IO.puts(System.get_env("ELIXIR_ERL_OPTIONS"))"#,
        &[],
    );
    assert_eq!(out.stdout, "+K true\n");
}

#[test]
fn subst_keeps_placeholders_literally() {
    let rel = TestRelease::new(Fixture::Subst);
    let sys_config = std::fs::read_to_string(rel.version_dir().join("sys.config")).unwrap();
    assert!(
        sys_config.contains("{greeting,'${GREETING}'}"),
        "{sys_config}"
    );
    let out = eval(
        &rel,
        r#"Application.load(:subst); IO.puts(Subst.greeting()); IO.puts(System.get_env("SUBST_PORT"))"#,
        &[("GREETING", "g"), ("SUBST_PORT", "1")],
    );
    // Elixir releases do no OS-variable substitution at all.
    assert_eq!(out.stdout, "${GREETING}\n${SUBST_PORT:-4000}\n");
}

#[test]
fn awkward_parent_path_works() {
    let rel = TestRelease::new_under(Fixture::Plain, "with space/é ü");
    assert!(rel.root.to_str().unwrap().contains("with space/é ü/demo"));
    assert_eq!(eval(&rel, "IO.puts(:hi)", &[]).stdout, "hi\n");
}

#[test]
fn daemon_round_trip_with_private_epmd() {
    let rel = TestRelease::new(Fixture::Plain);
    let script = rel.script();
    rel.run(&script, &["daemon"], &[], None)
        .assert_success("daemon");
    let started = std::time::Instant::now();
    let pid: i32 = wait_for(BOOT, "`bin/demo pid` answers", || {
        let out = rel.run(&script, &["pid"], &[], None);
        out.success()
            .then(|| out.stdout.trim().parse().expect("numeric pid"))
    });
    eprintln!(
        "daemon: `pid` answered {:?} after `daemon` returned",
        started.elapsed()
    );
    assert!(pid_alive(pid));
    let exe = pid_exe(pid).expect("readable /proc/PID/exe");
    assert!(
        exe.starts_with(&rel.root) && exe.ends_with("beam.smp"),
        "{}",
        exe.display()
    );
    // The node registered with our private epmd, not the system one.
    assert_eq!(rel.epmd().names(), vec!["demo".to_string()]);
    let booted = rel.wait_booted(BOOT);
    assert_eq!(booted.os_pid(), pid);
    assert_eq!(booted.get("node"), "demo@vm");
    assert_eq!(booted.get("mode"), "embedded");
    assert_eq!(booted.env("RELEASE_COMMAND"), Some("daemon"));
    assert_eq!(booted.env("HOME"), rel.home.to_str());
    let out = rel.run(&script, &["rpc", "Demo.hello()"], &[], None);
    assert_eq!(out.stdout, "hello world\n");
    rel.run(&script, &["stop"], &[], None)
        .assert_success("stop");
    let stopped = std::time::Instant::now();
    wait_until(BOOT, "the daemon's beam.smp exits", || !pid_alive(pid));
    eprintln!(
        "daemon: beam.smp gone {:?} after `stop` returned",
        stopped.elapsed()
    );
    // run_erl goes away with the VM.
    wait_until(BOOT, "nothing runs under the test dir", || {
        processes_under(&rel.dir).is_empty()
    });
    assert!(
        rel.daemon_log().contains("LOGGING STARTED"),
        "{}",
        rel.daemon_log()
    );
}

#[test]
fn drop_kills_a_running_daemon_and_its_epmd() {
    let rel = TestRelease::new(Fixture::Plain);
    rel.run(&rel.script(), &["daemon"], &[], None)
        .assert_success("daemon");
    let booted = rel.wait_booted(BOOT);
    let pid = booted.os_pid();
    let epmd_pid = rel.epmd().pid();
    let under = processes_under(&rel.dir);
    assert!(under.contains(&pid), "{under:?} lacks {pid}");
    assert!(
        under.len() >= 3,
        "run_erl, sh, beam.smp expected: {under:?}"
    );
    let dir = rel.dir.clone();
    drop(rel);
    for p in under.iter().chain([&epmd_pid]) {
        assert!(!pid_alive(*p), "{p} survived the drop");
    }
    assert!(!dir.exists());
}

#[test]
fn foreground_start_boots_and_stops_on_sigterm() {
    let rel = TestRelease::new(Fixture::Runtime);
    let started = std::time::Instant::now();
    let mut vm = rel.spawn(&rel.script(), &["start"], &[("GREETING", "hi")]);
    let booted = rel.wait_booted(BOOT);
    eprintln!(
        "start (reboot release): BOOTED after {:?}",
        started.elapsed()
    );
    // Every layer execs: the BEAM has the PID of the process we spawned.
    assert_eq!(booted.os_pid(), vm.pid());
    assert_eq!(booted.get("greeting"), "\"hi\"");
    assert_eq!(booted.get("boot_count"), "1");
    assert_eq!(booted.env("RELEASE_ROOT"), rel.root.to_str());
    let sys_config = booted.env("RELEASE_SYS_CONFIG").unwrap();
    assert!(sys_config.contains("/tmp/rtdemo-0.1.0-"), "{sys_config}");
    vm.signal(libc::SIGTERM);
    let out = vm.wait_timeout(BOOT).expect("VM exits after SIGTERM");
    assert_eq!(out.code, Some(0), "{out}");
}

#[test]
fn recorders_capture_erlexec_and_run_erl() {
    let rel = TestRelease::new(Fixture::Plain);
    let rec = rel.install_recorders();
    assert!(rec.path_prefix.is_none());

    rel.run(&rel.script(), &["start"], &[], None)
        .assert_success("start (recorded)");
    let r = rec.take();
    assert_eq!(r.program, "erlexec");
    let erts = crate::support::erts_dir_name(&rel.root).expect("erts-* in the release");
    assert!(
        r.argv[0].ends_with(&format!("{erts}/bin/erlexec")),
        "{:?}",
        r.argv
    );
    assert!(
        r.argv.ends_with(&["-extra".into(), "--no-halt".into()]),
        "{:?}",
        r.argv
    );
    assert_eq!(r.env("RELEASE_ROOT"), rel.root.to_str());
    assert_eq!(r.env("PROGNAME"), Some("erl"));
    assert_eq!(r.env("HOME"), rel.home.to_str());
    // The record is the exec'd environment; PWD in it comes from dash running bin/demo
    // (a native launcher that does not add it will differ here).
    assert_eq!(r.env("PWD"), rel.dir.to_str());

    rel.run(&rel.script(), &["daemon"], &[], None)
        .assert_success("daemon (recorded)");
    let r = rec.take();
    assert_eq!(r.program, "run_erl");
    assert_eq!(r.argv.len(), 5, "{:?}", r.argv);
    assert_eq!(&r.argv[1], "-daemon");
    assert_eq!(r.argv[2], format!("{}/tmp/pipe/", rel.root.display()));
    assert!(r.argv[4].starts_with(' '), "{:?}", r.argv[4]);
    assert_eq!(rec.count(), 0);
}

#[test]
fn recorders_for_a_release_without_erts_go_first_on_path() {
    let rel = TestRelease::new(Fixture::NoErts);
    let rec = rel.install_recorders();
    assert!(rec.path_prefix.is_some());
    rel.run(&rel.script(), &["eval", "1"], &[], None)
        .assert_success("eval (recorded)");
    let r = rec.take();
    assert_eq!(r.program, "erl");
    // 1.15+ ends the eval arguments with `--`.
    let tail: &[&str] = if crate::support::elixir_version() >= (1, 15, 0) {
        &["--eval", "1", "--"]
    } else {
        &["--eval", "1"]
    };
    let tail: Vec<String> = tail.iter().map(|s| s.to_string()).collect();
    assert!(r.argv.ends_with(&tail), "{:?}", r.argv);
    assert!(
        r.env("BINDIR").is_none(),
        "the real erl script sets BINDIR, not the chain"
    );
}

#[test]
fn run_times_out_and_kills() {
    let rel = TestRelease::new(Fixture::Plain);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rel.run_timeout(
            std::path::Path::new("/bin/sh"),
            &["-c", "echo started; exec sleep 30"],
            &[],
            None,
            Duration::from_millis(500),
        )
    }));
    let msg = *res
        .expect_err("must time out")
        .downcast::<String>()
        .unwrap();
    assert!(
        msg.contains("timed out") && msg.contains("started"),
        "{msg}"
    );
    assert!(processes_under(&rel.dir).is_empty());
}

#[test]
fn hardlinked_copy_replacements_do_not_touch_the_cache() {
    let cached = fixture(Fixture::Plain);
    let script_before = std::fs::read(cached.join("bin/demo")).unwrap();
    let rel = TestRelease::new_with(Fixture::Plain, None, true);
    rel.install_recorders();
    let bin = rel.install_beamrc();
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(beamrc_bin()).unwrap()
    );
    assert_eq!(std::fs::read(rel.oracle()).unwrap(), script_before);
    assert_eq!(
        std::fs::read(cached.join("bin/demo")).unwrap(),
        script_before
    );
    let erts = crate::support::erts_dir_name(cached).expect("erts-* in the release");
    let erlexec = std::fs::read(cached.join(erts).join("bin/erlexec")).unwrap();
    assert!(
        !erlexec.starts_with(b"#!"),
        "cached erlexec was replaced by a recorder"
    );
}

#[test]
fn plain_foreground_start_reports_what_the_vm_sees() {
    let rel = TestRelease::new(Fixture::Plain);
    let started = std::time::Instant::now();
    let mut vm = rel.spawn(&rel.script(), &["start"], &[]);
    let booted = rel.wait_booted(BOOT);
    eprintln!("start (plain): BOOTED after {:?}", started.elapsed());
    assert_eq!(booted.get("node"), "demo@vm");
    assert_eq!(booted.get("greeting"), "\"from sys.config\"");
    assert_eq!(booted.get("root_dir"), rel.root.to_str().unwrap());
    assert_eq!(booted.get("cwd"), rel.dir.to_str().unwrap());
    assert_eq!(booted.env("RELEASE_NODE"), Some("demo"));
    assert_eq!(
        booted.env("ERL_EPMD_PORT"),
        Some(&*rel.epmd().port.to_string())
    );
    let cookie = std::fs::read_to_string(rel.root.join("releases/COOKIE")).unwrap();
    assert_eq!(booted.get("cookie"), cookie);
    vm.signal(libc::SIGTERM);
    let out = vm.wait_timeout(BOOT).expect("VM exits after SIGTERM");
    assert_eq!(out.code, Some(0), "{out}");
}
