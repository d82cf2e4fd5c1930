//! Hot upgrades of a running Mix release through beamrc (`versions`, `install`/`upgrade`,
//! `downgrade`, `uninstall`): the new code answers, the process keeps its state, the
//! runtime configuration survives, a restart boots the permanent version; every pre-check
//! refuses before the node changes.
use crate::support::upgrade::{APP, UpRelease, built, built_reboot, strip_attr, tar};
use std::path::Path;

const V1_ONLY: &str = "Installed versions:\n* 0.1.0\tpermanent\n";

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn upgrade_and_downgrade_keep_state_and_configuration() {
    let rel = UpRelease::new(None);
    rel.daemon("hello");
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    assert_eq!(
        rel.rpc("Upapp.Counter.bump(); IO.puts Upapp.Counter.bump()"),
        "2"
    );
    rel.put_package(&built().package, &format!("{APP}-0.2.0.tar.gz"));

    let dry = rel.run(&["upgrade", "0.2.0"], &[("BEAMRC_DRY_RUN", "1")]);
    assert_eq!(dry.code, Some(0), "{dry}");
    assert!(
        dry.stdout
            .contains("install_release(\"0.2.0\", [{update_paths, true}])"),
        "{dry}"
    );
    assert_eq!(rel.ok(&["versions"]), V1_ONLY, "a dry run changes nothing");

    let out = rel.run(&["upgrade", "0.2.0"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Release 0.2.0 not found, attempting to unpack releases/upapp-0.2.0.tar.gz",
            "Unpacked successfully: \"0.2.0\"",
            "Installed Release: 0.2.0",
            "Made release permanent: \"0.2.0\"",
        ]
    );
    assert!(
        out.stderr.contains("wrote ") && out.stderr.contains("/releases/0.2.0/upapp.tar.gz for release_handler: the package releases/upapp-0.2.0.tar.gz inflated"),
        "{out}"
    );
    assert!(out.stderr.contains("release_handler leaves the release's own releases/COOKIE, releases/start_erl.data, bin/upapp as they are"), "{out}");
    let stray: Vec<_> = std::fs::read_dir(rel.root.join("releases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".beamrc-"))
        .collect();
    assert!(stray.is_empty(), "temp files left in releases/: {stray:?}");
    // new code, old state (code_change turned the integer into a map)
    assert_eq!(
        rel.rpc("IO.puts Upapp.Counter.info()"),
        "v2 count=2 since=upgrade"
    );
    // runtime.exs's value (from the node's environment) survived; the built sys.config is back
    assert_eq!(
        rel.rpc("IO.puts Application.get_env(:upapp, :runtime_greeting)"),
        "hello"
    );
    let built_sys = std::fs::read_to_string(rel.root.join("releases/0.2.0/sys.config")).unwrap();
    assert!(
        built_sys.contains("config_provider_init") && !built_sys.contains("hello"),
        "{built_sys}"
    );
    assert_eq!(
        rel.ok(&["versions"]),
        "Installed versions:\n* 0.2.0\tpermanent\n* 0.1.0\told\n"
    );
    // beamrc is still bin/upapp (release_handler does not overwrite existing files)
    let bin = std::fs::read(rel.root.join("bin").join(APP)).unwrap();
    assert!(bin.starts_with(b"\x7fELF"), "bin/upapp is no longer beamrc");

    // permanent: a restart boots 0.2.0, with its configuration computed afresh
    rel.ok(&["stop"]);
    rel.daemon("again");
    assert_eq!(
        rel.rpc("IO.puts Upapp.Counter.info()"),
        "v2 count=0 since=0.2.0"
    );
    assert_eq!(
        rel.rpc("IO.puts Application.get_env(:upapp, :runtime_greeting)"),
        "again"
    );
    assert_eq!(
        rel.rpc("Upapp.Counter.bump(); IO.puts Upapp.Counter.bump()"),
        "2"
    );

    // downgrade back to 0.1.0
    let out = rel.run(&["downgrade", "0.1.0"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Release 0.1.0 is marked old, switching to it.",
            "Installed Release: 0.1.0",
            "Made release permanent: \"0.1.0\"",
        ]
    );
    assert_eq!(rel.rpc("IO.puts Upapp.Counter.info()"), "v1 count=2");
    assert_eq!(
        rel.rpc("IO.puts Application.get_env(:upapp, :runtime_greeting)"),
        "again"
    );
    assert_eq!(
        std::fs::read_to_string(rel.root.join("releases/start_erl.data"))
            .unwrap()
            .trim(),
        format!("{} 0.1.0", erts_vsn(&rel.root))
    );

    // uninstall: refused for the running one, done for the old one
    let out = rel.run(&["uninstall", "0.1.0"], &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(2), "Uninstall failed: Release 0.1.0 is running.\n")
    );
    let out = rel.run(&["uninstall", "0.2.0"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        lines(&out.stdout),
        [
            "Release 0.2.0 is marked old, uninstalling it.",
            "Uninstalled Release: 0.2.0"
        ]
    );
    assert!(!rel.root.join("lib/upapp-0.2.0").exists());
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    // the same version again: relx's answers
    let out = rel.run(&["install", "0.1.0"], &[]);
    assert_eq!(
        out.stdout,
        "Release 0.1.0 is already installed, running and set permanent.\n"
    );
    let out = rel.run(&["install"], &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("Missing version argument")
            && out.stderr.contains("Usage: upapp install {version}"),
        "{out}"
    );
}

fn erts_vsn(root: &Path) -> String {
    let data = std::fs::read_to_string(root.join("releases/start_erl.data")).unwrap();
    data.split_whitespace().next().unwrap().to_string()
}

/// A copy of the 0.2.0 root with `change` applied, packed (`lib releases`) as `name`.
fn package_with(
    rel: &UpRelease,
    name: &str,
    entries: &[&str],
    change: impl FnOnce(&Path),
) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let work = rel.dir.join(format!("pkg-{n}"));
    let mut cp = std::process::Command::new("cp");
    cp.arg("-a").arg(&built().v2).arg(&work);
    assert!(cp.status().unwrap().success());
    change(&work);
    let to = rel.root.join("releases").join(name);
    tar(&to, &work, entries);
    to
}

#[track_caller]
fn refused(rel: &UpRelease, vsn: &str, code: i32, needle: &str) {
    let out = rel.run(&["install", vsn], &[]);
    assert_eq!(out.code, Some(code), "{out}");
    assert!(
        out.stderr.contains("ERROR: ") && out.stderr.contains(needle),
        "want {needle:?}:\n{out}"
    );
    // untouched: release_handler knows only 0.1.0, nothing unpacked or registered
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    assert!(
        !rel.root.join("releases/RELEASES").exists(),
        "RELEASES written"
    );
    assert!(!rel.root.join("lib/upapp-0.2.0").exists(), "0.2.0 unpacked");
    assert_eq!(rel.rpc("IO.puts Upapp.Counter.info()"), "v1 count=1");
}

#[test]
fn every_pre_check_refuses_before_the_node_changes() {
    let rel = UpRelease::new(None);
    rel.daemon("hello");
    rel.rpc("IO.puts Upapp.Counter.bump()");
    let releases = rel.root.join("releases");
    refused(
        &rel,
        "0.2.0",
        2,
        "no package for upapp 0.2.0: looked for releases/upapp-0.2.0.tar.gz, releases/0.2.0/upapp-0.2.0.tar.gz, releases/0.2.0/upapp.tar.gz",
    );

    // check --upgrade: the refusal's line and code; with --json, check's one error finding
    let out = rel.run(&["check", "--upgrade", "0.2.0"], &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stdout.is_empty()
            && out.stderr.starts_with(
                "ERROR: no package for upapp 0.2.0: looked for releases/upapp-0.2.0.tar.gz,"
            ),
        "{out}"
    );
    let out = rel.run(&["check", "--upgrade", "0.2.0", "--json"], &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stdout.starts_with("{\"ok\":false,\"exit_code\":2,\"findings\":[{\"level\":\"error\",\"check\":\"upgrade.package\",\"what\":\"no package for upapp 0.2.0: looked for releases/upapp-0.2.0.tar.gz,")
            && out.stdout.ends_with("\"where\":null,\"hint\":null}]}\n")
            && !out.stderr.contains("ERROR"),
        "{out}"
    );
    let out = rel.run(&["check", "--upgrade", "0.2.0", "--jsn"], &[]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr.contains(
            "ERROR: unknown check --upgrade option \"--jsn\" (usage: check --upgrade VSN [--json])"
        ),
        "{out}"
    );

    let p = package_with(&rel, "upapp-0.2.0.tar.gz", &["./lib", "./releases"], |_| {});
    refused(&rel, "0.2.0", 2, "its entries start with `./`");
    let out = rel.run(
        &["check", "--upgrade", "0.2.0"],
        &[("BEAMRC_CHECK_FORMAT", "json")],
    );
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stdout.contains("\"check\":\"upgrade.package\",\"what\":\"releases/upapp-0.2.0.tar.gz: its entries start with `./`")
            && out.stdout.ends_with("\"hint\":\"pack it again from the release root without the prefix (tar -czf PACKAGE lib releases …)\"}]}\n"),
        "{out}"
    );

    std::fs::remove_file(&p).unwrap();
    let p = rel.put_package(&built().package, "upapp-0.3.0.tar.gz");
    refused(
        &rel,
        "0.3.0",
        2,
        "has no releases/0.3.0/upapp.rel (release_handler reads the release's name and version from it); its release files: releases/0.2.0/upapp.rel",
    );
    std::fs::remove_file(&p).unwrap();
    let p = package_with(&rel, "upapp-0.3.0.tar.gz", &["lib", "releases"], |w| {
        std::fs::rename(w.join("releases/0.2.0"), w.join("releases/0.3.0")).unwrap();
    });
    refused(&rel, "0.3.0", 2, "is release upapp 0.2.0, not upapp 0.3.0");
    std::fs::remove_file(&p).unwrap();

    let p = package_with(&rel, "upapp-0.2.0.tar.gz", &["lib", "releases"], |w| {
        let relup = w.join("releases/0.2.0/relup");
        let text = std::fs::read_to_string(&relup)
            .unwrap()
            .replacen("\"0.1.0\"", "\"0.0.9\"", 1);
        std::fs::write(relup, text).unwrap();
    });
    refused(&rel, "0.2.0", 3, "{no_matching_relup,\"0.2.0\",\"0.1.0\"}");
    std::fs::remove_file(&p).unwrap();

    let p = package_with(&rel, "upapp-0.2.0.tar.gz", &["lib", "releases"], |w| {
        std::fs::write(
            w.join("releases/0.2.0/sys.config"),
            "[{upapp, [\n  {greeting, fun() -> x end}]}].\n",
        )
        .unwrap();
    });
    refused(
        &rel,
        "0.2.0",
        3,
        "releases/0.2.0/sys.config in the package releases/upapp-0.2.0.tar.gz does not parse (line 2",
    );
    std::fs::remove_file(&p).unwrap();

    let p = package_with(&rel, "upapp-0.2.0.tar.gz", &["releases"], |_| {});
    refused(
        &rel,
        "0.2.0",
        3,
        "neither in the package nor installed: lib/upapp-0.2.0",
    );
    std::fs::remove_file(&p).unwrap();

    rel.put_package(&built().package, "upapp-0.2.0.tar.gz");
    std::fs::create_dir_all(releases.join("0.2.0")).unwrap();
    std::fs::write(releases.join("0.2.0/start.boot"), "left over").unwrap();
    refused(
        &rel,
        "0.2.0",
        2,
        "holds a release release_handler does not know",
    );
    std::fs::remove_dir_all(releases.join("0.2.0")).unwrap();

    let beam = rel
        .root
        .join("lib/upapp-0.1.0/ebin/Elixir.Upapp.Counter.beam");
    let original = std::fs::read(&beam).unwrap();
    std::fs::write(&beam, strip_attr(&original)).unwrap();
    refused(&rel, "0.2.0", 3, "missing_chunk");
    std::fs::write(&beam, original).unwrap();

    // all fixed: the checks alone pass and change nothing, then the package installs
    let out = rel.run(&["install", "0.2.0", "--check"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .contains("checked: releases/0.2.0/relup upgrades from 0.1.0")
            && out
                .stdout
                .ends_with("upapp 0.2.0: every check passed, nothing was changed\n"),
        "{out}"
    );
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    let out = rel.run(&["check", "--upgrade", "0.2.0"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("every check passed"), "{out}");
    // the same checks as check's JSON: one ok finding per `checked:` line, in order
    let json = rel.run(&["check", "--upgrade", "0.2.0", "--json"], &[]);
    assert_eq!(json.code, Some(0), "{json}");
    let want: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("checked: "))
        .map(|l| format!("\"what\":\"{l}\""))
        .collect();
    let got: Vec<&str> = json.stdout.split("{\"level\":").skip(1).collect();
    assert!(
        json.stdout.starts_with(
            "{\"ok\":true,\"exit_code\":0,\"findings\":[{\"level\":\"ok\",\"check\":\"upgrade.package\","
        ) && json.stdout.ends_with("}]}\n")
            && got.len() == want.len()
            && got.iter().zip(&want).all(|(f, w)| f.starts_with("\"ok\"") && f.contains(w.as_str()))
            && json.stdout.contains(
                "\"check\":\"upgrade.relup\",\"what\":\"releases/0.2.0/relup upgrades from 0.1.0\""
            ),
        "{json}\n{out}"
    );
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    let out = rel.run(&["install", "0.2.0", "--no-permanent"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(!out.stdout.contains("Made release permanent"), "{out}");
    assert_eq!(
        rel.ok(&["versions"]),
        "Installed versions:\n* 0.2.0\tcurrent\n* 0.1.0\tpermanent\n"
    );
}

#[test]
fn a_failing_check_removes_the_version_beamrc_unpacked() {
    let rel = UpRelease::new(None);
    rel.daemon("hello");
    rel.rpc("IO.puts Upapp.Counter.bump()");
    // the relup loads a module the package does not have: only check_install_release sees it
    package_with(&rel, "upapp-0.2.0.tar.gz", &["lib", "releases"], |w| {
        let relup = w.join("releases/0.2.0/relup");
        let text = std::fs::read_to_string(&relup).unwrap().replacen(
            "['Elixir.Upapp.Counter']}}",
            "['Elixir.Upapp.Counter','Elixir.Upapp.Gone']}}",
            1,
        );
        std::fs::write(relup, text).unwrap();
    });
    let out = rel.run(&["install", "0.2.0"], &[]);
    assert_eq!(out.code, Some(3), "{out}");
    assert!(
        out.stdout
            .contains("ERROR: release_handler:check_install_release failed: {no_such_file,"),
        "{out}"
    );
    assert!(out.stderr.contains("removed release 0.2.0 again"), "{out}");
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    assert!(!rel.root.join("lib/upapp-0.2.0").exists());
    assert_eq!(rel.rpc("IO.puts Upapp.Counter.info()"), "v1 count=1");
}

#[test]
fn a_release_inside_build_is_refused() {
    let rel = UpRelease::new(Some("_build/prod/rel"));
    rel.daemon("hello");
    rel.put_package(&built().package, "upapp-0.2.0.tar.gz");
    let out = rel.run(&["install", "0.2.0"], &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("is inside a _build directory"), "{out}");
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
}

/// A reboot release (`reboot_system_after_config: true`): after the upgrade is made
/// permanent, a restart of the node (`init:restart`, `System.restart()`) boots the new
/// version with the configuration computed for it (its built sys.config would run the
/// providers a second time in the same OS process: Elixir aborts that boot as a loop).
#[test]
fn a_reboot_release_restarts_into_the_permanent_version() {
    let rel = UpRelease::of(built_reboot(), None);
    rel.daemon("hello");
    assert_eq!(rel.rpc("IO.puts Upapp.Counter.bump()"), "1");
    rel.put_package(&built_reboot().package, &format!("{APP}-0.2.0.tar.gz"));
    for (vsn, info) in [("0.2.0", "v2 count=0 since=0.2.0"), ("0.1.0", "v1 count=0")] {
        let out = rel.run(&["install", vsn], &[]);
        assert_eq!(out.code, Some(0), "{out}");
        assert!(
            out.stderr.contains(&format!(
                "a restart of the node (init:restart) boots {vsn} with its computed configuration"
            )),
            "{out}"
        );
        rel.rpc("System.restart()");
        let after = crate::support::wait_for(
            std::time::Duration::from_secs(60),
            "the node is back after System.restart()",
            || {
                let o = rel.run(&["rpc", "IO.puts Upapp.Counter.info()"], &[]);
                (o.code == Some(0) && o.stdout.trim() == info).then_some(o.stdout)
            },
        );
        assert_eq!(after.trim(), info);
        assert_eq!(
            rel.rpc("IO.puts Application.get_env(:upapp, :runtime_greeting)"),
            "hello"
        );
        // one restart configuration is left in RELEASE_TMP: this version's
        let ours: Vec<_> = std::fs::read_dir(rel.root.join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("-beamrc") && n.ends_with(".runtime.config"))
            .collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert!(
            ours[0].starts_with(&format!("{APP}-{vsn}-beamrc-{APP}@")),
            "{ours:?}"
        );
    }
    rel.ok(&["stop"]);
}
