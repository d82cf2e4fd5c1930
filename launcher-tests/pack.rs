//! `beamrc pack`: one executable holding beamrc and a real `mix release` (with its ERTS),
//! copied to a fresh directory and run from there — first runs, warm runs, damage, races,
//! a read-only cache, reproducibility.
use crate::support::{Fixture, TestRelease, beamrc_bin, ok, wait_until};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A test release copy packed into `DIR/packed/NAME`, and that file copied alone to
/// `DIR/elsewhere/NAME`; `cache` is the `BEAMRC_PACK_DIR` used by every run.
struct Packed {
    rel: TestRelease,
    file: PathBuf,
    cache: PathBuf,
}

impl Packed {
    fn new(f: Fixture) -> Packed {
        let rel = TestRelease::new(f);
        let packed = pack(&rel, &rel.root, &rel.dir.join("packed"));
        let elsewhere = rel.dir.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let file = elsewhere.join(&rel.name);
        crate::support::copy_executable(&packed, &file);
        let cache = rel.dir.join("cache");
        Packed { rel, file, cache }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> crate::support::RunOutput {
        let cache = self.cache.to_str().unwrap();
        let mut all = vec![("BEAMRC_PACK_DIR", cache)];
        all.extend_from_slice(env);
        self.rel.run(&self.file, args, &all, None)
    }

    /// The one extracted entry (panics unless there is exactly one).
    fn entry(&self) -> PathBuf {
        let entries = entries(&self.cache);
        assert_eq!(entries.len(), 1, "{entries:?}");
        self.cache.join(&entries[0])
    }
}

/// `beamrc pack ROOT -o OUT_DIR` (a directory: the file is OUT_DIR/NAME).
fn pack(rel: &TestRelease, root: &Path, out_dir: &Path) -> PathBuf {
    std::fs::create_dir_all(out_dir).unwrap();
    let out = rel.run(
        &beamrc_bin(),
        &[
            "pack",
            root.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
        &[],
        None,
    );
    let report = ok(&out);
    assert!(report.starts_with("packed "), "{report}");
    out_dir.join(&rel.name)
}

/// Names in the cache directory, sorted (entries and scratch directories alike).
fn entries(cache: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_copied_pack_runs_every_command_from_its_cache() {
    let p = Packed::new(Fixture::Plain);
    // The release itself is gone: only the one file is left.
    crate::support::cleanup::remove_tree(&p.rel.root);

    assert_eq!(ok(&p.run(&["version"], &[])), "demo 0.1.0\n");
    let entry = p.entry();
    assert!(
        entry
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("demo-0.1.0-")
    );
    // Installed as `beamrc install` would: bin/demo is beamrc, the script is kept.
    let launcher = std::fs::read(entry.join("bin/demo")).unwrap();
    assert!(launcher.starts_with(b"\x7fELF"));
    assert!(
        std::fs::read_to_string(entry.join("bin/demo.sh"))
            .unwrap()
            .starts_with("#!")
    );

    let vars = ok(&p.run(
        &[
            "eval",
            "IO.puts(System.get_env(\"RELEASE_ROOT\")); IO.puts(System.get_env(\"RELEASE_PROG\"))",
        ],
        &[],
    ))
    .to_string();
    assert_eq!(vars, format!("{}\ndemo\n", entry.display()));

    ok(&p.run(&["daemon"], &[]));
    assert_eq!(
        ok(&p.run(&["rpc", "IO.puts(Demo.greeting())"], &[])),
        "from sys.config\n"
    );
    let pid: i32 = ok(&p.run(&["pid"], &[])).trim().parse().unwrap();
    assert!(
        crate::support::pid_exe(pid).is_some_and(|e| e.starts_with(&entry)),
        "the VM runs from the cache entry"
    );
    // A running instance keeps its entry from being cleaned.
    let kept = p.rel.run(
        &beamrc_bin(),
        &["pack-clean"],
        &[("BEAMRC_PACK_DIR", p.cache.to_str().unwrap())],
        None,
    );
    assert!(ok(&kept).contains("(in use)"), "{}", kept.stdout);
    assert!(entry.is_dir());
    ok(&p.run(&["stop"], &[]));
    wait_until(Duration::from_secs(10), "the VM to exit", || {
        !crate::support::pid_alive(pid)
    });
    // run_erl (which inherited the entry's lock) exits just after the VM.
    wait_until(
        Duration::from_secs(10),
        "the idle entry to be cleaned",
        || {
            let cleaned = p.run(&[], &[("BEAMRC_PACK_CLEAN", "1")]);
            ok(&cleaned).contains("removed")
        },
    );
    assert!(entries(&p.cache).is_empty(), "{:?}", entries(&p.cache));
    // And it extracts again on the next run.
    assert_eq!(ok(&p.run(&["version"], &[])), "demo 0.1.0\n");
}

#[test]
fn packing_is_reproducible_and_pack_info_says_what_and_where() {
    let rel = TestRelease::new(Fixture::Plain);
    let a = pack(&rel, &rel.root, &rel.dir.join("a"));
    // A second copy of the release at another path, with other mtimes.
    let other = rel.dir.join("copy/demo");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let status = Command::new("cp")
        .args(["-r"])
        .arg(&rel.root)
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    // `-o DIR/` creates the directory.
    let out = rel.run(
        &beamrc_bin(),
        &["pack", other.to_str().unwrap(), "-o", "b/"],
        &[],
        None,
    );
    ok(&out);
    let b = rel.dir.join("b/demo");
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two packs of one release differ"
    );
    assert_eq!(
        std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
        0o755
    );

    let cache = rel.dir.join("cache");
    let env = [("BEAMRC_PACK_DIR", cache.to_str().unwrap())];
    let info = ok(&rel.run(
        &beamrc_bin(),
        &["pack-info", a.to_str().unwrap()],
        &env,
        None,
    ))
    .to_string();
    assert!(
        info.starts_with("packed release: demo 0.1.0 (mix), ERTS "),
        "{info}"
    );
    assert!(info.contains("(not extracted yet)"), "{info}");
    let digest = info
        .lines()
        .find_map(|l| l.strip_prefix("sha256:    "))
        .unwrap()
        .to_string();
    // The digest is SHA-256 of everything before the 80-byte trailer.
    let shell = Command::new("sh")
        .arg("-c")
        .arg("head -c -80 \"$1\" | sha256sum")
        .arg("sh")
        .arg(&a)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&shell.stdout);
    assert_eq!(sum.split_whitespace().next(), Some(digest.as_str()));
    ok(&rel.run(&a, &["version"], &env, None));
    let again = ok(&rel.run(&a, &[], &[env[0], ("BEAMRC_PACK_INFO", "yes")], None)).to_string();
    assert!(again.contains("(extracted)"), "{again}");
    assert!(
        again.contains(&format!("{}/demo-0.1.0-{}", cache.display(), &digest[..16])),
        "{again}"
    );
    let bad = rel.run(
        &a,
        &["version"],
        &[env[0], ("BEAMRC_PACK_INFO", "maybe")],
        None,
    );
    assert_eq!(bad.code, Some(4), "{}", bad.stderr);
    assert!(bad.stderr.contains("BEAMRC_PACK_INFO"), "{}", bad.stderr);

    let not_packed = rel.run(&beamrc_bin(), &["pack-info", "/bin/sh"], &[], None);
    assert_eq!(not_packed.code, Some(2), "{}", not_packed.stderr);
}

#[test]
fn two_first_runs_at_once_share_one_entry() {
    let p = Packed::new(Fixture::Plain);
    let cache = p.cache.to_str().unwrap();
    let env = [("BEAMRC_PACK_DIR", cache)];
    let runs: Vec<_> = (0..2)
        .map(|_| p.rel.spawn(&p.file, &["eval", "IO.puts(:ok)"], &env))
        .collect();
    for r in runs {
        let out = r.wait(crate::support::DEFAULT_TIMEOUT);
        assert_eq!(ok(&out), "ok\n");
    }
    let names = entries(&p.cache);
    assert_eq!(names.len(), 1, "one entry and no scratch left: {names:?}");
}

#[test]
fn a_truncated_or_corrupted_file_is_one_clear_error_and_writes_nothing() {
    let p = Packed::new(Fixture::Plain);
    let bytes = std::fs::read(&p.file).unwrap();
    let dir = p.file.parent().unwrap();
    let write = |name: &str, b: &[u8]| {
        let f = dir.join(name);
        std::fs::write(&f, b).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        f
    };
    let half = write("demo-half", &bytes[..bytes.len() / 2]);
    let cut = write("demo-cut", &bytes[..bytes.len() - 10]);
    let mut flipped = bytes.clone();
    let mid = bytes.len() - bytes.len() / 4;
    flipped[mid] ^= 0xff;
    let corrupt = write("demo-corrupt", &flipped);
    let env = [("BEAMRC_PACK_DIR", p.cache.to_str().unwrap())];
    for (file, says) in [
        (&half, "the file is truncated"),
        (&cut, "end in no pack trailer"),
        (&corrupt, "SHA-256"),
    ] {
        let out = p.rel.run(file, &["version"], &env, None);
        assert_eq!(out.code, Some(2), "{}: {}", file.display(), out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "ERROR: {} is a damaged packed release: ",
                file.display()
            )) && out.stderr.contains(says),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    assert!(entries(&p.cache).is_empty(), "{:?}", entries(&p.cache));
}

#[test]
fn an_erts_for_another_architecture_is_one_clear_error_and_leaves_no_entry() {
    let rel = TestRelease::new(Fixture::Plain);
    let beam = crate::check::broken::erts_program(&rel, "beam.smp");
    let arch = crate::check::broken::make_foreign(&beam);
    let file = pack(&rel, &rel.root, &rel.dir.join("packed"));
    let cache = rel.dir.join("cache");
    let env = [("BEAMRC_PACK_DIR", cache.to_str().unwrap())];
    let out = rel.run(&file, &["version"], &env, None);
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(
        out.stderr
            .starts_with(&format!("ERROR: {} cannot run here: ", file.display()))
            && out.stderr.contains("beam.smp")
            && out.stderr.contains(arch),
        "{out}"
    );
    assert!(entries(&cache).is_empty(), "{:?}", entries(&cache));
}

#[test]
fn a_killed_extraction_or_a_damaged_entry_is_redone() {
    let p = Packed::new(Fixture::Plain);
    let env = [("BEAMRC_PACK_DIR", p.cache.to_str().unwrap())];
    // Kill a first run early (wherever it is), then run again.
    let mut first = p.rel.spawn(&p.file, &["version"], &env);
    std::thread::sleep(Duration::from_millis(150));
    first.kill();
    // The leftovers of an extraction killed earlier by a process that is gone.
    ok(&p.run(&["version"], &[]));
    let entry = p.entry();
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    let stale = p.cache.join(format!(".{name}.tmp-999999999-1"));
    std::fs::create_dir_all(stale.join("bin")).unwrap();

    // An entry that lost files after its marker was written: re-extracted when bin/demo is
    // missing; and an entry without marker (a copy of a partial tree) is replaced.
    std::fs::remove_file(entry.join("bin/demo")).unwrap();
    assert_eq!(ok(&p.run(&["version"], &[])), "demo 0.1.0\n");
    assert!(entry.join("bin/demo").is_file());
    assert_eq!(
        entries(&p.cache),
        std::slice::from_ref(&name),
        "the stale scratch is swept"
    );

    std::fs::remove_file(entry.join(".beamrc-pack")).unwrap();
    std::fs::remove_dir_all(entry.join("lib")).unwrap();
    assert_eq!(ok(&p.run(&["eval", "IO.puts(:again)"], &[])), "again\n");
    assert!(entry.join("lib").is_dir());
    assert_eq!(entries(&p.cache), [name]);
}

#[test]
fn a_read_only_cache_runs_with_a_private_release_tmp() {
    let setpriv = crate::support::which("setpriv").expect("setpriv (util-linux) on PATH");
    let p = Packed::new(Fixture::Runtime);
    // Extracted by root, then used by an unprivileged user who cannot write the cache.
    ok(&p.run(&["version"], &[]));
    let entry = p.entry();
    let run_dir = p.rel.dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    for d in [&p.rel.dir, &p.rel.home] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut args = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        p.file.to_str().unwrap(),
    ];
    args.extend(["eval", "IO.puts(System.get_env(\"RELEASE_TMP\"))"]);
    let out = p.rel.run(
        &setpriv,
        &args,
        &[
            ("BEAMRC_PACK_DIR", p.cache.to_str().unwrap()),
            ("XDG_RUNTIME_DIR", run_dir.to_str().unwrap()),
        ],
        None,
    );
    let private = run_dir.join("beamrc").join(entry.file_name().unwrap());
    assert_eq!(ok(&out), format!("{}\n", private.display()));
    // The reboot release's runtime sys.config copy went there, not into the cache.
    assert!(
        std::fs::read_dir(&private).unwrap().next().is_some(),
        "{} is empty",
        private.display()
    );
    assert!(
        !entry.join("tmp").exists(),
        "nothing written into the cache"
    );

