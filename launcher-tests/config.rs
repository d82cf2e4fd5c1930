//! OS-variable substitution, env files, the cookie, read-only releases and several
//! instances of one release, against real releases.
use crate::support::{Fixture, TestRelease, installed, ok};
use std::path::{Path, PathBuf};

fn vm_args(rel: &TestRelease) -> PathBuf {
    rel.root.join("releases/0.1.0/vm.args")
}

/// Every file under `dir`, with its size and mtime, to prove nothing was written there.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn substituted_vm_args_and_sys_config_reach_the_node() {
    let rel = installed(Fixture::Subst);
    let mut text = std::fs::read_to_string(vm_args(&rel)).unwrap();
    text.push_str("-sname ${NODE_NAME}\n");
    std::fs::write(vm_args(&rel), &text).unwrap();
    let before = snapshot(&rel.root.join("releases"));
    let env = [
        ("REPLACE_OS_VARS", "1"),
        ("NODE_NAME", "subst_a"),
        ("GREETING", "hello & $HOME"),
    ];
    ok(&rel.run(&rel.bin(), &["daemon"], &env, None));
    let rpc = |expr: &str| rel.run(&rel.bin(), &["rpc", expr], &env, None);
    assert_eq!(ok(&rpc("IO.puts(node())")), "subst_a@vm\n");
    assert_eq!(
        ok(&rpc("IO.puts(Application.get_env(:subst, :greeting))")),
        "hello & $HOME\n"
    );
    assert_eq!(
        ok(&rpc("IO.puts(System.get_env(\"SUBST_PORT\"))")),
        "4000\n"
    );
    ok(&rel.run(&rel.bin(), &["stop"], &env, None));
    assert_eq!(
        snapshot(&rel.root.join("releases")),
        before,
        "the release was modified"
    );
    let rendered = rel.root.join("tmp/rendered/subst/vm.args");
    let mode = std::fs::metadata(&rendered).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
}

