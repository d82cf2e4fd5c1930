use super::*;
use std::collections::BTreeMap;

/// The release directory as a map of files (directories are implied by their files).
struct Fake(BTreeMap<PathBuf, Vec<u8>>);

impl Files for Fake {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        self.0.get(path).cloned()
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.0.keys().any(|k| k.starts_with(path) && k != path)
    }
}

const ROOT: &str = "/srv/demo";

fn rel(vsn: &str, app_vsn: &str) -> String {
    format!(
        "{{release,{{\"demo\",\"{vsn}\"}},{{erts,\"13.1.5\"}},[{{kernel,\"8.5.3\"}},{{demo,\"{app_vsn}\"}}]}}."
    )
}

const RELUP: &str = "{\"0.2.0\",[{\"0.1.0\",[],[{load_object_code,{demo,\"0.2.0\",[demo_srv]}},point_of_no_return,{load,{demo_srv,brutal_purge,brutal_purge}}]}],[{\"0.1.0\",[],[]}]}.";

/// The running 0.1.0 on disk.
fn disk(stripped: bool) -> Fake {
    let mut m = BTreeMap::new();
    let root = Path::new(ROOT);
    m.insert(
        root.join("releases/0.1.0/demo.rel"),
        rel("0.1.0", "0.1.0").into_bytes(),
    );
    m.insert(root.join("lib/kernel-8.5.3/ebin/kernel.app"), b"x".to_vec());
    m.insert(root.join("lib/demo-0.1.0/ebin/demo.app"), b"x".to_vec());
    let chunks: &[&str] = if stripped {
        &["Code"]
    } else {
        &["Code", "Attr"]
    };
    m.insert(
        root.join("lib/demo-0.1.0/ebin/demo_srv.beam"),
        crate::upgrade::beam::tests::beam(chunks),
    );
    Fake(m)
}

fn package(files: &[(&str, &str)]) -> Package {
    Package {
        entries: files.iter().map(|(n, _)| n.to_string()).collect(),
        files: files
            .iter()
            .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
            .collect(),
        ..Package::default()
    }
}

fn good() -> Vec<(&'static str, String)> {
    vec![
        ("lib/demo-0.2.0/ebin/demo.app", "x".into()),
        ("releases/0.2.0/demo.rel", rel("0.2.0", "0.2.0")),
        ("releases/0.2.0/relup", RELUP.into()),
        ("releases/0.2.0/sys.config", "[{demo,[{a,1}]}].".into()),
        ("releases/0.2.0/start.boot", "x".into()),
        ("bin/demo", "#!/bin/sh".into()),
    ]
}

fn check_with(files: Vec<(&str, String)>, disk: &Fake, root: &str) -> Result<Passed, Refusal> {
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let pkg = package(&borrowed);
    let path = PathBuf::from("releases/demo-0.2.0.tar.gz");
    let facts = Facts {
        root: Path::new(root),
        name: "demo",
        target: "0.2.0",
        running: "0.1.0",
        package: Some((&path, &pkg)),
    };
    run(&facts, disk)
}

fn refused(files: Vec<(&str, String)>, disk: &Fake) -> Refusal {
    check_with(files, disk, ROOT).unwrap_err()
}

fn replace(name: &str, text: &str) -> Vec<(&'static str, String)> {
    good()
        .into_iter()
        .map(|(n, t)| {
            if n == name {
                (n, text.to_string())
            } else {
                (n, t)
            }
        })
        .collect()
}

#[test]
fn a_good_package_passes_and_keeps_bin_out() {
    let passed = check_with(good(), &disk(false), ROOT).unwrap();
    assert_eq!(passed.direction, Direction::Up);
    assert_eq!(passed.outside, vec!["bin/demo".to_string()]);
    assert!(
        passed
            .checked
            .iter()
            .any(|c| c.line.contains("upgrades from 0.1.0")),
        "{:?}",
        passed.checked
    );
    // one stable id per passed check, in the order they ran
    let ids: Vec<&str> = passed.checked.iter().map(|c| c.check).collect();
    assert_eq!(
        ids,
        [
            "upgrade.package",
            "upgrade.rel",
            "upgrade.relup",
            "upgrade.contents",
            "upgrade.sys_config",
            "upgrade.attr"
        ]
    );
    assert!(passed.sys_config.unwrap().contains("{a,1}"));
}

#[test]
fn dot_slash_entries_are_refused() {
    let files = good()
        .into_iter()
        .map(|(n, t)| {
            (
                if n.starts_with("releases/0.2.0/demo.rel") {
                    "./releases/0.2.0/demo.rel"
                } else {
                    n
                },
                t,
            )
        })
        .collect();
    let r = refused(files, &disk(false));
    assert_eq!((r.code, r.check), (2, "upgrade.package"));
    let hint = r.hint.as_deref().unwrap_or_default();
    assert!(
        hint.starts_with("pack it again") && r.text.ends_with(hint),
        "{r:?}"
    );
    assert!(
        r.text.contains("./releases/0.2.0/demo.rel") && r.text.contains("enoent"),
        "{}",
        r.text
    );
}

