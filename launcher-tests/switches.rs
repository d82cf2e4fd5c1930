//! beamrc's own switches against a real release: read once, before anything happens, from
//! the caller's environment, the env files and env.sh, with one boolean grammar (issue 8).
use crate::support::{Fixture, installed, ok};

#[test]
fn a_bad_switch_stops_nothing() {
    let rel = installed(Fixture::Plain);
    ok(&rel.run(&rel.bin(), &["daemon"], &[], None));
    let pid = ok(&rel.run(&rel.bin(), &["pid"], &[], None)).to_string();
    for cmd in ["stop", "restart"] {
        let out = rel.run(
            &rel.bin(),
            &[cmd],
            &[
                ("BEAMRC_STOP_TIMEOUT", "abc"),
                ("BEAMRC_START_TIMEOUT", "abc"),
            ],
            None,
        );
        assert_eq!(out.code, Some(4), "{cmd}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("ERROR: BEAMRC_") && out.stderr.contains("\"abc\""),
            "{}",
            out.stderr
        );
    }
    let huge = rel.run(
        &rel.bin(),
        &["stop"],
        &[("BEAMRC_STOP_TIMEOUT", "99999999999999999999")],
        None,
    );
    assert_eq!(huge.code, Some(4), "{}", huge.stderr);
    // Still the same node: nothing was sent.
    assert_eq!(ok(&rel.run(&rel.bin(), &["pid"], &[], None)), pid);
    ok(&rel.run(&rel.bin(), &["stop"], &[], None));
}

#[test]
fn booleans_and_env_files() {
    let rel = installed(Fixture::Plain);
    let version = rel.run(
        &rel.bin(),
        &["version"],
        &[("BEAMRC_DRY_RUN", "false")],
        None,
    );
    assert_eq!(ok(&version), "demo 0.1.0\n");
    let bad = rel.run(
        &rel.bin(),
        &["version"],
        &[("BEAMRC_DRY_RUN", "maybe")],
        None,
    );
    assert_eq!(bad.code, Some(4), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("BEAMRC_DRY_RUN=\"maybe\""),
        "{}",
        bad.stderr
    );

    let native_off = rel.run(
        &rel.bin(),
        &["pid"],
        &[("BEAMRC_NATIVE", "false"), ("BEAMRC_DRY_RUN", "1")],
        None,
    );
    assert!(
        ok(&native_off).contains("route hidden VM (BEAMRC_NATIVE=0)"),
        "{}",
        native_off.stdout
    );

    let init = rel.run(
        &rel.bin(),
        &["start"],
        &[("BEAMRC_INIT", "1"), ("BEAMRC_DRY_RUN", "1")],
        None,
    );
    let text = ok(&init);
    assert!(text.contains("init mode (BEAMRC_INIT)"), "{text}");
    assert!(text.contains("\nsupervise "), "{text}");
    assert!(!text.contains("\nexec "), "{text}");

    // BEAMRC_LOG from release.env is honoured like every other switch.
    std::fs::write(
        rel.root.join("releases/0.1.0/release.env"),
        "BEAMRC_LOG=debug\nBEAMRC_DRY_RUN=yes\n",
    )
    .unwrap();
    let traced = rel.run(&rel.bin(), &["pid"], &[], None);
    assert!(ok(&traced).contains("route native"), "{}", traced.stdout);
    assert!(
        traced.stderr.contains("plan"),
        "no trace: {}",
        traced.stderr
    );
}

/// issue 15: a dry run still sources env.sh (what it sets is part of the plan) and says so.
#[test]
fn dry_run_says_env_sh_ran() {
    let rel = installed(Fixture::EnvSh);
    let out = rel.run(&rel.bin(), &["start"], &[("BEAMRC_DRY_RUN", "1")], None);
    let text = ok(&out);
    assert!(
        text.starts_with("note: ") && text.contains("env.sh was run"),
        "{text}"
    );
    let plain = installed(Fixture::Plain);
    let out = plain.run(&plain.bin(), &["start"], &[("BEAMRC_DRY_RUN", "1")], None);
    assert!(!ok(&out).contains("env.sh"), "{}", out.stdout);
}