#[test]
fn unset_variables_are_all_listed_and_nothing_starts() {
    let rel = installed(Fixture::Subst);
    let mut text = std::fs::read_to_string(vm_args(&rel)).unwrap();
    text.push_str("-sname ${NODE_NAME}\n");
    std::fs::write(vm_args(&rel), &text).unwrap();
    let out = rel.run(&rel.bin(), &["daemon"], &[("REPLACE_OS_VARS", "1")], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stderr.starts_with("ERROR: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("NODE_NAME") && out.stderr.contains("GREETING"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("vm.args:") && out.stderr.contains("sys.config:"),
        "{}",
        out.stderr
    );
    assert!(!rel.root.join("tmp/pipe").exists(), "nothing may start");
    // relx's behaviour on request: unset becomes empty
    let out = rel.run(
        &rel.bin(),
        &["eval", "IO.inspect(Application.get_env(:subst, :greeting))"],
        &[
            ("REPLACE_OS_VARS", "1"),
            ("BEAMRC_SUBST_UNSET", "empty"),
            ("NODE_NAME", "x"),
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn args_file_cycle_is_named() {
    let rel = installed(Fixture::Plain);
    let dir = rel.root.join("releases/0.1.0");
    std::fs::write(
        dir.join("a.args"),
        format!("-args_file {}\n", dir.join("b.args").display()),
    )
    .unwrap();
    std::fs::write(
        dir.join("b.args"),
        format!("-args_file {}\n", dir.join("a.args").display()),
    )
    .unwrap();
    let mut text = std::fs::read_to_string(vm_args(&rel)).unwrap();
    text.push_str(&format!("-args_file {}\n", dir.join("a.args").display()));
    std::fs::write(vm_args(&rel), text).unwrap();
    let out = rel.run(&rel.bin(), &["start"], &[("REPLACE_OS_VARS", "1")], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("a.args") && out.stderr.contains("b.args"),
        "{}",
        out.stderr
    );
}

#[test]
fn env_files_precedence_and_syntax_errors() {
    let rel = installed(Fixture::Plain);
    let show = |env: &[(&str, &str)]| {
        let out = rel.run(
            &rel.bin(),
            &["eval", "IO.puts(System.get_env(\"X\"))"],
            env,
            None,
        );
        ok(&out).to_string()
    };
    std::fs::write(
        rel.root.join("releases/0.1.0/release.env"),
        "X=from_release_env\n",
    )
    .unwrap();
    assert_eq!(show(&[]), "from_release_env\n");
    let file = rel.dir.join("deploy.env");
    std::fs::write(&file, "# deploy-time\nX=\"from env file\"\n").unwrap();
    let f = file.to_str().unwrap();
    assert_eq!(show(&[("RELEASE_ENV_FILE", f)]), "from env file\n");
    assert_eq!(
        show(&[("RELEASE_ENV_FILE", f), ("X", "caller")]),
        "caller\n"
    );
    std::fs::write(&file, "GOOD=1\nthis is not a line\n").unwrap();
    let out = rel.run(&rel.bin(), &["start"], &[("RELEASE_ENV_FILE", f)], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{f}:2")), "{}", out.stderr);
}

#[test]
fn missing_cookie_names_every_place() {
    let rel = installed(Fixture::Plain);
    std::fs::remove_file(rel.root.join("releases/COOKIE")).unwrap();
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    for place in [
        "RELEASE_COOKIE",
        "releases/COOKIE",
        "-setcookie",
        ".erlang.cookie",
    ] {
        assert!(
            out.stderr.contains(place),
            "{place} missing from: {}",
            out.stderr
        );
    }
    assert!(!rel.root.join("tmp").exists());
    // the cookie from vm.args is used (and not passed twice)
    let mut text = std::fs::read_to_string(vm_args(&rel)).unwrap();
    text.push_str("-setcookie from_vm_args\n");
    std::fs::write(vm_args(&rel), text).unwrap();
    let out = rel.run(
        &rel.bin(),
        &["eval", "IO.puts(System.get_env(\"RELEASE_COOKIE\")); IO.inspect(:init.get_argument(:setcookie))"],
        &[],
        None,
    );
    // Charlists inspect as ~c"…" from Elixir 1.15.
    let charlist = if crate::support::elixir_version() >= (1, 15, 0) {
        "~c\"from_vm_args\""
    } else {
        "'from_vm_args'"
    };
    assert_eq!(ok(&out), format!("from_vm_args\n{{:ok, [[{charlist}]]}}\n"));
}

#[test]
fn two_instances_side_by_side() {
    let rel = installed(Fixture::Plain);
    let a_tmp = rel.dir.join("a");
    let b_tmp = rel.dir.join("b");
    let a = [
        ("RELEASE_NODE", "inst_a"),
        ("RELEASE_TMP", a_tmp.to_str().unwrap()),
    ];
    let b = [
        ("RELEASE_NODE", "inst_b"),
        ("RELEASE_TMP", b_tmp.to_str().unwrap()),
    ];
    ok(&rel.run(&rel.bin(), &["daemon"], &a, None));
    ok(&rel.run(&rel.bin(), &["daemon"], &b, None));
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["rpc", "IO.puts(node())"], &a, None)),
        "inst_a@vm\n"
    );
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["rpc", "IO.puts(node())"], &b, None)),
        "inst_b@vm\n"
    );
    let pa = ok(&rel.run(&rel.bin(), &["pid"], &a, None)).to_string();
    let pb = ok(&rel.run(&rel.bin(), &["pid"], &b, None)).to_string();
    assert_ne!(pa, pb);
    // a second daemon for a running node is refused
    let out = rel.run(&rel.bin(), &["daemon"], &a, None);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("already running"), "{}", out.stderr);
    ok(&rel.run(&rel.bin(), &["stop"], &a, None));
    ok(&rel.run(&rel.bin(), &["stop"], &b, None));
}