#[test]
fn the_rel_file_must_name_the_version_asked_for() {
    let r = refused(
        replace("releases/0.2.0/demo.rel", &rel("0.3.0", "0.2.0")),
        &disk(false),
    );
    assert!(
        r.text.contains("is release demo 0.3.0, not demo 0.2.0"),
        "{}",
        r.text
    );
    let mut files = good();
    files.retain(|(n, _)| !n.ends_with(".rel"));
    assert!(
        refused(files, &disk(false))
            .text
            .contains("has no releases/0.2.0/demo.rel")
    );
}

#[test]
fn a_relup_without_the_running_version_is_refused() {
    let r = refused(
        replace(
            "releases/0.2.0/relup",
            &RELUP.replace("\"0.1.0\",[],[{load", "\"0.1.5\",[],[{load"),
        ),
        &disk(false),
    );
    assert_eq!((r.code, r.check, r.hint), (3, "upgrade.relup", None));
    assert!(
        r.text.contains("upgrades from 0.1.5")
            && r.text.contains("{no_matching_relup,\"0.2.0\",\"0.1.0\"}"),
        "{}",
        r.text
    );
    let mut files = good();
    files.retain(|(n, _)| !n.ends_with("relup"));
    assert!(
        refused(files, &disk(false))
            .text
            .contains("there is no releases/0.2.0/relup")
    );
}

#[test]
fn missing_applications_and_erts_are_refused() {
    let r = refused(
        replace(
            "releases/0.2.0/demo.rel",
            &rel("0.2.0", "0.2.0").replace("8.5.3", "9.0"),
        ),
        &disk(false),
    );
    assert!(r.text.contains("lib/kernel-9.0"), "{}", r.text);
    assert_eq!(
        (r.check, r.hint.as_deref()),
        (
            "upgrade.contents",
            Some("include the system libraries in the package")
        )
    );
    let r = refused(
        replace(
            "releases/0.2.0/demo.rel",
            &rel("0.2.0", "0.2.0").replace("13.1.5", "14.0"),
        ),
        &disk(false),
    );
    assert!(r.text.contains("needs ERTS 14.0"), "{}", r.text);
}

#[test]
fn a_sys_config_that_does_not_parse_is_refused() {
    let r = refused(
        replace(
            "releases/0.2.0/sys.config",
            "[{demo, [{a, fun() -> 1 end}]}].\n",
        ),
        &disk(false),
    );
    assert_eq!(r.check, "upgrade.sys_config");
    assert!(
        r.text.contains("does not parse (line 1") && r.text.contains("[]"),
        "{}",
        r.text
    );
}

#[test]
fn inside_build_is_refused() {
    let r = check_with(good(), &disk(false), "/p/_build/prod/rel/demo").unwrap_err();
    assert!(r.text.contains("inside a _build directory"), "{}", r.text);
    assert_eq!(r.check, "upgrade.location");
}

#[test]
fn a_half_unpacked_version_is_refused() {
    let mut d = disk(false);
    d.0.insert(
        Path::new(ROOT).join("releases/0.2.0/start.boot"),
        b"x".to_vec(),
    );
    let r = refused(good(), &d);
    assert_eq!(
        (r.check, r.hint.as_deref()),
        (
            "upgrade.leftover",
            Some("Remove it first (rm -r /srv/demo/releases/0.2.0) and run the command again")
        )
    );
    assert!(
        r.text.contains("rm -r /srv/demo/releases/0.2.0"),
        "{}",
        r.text
    );
}

#[test]
fn stripped_running_modules_are_refused() {
    let r = refused(good(), &disk(true));
    assert_eq!(r.check, "upgrade.attr");
    assert!(r.text.ends_with(r.hint.as_deref().unwrap_or("?")), "{r:?}");
    assert!(
        r.text.contains("demo_srv.beam") && r.text.contains("missing_chunk"),
        "{}",
        r.text
    );
}

#[test]
fn a_downgrade_reads_the_running_relup() {
    let mut d = disk(false);
    let root = Path::new(ROOT);
    d.0.insert(
        root.join("releases/0.2.0/demo.rel"),
        rel("0.2.0", "0.2.0").into_bytes(),
    );
    d.0.insert(root.join("releases/0.2.0/relup"), RELUP.as_bytes().to_vec());
    let facts = Facts {
        root,
        name: "demo",
        target: "0.1.0",
        running: "0.2.0",
        package: None,
    };
    let passed = run(&facts, &d).unwrap();
    assert_eq!(passed.direction, Direction::Down);
    assert!(passed.outside.is_empty());
}

#[test]
fn safe_entries() {
    for ok in [
        "lib/x-1/ebin/x.beam",
        "releases/0.2.0/relup",
        "releases/",
        "erts-13.1.5/bin/beam.smp",
        "releases/demo.rel",
    ] {
        assert!(safe_entry(ok, "0.2.0", "demo"), "{ok}");
    }
    for bad in [
        "bin/demo",
        "releases/start_erl.data",
        "releases/COOKIE",
        "releases/0.1.0/sys.config",
    ] {
        assert!(!safe_entry(bad, "0.2.0", "demo"), "{bad}");
    }
}
