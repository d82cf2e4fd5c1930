//! Hot upgrade and downgrade of a running rebar3/relx release through beamrc (relx's
//! commands, native): 0.1.0 → `upgrade 0.2.0` (the gen_server's state converted by
//! `code_change`) → `downgrade 0.1.0` (the old code answers, the state converted back);
//! the pre-checks refuse with the node untouched; the dry run shows the native steps.
use crate::support::upgrade::UpRelease;
use crate::support::upgrade_relx::{NAME, built, deployed, repack};

const V1_ONLY: &str = "Installed versions:\n* 0.1.0\tpermanent\n";

/// What a refused command must leave: the versions, nothing of 0.2.0 on disk (no copy
/// under a temp name either), the process and its state.
#[track_caller]
fn untouched(rel: &UpRelease) {
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    assert!(!rel.root.join("releases/0.2.0").exists(), "releases/0.2.0");
    let leftovers: Vec<_> = std::fs::read_dir(rel.root.join("releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("beamrc"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    assert_eq!(rel.eval("upr_counter:info()."), "{v1, 2}");
}

#[track_caller]
fn refused(rel: &UpRelease, code: i32, needle: &str) {
    let out = rel.run(&["upgrade", "0.2.0"], &[]);
    assert_eq!(out.code, Some(code), "{out}");
    assert!(out.stderr.contains(needle), "{needle:?} in:\n{out}");
    untouched(rel);
}

#[test]
fn relx_upgrade_then_downgrade_runs_the_old_code_again() {
    let rel = deployed();
    rel.ok(&["daemon"]);
    assert_eq!(rel.ok(&["versions"]), V1_ONLY);
    assert_eq!(
        rel.eval("upr_counter:bump(), upr_counter:bump(), upr_counter:info()."),
        "{v1, 2}"
    );

    // the pre-check matrix: each refused, nothing changed
    refused(
        &rel,
        2,
        "no package for upr 0.2.0: looked for releases/upr-0.2.0.tar.gz",
    );
    repack(&rel, |_| {}, &["."]);
    refused(&rel, 2, "its entries start with `./`");
    repack(
        &rel,
        |dir| std::fs::remove_file(dir.join("releases/0.2.0/relup")).unwrap(),
        &["lib", "releases", "bin"],
    );
    refused(&rel, 3, "no relup instruction moves 0.1.0 to 0.2.0");
    repack(
        &rel,
        |dir| {
            let rel_file = dir.join("releases/0.2.0/upr.rel");
            let text = std::fs::read_to_string(&rel_file).unwrap();
            std::fs::write(&rel_file, text.replace("\"0.2.0\"", "\"0.3.0\"")).unwrap();
        },
        &["lib", "releases", "bin"],
    );
    refused(&rel, 2, "is release upr 0.3.0, not upr 0.2.0");

    std::fs::copy(&built().v2, rel.root.join("releases/upr-0.2.0.tar.gz")).unwrap();
    // the dry run shows the native steps, not install_upgrade.escript
    let dry = rel.run(&["upgrade", "0.2.0"], &[("BEAMRC_DRY_RUN", "1")]);
    assert_eq!(dry.code, Some(0), "{dry}");
    assert!(
        dry.stdout
            .contains("install_release(\"0.2.0\", [{update_paths, true}])")
            && dry
                .stdout
                .contains(&format!("keep bin/{NAME}-0.2.0 as the kept script"))
            && !dry.stdout.contains("install_upgrade.escript"),
        "{dry}"
    );
    untouched(&rel);
    // the checks alone, both spellings: nothing installed, no hooks, the kept script stays
    let kept_script = rel.root.join(format!("bin/{NAME}.sh"));
    let before = std::fs::read(&kept_script).unwrap();
    // 0.2.0's versioned script already there (as after an earlier upgrade and uninstall)
    let script = format!("bin/{NAME}-0.2.0");
    let tar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&built().v2)
        .arg("-C")
        .arg(&rel.root)
        .arg(&script)
        .status()
        .unwrap();
    assert!(tar.success(), "tar -x {script}");
    let check = rel.run(&["install", "0.2.0", "--check"], &[]);
    assert_eq!(check.code, Some(0), "{check}");
    assert!(
        check
            .stdout
            .contains("upr 0.2.0: every check passed, nothing was changed"),
        "{check}"
    );
    let check = rel.run(&["check", "--upgrade", "0.2.0", "--json"], &[]);
    assert_eq!(check.code, Some(0), "{check}");
    assert!(
        check
            .stdout
            .starts_with("{\"ok\":true,\"exit_code\":0,\"findings\":[")
            && check.stdout.contains("\"check\":\"upgrade.relup\""),
        "{check}"
    );
    assert_eq!(
        std::fs::read(&kept_script).unwrap(),
        before,
        "a check leaves the kept script as it was"
    );
    untouched(&rel);

    let up = rel.run(&["upgrade", "0.2.0"], &[]);
    assert_eq!(up.code, Some(0), "{up}");
    assert_eq!(
        up.stdout.lines().collect::<Vec<_>>(),
        [
            "Release 0.2.0 not found, attempting to unpack releases/upr-0.2.0.tar.gz",
            "Unpacked successfully: \"0.2.0\"",
            "Installed Release: 0.2.0",
            "Made release permanent: \"0.2.0\"",
        ]
    );
    assert!(
        up.stderr
            .contains("beamrc: read package releases/upr-0.2.0.tar.gz ("),
        "{up}"
    );
    assert_eq!(rel.eval("upr_counter:info()."), "{v2, 2, upgrade}");
    assert_eq!(
        rel.ok(&["versions"]),
        "Installed versions:\n* 0.2.0\tpermanent\n* 0.1.0\told\n"
    );
    assert_eq!(
        rel.eval("upr_counter:bump(), upr_counter:info()."),
        "{v2, 3, upgrade}"
    );

    let down = rel.run(&["downgrade", "0.1.0"], &[]);
    assert_eq!(down.code, Some(0), "{down}");
    assert_eq!(
        down.stdout.lines().collect::<Vec<_>>(),
        [
            "Release 0.1.0 is marked old, switching to it.",
            "Installed Release: 0.1.0",
            "Made release permanent: \"0.1.0\"",
        ]
    );
    // the old code answers, with the state code_change({down, _}, …) gave back
    assert_eq!(rel.eval("upr_counter:info()."), "{v1, 3}");
    let versions = rel.ok(&["versions"]);
    assert!(
        versions.contains("* 0.1.0\tpermanent\n") && versions.contains("* 0.2.0\told\n"),
        "{versions}"
    );
    let kept = std::fs::read_to_string(rel.root.join(format!("bin/{NAME}.sh"))).unwrap();
    assert!(
        kept.contains("REL_VSN=\"0.1.0\""),
        "the kept script follows the permanent version"
    );
    assert!(
        std::fs::read(rel.root.join(format!("bin/{NAME}")))
            .unwrap()
            .starts_with(b"\x7fELF"),
        "bin/{NAME} is still beamrc"
    );
    rel.ok(&["stop"]);
}
