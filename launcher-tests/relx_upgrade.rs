//! relx's `upgrade_test` shelltest through beamrc: tar 0.1.0, a 0.1.1 with a relup, deploy
//! 0.1.0, `unpack`, `versions`, `upgrade`, `versions`, with the escript's messages; beamrc
//! stays `bin/NAME` and the kept script follows the new version.
use crate::support::upgrade_relx::sh;
use crate::support::{Epmd, TempDir, beamrc_bin, run_command};
use std::process::Command;
use std::time::Duration;

#[test]
fn relx_upgrade_unpack_upgrade_versions() {
    crate::support::require_erlang();
    let tmp = TempDir::new();
    let dir = tmp.path();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    sh(dir, &home, "rebar3", &["new", "release", "upg"]);
    let project = dir.join("upg");
    let edit = |file: &str, from: &str, to: &str| {
        let p = project.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} holds {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
    };
    edit("rebar.config", "{mode, dev},", "");
    edit("config/vm.args", "-sname upg", "-sname upg@localhost");
    sh(&project, &home, "rebar3", &["as", "prod", "tar"]);
    edit("rebar.config", "{upg, \"0.1.0\"}", "{upg, \"0.1.1\"}");
    sh(&project, &home, "rebar3", &["as", "prod", "release"]);
    sh(
        &project,
        &home,
        "rebar3",
        &[
            "as", "prod", "relup", "-n", "upg", "-v", "0.1.1", "-u", "0.1.0",
        ],
    );
    sh(
        &project,
        &home,
        "rebar3",
        &["as", "prod", "tar", "-n", "upg", "-v", "0.1.1"],
    );
    let rel = project.join("_build/prod/rel/upg");
    let root = dir.join("deploy");
    std::fs::create_dir_all(&root).unwrap();
    let tar0 = rel.join("upg-0.1.0.tar.gz");
    sh(&root, &home, "tar", &["-xzf", tar0.to_str().unwrap()]);
    let mut c = Command::new(beamrc_bin());
    c.arg("install").arg(&root);
    run_command(c, None, Duration::from_secs(60)).assert_success("beamrc install");

    let epmd = Epmd::start();
    let port = epmd.port.to_string();
    let pipes = format!("{}/pipes/", dir.display());
    let run = |args: &[&str]| {
        let mut c = Command::new(root.join("bin/upg"));
        c.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("ERL_EPMD_PORT", &port)
            .env("PIPE_DIR", &pipes);
        run_command(c, None, Duration::from_secs(120))
    };
    run(&["daemon"]).assert_success("daemon");
    assert_eq!(
        run(&["versions"]).stdout,
        "Installed versions:\n* 0.1.0\tpermanent\n"
    );
    std::fs::copy(
        rel.join("upg-0.1.1.tar.gz"),
        root.join("releases/upg-0.1.1.tar.gz"),
    )
    .unwrap();
    let missing = run(&["unpack"]);
    assert_eq!(missing.code, Some(1));
    assert_eq!(
        missing.stdout,
        "Missing version argument\nUsage: upg unpack {version}\n"
    );
    let unpack = run(&["unpack", "0.1.1"]);
    assert_eq!(unpack.code, Some(0), "{unpack}");
    assert!(
        unpack
            .stdout
            .contains("Release 0.1.1 not found, attempting to unpack releases/upg-0.1.1.tar.gz")
    );
    assert!(unpack.stdout.contains("Unpacked successfully: \"0.1.1\""));
    assert_eq!(
        run(&["versions"]).stdout,
        "Installed versions:\n* 0.1.1\tunpacked\n* 0.1.0\tpermanent\n"
    );
    let up = run(&["upgrade", "0.1.1"]);
    assert_eq!(up.code, Some(0), "{up}");
    assert!(
        up.stdout
            .contains("Release 0.1.1 is already unpacked, now installing.")
    );
    assert!(up.stdout.contains("Installed Release: 0.1.1"));
    assert!(up.stdout.contains("Made release permanent: \"0.1.1\""));
    assert_eq!(
        run(&["versions"]).stdout,
        "Installed versions:\n* 0.1.1\tpermanent\n* 0.1.0\told\n"
    );
    // beamrc is still bin/upg; the kept script is the new version's
    assert!(
        std::fs::read(root.join("bin/upg"))
            .unwrap()
            .starts_with(b"\x7fELF")
    );
    let kept = std::fs::read_to_string(root.join("bin/upg.sh")).unwrap();
    assert!(kept.contains("REL_VSN=\"0.1.1\""));
    assert_eq!(run(&["ping"]).stdout, "pong\n");
    run(&["stop"]).assert_success("stop");
    crate::support::kill_processes_under(dir);
}
