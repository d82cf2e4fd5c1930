//! Hooks and custom commands for Mix releases (`releases/VSN/hooks/PHASE.d/*`,
//! `releases/VSN/commands/NAME`), end to end with a real `mix release`.
use crate::support::{Fixture, TestRelease};

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn relx_mix_hooks_run_around_daemon_and_stop() {
    let rel = TestRelease::new(Fixture::Plain);
    crate::support::install_with_beamrc(&rel);
    std::fs::set_permissions(
        rel.root.join("releases/COOKIE"),
        std::os::unix::fs::PermissionsExt::from_mode(0o400),
    )
    .unwrap();
    let vsn = rel.version_dir();
    for phase in ["pre_start", "post_start", "pre_stop", "post_stop"] {
        write(
            &vsn.join(format!("hooks/{phase}.d/10-log")),
            &format!("echo \"{phase} $RELEASE_NAME $RELEASE_NODE $1\" >> hooklog\n"),
        );
    }
    write(
        &vsn.join("hooks/pre_start.d/20-second"),
        "echo second >> hooklog\n",
    );
    write(
        &vsn.join("commands/hello"),
        "echo \"hello $RELEASE_NAME $*\"\nexit 3\n",
    );
    write(&vsn.join("commands/noexit"), "echo ran\n");

    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(0), "{out}");
    let out = rel.run(&rel.bin(), &["stop"], &[], None);
    assert_eq!(out.code, Some(0), "{out}");
    let log = std::fs::read_to_string(rel.root.join("hooklog")).unwrap();
    assert_eq!(
        log,
        "pre_start demo demo \nsecond\npost_start demo demo \npre_stop demo demo \npost_stop demo demo \n"
    );

    let out = rel.run(&rel.bin(), &["hello", "a", "b c"], &[], None);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(3), "hello demo a b c\n"),
        "{out}"
    );
    let out = rel.run(&rel.bin(), &["noexit"], &[], None);
    assert_eq!((out.code, out.stdout.as_str()), (Some(1), "ran\n"), "{out}");
    // a failing pre_start hook stops the start with its status
    write(&vsn.join("hooks/pre_start.d/30-fail"), "exit 7\n");
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(7), "{out}");
    // unknown words are still unknown
    let out = rel.run(&rel.bin(), &["nope"], &[], None);
    assert_eq!(out.code, Some(1), "{out}");
}