#[test]
fn read_only_release_as_an_unprivileged_user() {
    let rel = installed(Fixture::Subst);
    let mut text = std::fs::read_to_string(vm_args(&rel)).unwrap();
    text.push_str("-sname ${NODE_NAME}\n");
    std::fs::write(vm_args(&rel), text).unwrap();
    // The release belongs to root and nobody may write it; RELEASE_TMP is nobody's.
    let tmp = rel.dir.join("run");
    std::fs::create_dir_all(&tmp).unwrap();
    let status = std::process::Command::new("chown")
        .args(["nobody", tmp.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut p = rel.root.clone();
    while p != Path::new("/") {
        let _ = std::process::Command::new("chmod")
            .args(["go+rx", p.to_str().unwrap()])
            .status();
        p.pop();
    }
    let status = std::process::Command::new("chmod")
        .args(["-R", "go-w,go+rX", rel.root.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let before = snapshot(&rel.root);
    let env = [
        ("REPLACE_OS_VARS", "1"),
        ("NODE_NAME", "ro_node"),
        ("GREETING", "ro"),
        ("RELEASE_TMP", tmp.to_str().unwrap()),
        ("HOME", tmp.to_str().unwrap()),
    ];
    let bin = rel.bin();
    let as_nobody = |args: &[&str]| {
        let mut full = vec!["-u", "nobody", "--"];
        full.push(bin.to_str().unwrap());
        full.extend_from_slice(args);
        rel.run(Path::new("runuser"), &full, &env, None)
    };
    ok(&as_nobody(&["daemon"]));
    assert_eq!(
        ok(&as_nobody(&[
            "rpc",
            "IO.puts(Application.get_env(:subst, :greeting))"
        ])),
        "ro\n"
    );
    ok(&as_nobody(&["stop"]));
    assert_eq!(
        snapshot(&rel.root),
        before,
        "the release directory was written to"
    );
    assert!(tmp.join("rendered/subst/vm.args").exists());
}

#[test]
fn remote_vm_args_is_substituted_for_the_hidden_vm() {
    let rel = installed(Fixture::Plain);
    let remote = rel.root.join("releases/0.1.0/remote.vm.args");
    let mut text = std::fs::read_to_string(&remote).unwrap();
    text.push_str("-env HIDDEN_SIDE ${HIDDEN_SIDE}\n");
    std::fs::write(&remote, text).unwrap();
    ok(&rel.run(&rel.bin(), &["daemon"], &[], None));
    let env = [
        ("REPLACE_OS_VARS", "1"),
        ("BEAMRC_NATIVE", "0"),
        ("HIDDEN_SIDE", "yes"),
    ];
    let plan = rel.run(
        &rel.bin(),
        &["pid"],
        &[env[0], env[1], env[2], ("BEAMRC_DRY_RUN", "1")],
        None,
    );
    let rendered = rel.root.join("tmp/rendered/demo/remote.vm.args");
    assert!(
        ok(&plan).contains(rendered.to_str().unwrap()),
        "{}",
        plan.stdout
    );
    let pid = ok(&rel.run(&rel.bin(), &["pid"], &env, None)).to_string();
    assert!(!pid.trim().is_empty());
    assert!(
        std::fs::read_to_string(&rendered)
            .unwrap()
            .contains("-env HIDDEN_SIDE yes")
    );
    // unset: an error naming it, for the native path as well
    let out = rel.run(&rel.bin(), &["pid"], &[("REPLACE_OS_VARS", "1")], None);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("remote.vm.args:") && out.stderr.contains("HIDDEN_SIDE"),
        "{}",
        out.stderr
    );
    ok(&rel.run(&rel.bin(), &["stop"], &[], None));
}

/// `~w` of a string as the VM prints it: a list of code points.
fn codes(s: &str) -> String {
    let c: Vec<String> = s.chars().map(|c| (c as u32).to_string()).collect();
    format!("[{}]", c.join(","))
}

#[test]
fn substituted_values_reach_the_vm_exactly() {
    let rel = installed(Fixture::Subst);
    let values = [
        "say \"hi\"",
        "a\\b",
        "it's",
        "x y",
        "  two  spaces ",
        "tab\there",
        "line\nbreak",
        "#not a comment",
        "trailing\\",
        "${NOT_EXPANDED} $HOME",
        "\u{e9}t\u{e9} \u{20ac}",
    ];
    let names: Vec<String> = (0..values.len()).map(|i| format!("V{i}")).collect();
    let mut vm = std::fs::read_to_string(vm_args(&rel)).unwrap();
    for n in &names {
        vm.push_str(&format!("-myarg ${{{n}}}\n"));
    }
    vm.push_str("-myarg \"in ${V0} dq\" -myarg 'in ${V2} sq' # ${V7}\n");
    std::fs::write(vm_args(&rel), vm).unwrap();
    let sys_path = rel.root.join("releases/0.1.0/sys.config");
    let sys = std::fs::read_to_string(&sys_path).unwrap();
    let strings: Vec<String> = names.iter().map(|n| format!("\"${{{n}}}\"")).collect();
    let binaries: Vec<String> = names
        .iter()
        .map(|n| format!("<<\"${{{n}}}\"/utf8>>"))
        .collect();
    let atoms: Vec<String> = names.iter().map(|n| format!("'${{{n}}}'")).collect();
    let inserted = format!(
        "{{subst, [{{t_str, [{}]}}, {{t_bin, [{}]}}, {{t_atom, [{}]}}, ",
        strings.join(", "),
        binaries.join(", "),
        atoms.join(", ")
    );
    assert!(sys.contains("{subst,["), "{sys}");
    std::fs::write(&sys_path, sys.replacen("{subst,[", &inserted, 1)).unwrap();

    let mut env: Vec<(&str, &str)> = vec![("REPLACE_OS_VARS", "1"), ("GREETING", "g")];
    for (n, v) in names.iter().zip(values) {
        env.push((n.as_str(), v));
    }
    let expr = "Application.load(:subst); :io.format('~w~n~w~n~w~n~w~n', [:init.get_argument(:myarg), \
                Application.get_env(:subst, :t_str), \
                Enum.map(Application.get_env(:subst, :t_bin), &String.to_charlist/1), \
                Enum.map(Application.get_env(:subst, :t_atom), &Atom.to_charlist/1)])";
    let out = rel.run(&rel.bin(), &["eval", expr], &env, None);
    let got = ok(&out);
    let all: Vec<String> = values.iter().map(|v| codes(v)).collect();
    let mut args: Vec<String> = all.iter().map(|c| format!("[{c}]")).collect();
    args.push(format!("[{}]", codes(&format!("in {} dq", values[0]))));
    args.push(format!("[{}]", codes(&format!("in {} sq", values[2]))));
    let list = format!("[{}]", all.join(","));
    let want = format!("{{ok,[{}]}}\n{list}\n{list}\n{list}\n", args.join(","));
    assert_eq!(got, want);
}

#[test]
fn rendering_refuses_a_release_tmp_someone_else_can_change() {
    let rel = installed(Fixture::Subst);
    let tmp = rel.dir.join("shared");
    std::fs::create_dir_all(&tmp).unwrap();
    let on_tmp = |program: &str, arg: &str| {
        let s = std::process::Command::new(program)
            .args([arg, tmp.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(s.success(), "{program} {arg}");
    };
    let chown = |who: &str| on_tmp("chown", who);
    let chmod = |mode: &str| on_tmp("chmod", mode);
    let env = [
        ("REPLACE_OS_VARS", "1"),
        ("GREETING", "secret"),
        ("RELEASE_TMP", tmp.to_str().unwrap()),
    ];
    let eval = |env: &[(&str, &str)]| rel.run(&rel.bin(), &["eval", "IO.puts(:ok)"], env, None);

    chown("nobody");
    let out = eval(&env);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.starts_with("ERROR: refusing to write rendered")
            && out.stderr.contains(tmp.to_str().unwrap())
            && out.stderr.contains("owned by uid"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing written"
    );

    chown("root");
    chmod("0777");
    let out = eval(&env);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stderr.contains("writable by others"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing written"
    );

    // sticky, like /tmp: nobody else can replace our entries
    chmod("1777");
    assert_eq!(ok(&eval(&env)), "ok\n");
    assert!(tmp.join("rendered/subst/vm.args").exists());

    // without substitution nothing secret is rendered there: no check, as the script
    chmod("0777");
    std::fs::remove_dir_all(tmp.join("rendered")).unwrap();
    assert_eq!(ok(&eval(&[env[2]])), "ok\n");
}

/// Issue 8: a failing prepare step is named as itself, with substitution on too.
#[test]
fn uncreatable_pipe_is_named_with_substitution_too() {
    let rel = installed(Fixture::Subst);
    let tmp = rel.root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // a regular file where run_erl's pipe directory must go
    std::fs::write(tmp.join("pipe"), "not a directory").unwrap();
    for env in [
        &[("GREETING", "g")][..],
        &[("GREETING", "g"), ("REPLACE_OS_VARS", "1")][..],
    ] {
        let out = rel.run(&rel.bin(), &["daemon"], env, None);
        assert_eq!(out.code, Some(5), "{env:?}: {}", out.stderr);
        let pipe = tmp.join("pipe");
        assert!(
            out.stderr
                .contains(&format!("ERROR: cannot create {}", pipe.display()))
                && !out.stderr.contains("vm.args"),
            "{env:?}: {}",
            out.stderr
        );
    }
}