    // An entry someone else owns (not root, not us) could hold anything: refused.
    std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    let foreign = p.run(&["version"], &[]);
    assert_eq!(foreign.code, Some(4), "{}", foreign.stderr);
    assert!(
        foreign
            .stderr
            .contains("is not safe to run: it belongs to uid 65534"),
        "{}",
        foreign.stderr
    );
}

#[test]
fn a_release_without_erts_or_an_output_inside_the_release_is_refused() {
    let rel = TestRelease::new(Fixture::NoErts);
    let out = rel.run(
        &beamrc_bin(),
        &["pack", rel.root.to_str().unwrap(), "-o", "out"],
        &[],
        None,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("include_erts"), "{}", out.stderr);
    assert!(!rel.dir.join("out").exists());

    let inside = TestRelease::new(Fixture::Plain);
    let bin = inside.root.join("bin");
    let before = std::fs::read(bin.join("demo")).unwrap();
    let out = inside.run(
        &beamrc_bin(),
        &[
            "pack",
            inside.root.to_str().unwrap(),
            "-o",
            bin.to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("which pack only reads"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(bin.join("demo")).unwrap(), before);
}

#[test]
fn start_runs_in_the_foreground_and_the_vm_holds_the_entry() {
    let p = Packed::new(Fixture::Plain);
    let cache = p.cache.to_str().unwrap();
    let start = p
        .rel
        .spawn(&p.file, &["start"], &[("BEAMRC_PACK_DIR", cache)]);
    let pid = crate::support::wait_for(Duration::from_secs(30), "the node to answer", || {
        let out = p.run(&["pid"], &[]);
        out.success()
            .then(|| out.stdout.trim().parse::<i32>().ok())
            .flatten()
    });
    // `start` execs: the VM has the launcher's PID, and the entry's lock with it.
    assert_eq!(pid, start.pid());
    let entry = p.entry();
    let holds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == entry));
    assert!(holds, "the VM holds a descriptor on {}", entry.display());
    ok(&p.run(&["stop"], &[]));
    let out = start.wait(crate::support::DEFAULT_TIMEOUT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn env_sh_runs_as_in_the_installed_release() {
    let p = Packed::new(Fixture::EnvSh);
    let installed = crate::support::installed(Fixture::EnvSh);
    let expr = r#"IO.puts(System.get_env("ENVSH_SEEN")); IO.puts(System.get_env("RELEASE_NODE")); IO.puts(System.get_env("ELIXIR_ERL_OPTIONS"))"#;
    let from_pack = p.run(&["eval", expr], &[]);
    let from_install = installed.run(&installed.bin(), &["eval", expr], &[], None);
    assert_eq!(
        (ok(&from_pack), from_pack.stderr.as_str()),
        (ok(&from_install), from_install.stderr.as_str())
    );
    assert!(
        from_pack.stdout.starts_with("args:eval ") && from_pack.stdout.contains("\nenvsh_node\n"),
        "{}",
        from_pack.stdout
    );
}
