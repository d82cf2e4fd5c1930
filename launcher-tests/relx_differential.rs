//! Differential tests for relx releases: with the same inputs, what reaches erlexec /
//! run_erl / to_erl / escript through beamrc equals what reaches it through relx's own
//! extended script, and so do stdout and the exit code.
//!
//! Two copies of the fixture are used (the script's and beamrc's), so neither run sees the
//! other's generated files; their directories are normalised to `DIR`. Also normalised:
//! `bin/NAME.sh` → `bin/NAME` (the kept script's own path), the `[pid]` of "Starting up",
//! and the epmd port. Generated config files are compared by content, because beamrc never
//! renders over the template (relx does; see the README's differences table).
use crate::support::Recorded;
use crate::support::relx::{RelxFixture, RelxRelease};
use std::collections::BTreeMap;
use std::path::Path;

const SHELL_NOISE: &[&str] = &["PWD", "OLDPWD", "SHLVL", "_"];

struct Pair {
    script: RelxRelease,
    ours: RelxRelease,
    rec_script: crate::support::Recorder,
    rec_ours: crate::support::Recorder,
}

impl Pair {
    fn new(f: RelxFixture) -> Pair {
        let mut script = RelxRelease::new(f);
        let mut ours = RelxRelease::new(f);
        let out = ours.install_beamrc();
        out.assert_success("beamrc install");
        let rec_script = script.install_recorders();
        let rec_ours = ours.install_recorders();
        Pair {
            script,
            ours,
            rec_script,
            rec_ours,
        }
    }

    fn normalise(&self, rel: &RelxRelease, s: &str) -> String {
        let dir = rel.dir.to_str().unwrap();
        let mut out = s.replace(dir, "DIR");
        out = out.replace(dir.trim_start_matches('/'), "DIR");
        out = out.replace(
            &format!("bin/{}.sh", rel.name),
            &format!("bin/{}", rel.name),
        );
        out = out.replace(&rel.epmd().port.to_string(), "PORT");
        if let Some(i) = out.find(&format!("{}[", rel.name))
            && let Some(j) = out[i..].find("] Starting up")
        {
            out.replace_range(i + rel.name.len() + 1..i + j, "PID");
        }
        out
    }

    /// argv with `-args_file F` / `-config F` replaced by F's contents.
    fn argv_view(&self, rel: &RelxRelease, r: &Recorded) -> Vec<String> {
        let mut out = Vec::new();
        let mut file_next = false;
        for a in &r.argv {
            if file_next {
                let path = Path::new(a);
                let text = std::fs::read_to_string(path)
                    .or_else(|_| std::fs::read_to_string(rel.root.join(path)))
                    .unwrap_or_else(|e| format!("<unreadable {a}: {e}>"));
                out.push(format!("FILE:{}", self.normalise(rel, &text)));
            } else {
                out.push(self.normalise(rel, a));
            }
            file_next = a == "-args_file" || a == "-config";
        }
        out
    }

    fn env_view(&self, rel: &RelxRelease, r: &Recorded) -> BTreeMap<String, String> {
        r.env
            .iter()
            .filter(|(k, _)| !SHELL_NOISE.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), self.normalise(rel, v)))
            .collect()
    }

    /// Runs `args` with `env` through both; returns the recorded programs (the script's
    /// host-name probe left out).
    #[track_caller]
    fn compare(&self, args: &[&str], env: &[(&str, &str)]) {
        let env_for = |rel: &RelxRelease| -> Vec<(String, String)> {
            let dir = rel.dir.to_str().unwrap();
            let mut v: Vec<(String, String)> = env
                .iter()
                .map(|(k, val)| (k.to_string(), val.replace("@DIR@", dir)))
                .collect();
            v.push(("TERM".into(), "dumb".into()));
            v.push(("BEAMRC_START_TIMEOUT".into(), "0".into()));
            v
        };
        let run = |rel: &RelxRelease, env: Vec<(String, String)>| {
            let mut c = rel.cmd(&rel.bin(), args);
            c.envs(env);
            crate::support::run_command(c, None, crate::support::DEFAULT_TIMEOUT)
        };
        let out_s = run(&self.script, env_for(&self.script));
        let out_o = run(&self.ours, env_for(&self.ours));
        let probe = |r: &Recorded| r.argv.iter().any(|a| a == "-eval");
        let recs_s: Vec<Recorded> = self
            .rec_script
            .take_all()
            .into_iter()
            .filter(|r| !probe(r))
            .collect();
        let recs_o: Vec<Recorded> = self
            .rec_ours
            .take_all()
            .into_iter()
            .filter(|r| !probe(r))
            .collect();
        let what = format!("{args:?} {env:?}");
        assert_eq!(
            recs_o.iter().map(|r| &r.program).collect::<Vec<_>>(),
            recs_s.iter().map(|r| &r.program).collect::<Vec<_>>(),
            "{what}: programs started\nscript: {out_s}\nbeamrc: {out_o}"
        );
        for (o, s) in recs_o.iter().zip(&recs_s) {
            assert_eq!(
                self.argv_view(&self.ours, o),
                self.argv_view(&self.script, s),
                "{what}: argv of {}",
                o.program
            );
            let (eo, es) = (self.env_view(&self.ours, o), self.env_view(&self.script, s));
            for key in es.keys().chain(eo.keys()) {
                assert_eq!(
                    eo.get(key),
                    es.get(key),
                    "{what}: env {key} of {}",
                    o.program
                );
            }
        }
        assert_eq!(
            out_o.code, out_s.code,
            "{what}: exit code\nscript: {out_s}\nbeamrc: {out_o}"
        );
        assert_eq!(
            files_in_exec_line(&self.normalise(&self.ours, &out_o.stdout)),
            files_in_exec_line(&self.normalise(&self.script, &out_s.stdout)),
            "{what}: stdout"
        );
    }
}

/// The `Exec:` line names the generated files, whose paths differ by design.
fn files_in_exec_line(stdout: &str) -> String {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("Exec: ") else {
            out.push(line.to_string());
            continue;
        };
        let mut words: Vec<String> = rest.split(' ').map(str::to_string).collect();
        for i in 1..words.len() {
            if words[i - 1] == "-config" || words[i - 1] == "-args_file" {
                words[i] = "FILE".into();
            }
        }
        out.push(format!("Exec: {}", words.join(" ")));
    }
    out.join("\n")
}

/// The Hooks fixture's post_start builtin `wait_for_vm_start` waits (forever, as in relx)
/// for a node the recorders never start, so its daemons are compared on the other fixtures.
const CONSOLES: &[&[&str]] = &[
    &["foreground"],
    &["foreground", "a", "b c"],
    &["console"],
    &["console_clean", "x"],
    &["console_boot", "/tmp/some/boot", "x"],
    &["escript", "bin/some_script.escript", "a", "b c"],
];

const STARTS: &[&[&str]] = &[
    &["foreground"],
    &["foreground", "a", "b c"],
    &["console"],
    &["console_clean", "x"],
    &["console_boot", "/tmp/some/boot", "x"],
    &["daemon"],
    &["daemon", "-extra_flag", "v w"],
    &["daemon_boot", "/tmp/some/boot"],
    &["start"],
    &["escript", "bin/some_script.escript", "a", "b c"],
];

#[test]
fn relx_diff_every_start_command() {
    let pair = Pair::new(RelxFixture::Hooks);
    for args in CONSOLES {
        pair.compare(args, &[("PIPE_DIR", "@DIR@/pipes/")]);
        // pre_start hooks ran on both sides, with the same variables
        let read = |r: &RelxRelease| {
            let text = std::fs::read_to_string(r.root.join("test")).unwrap_or_default();
            let _ = std::fs::remove_file(r.root.join("test"));
            text
        };
        assert_eq!(
            read(&pair.ours),
            read(&pair.script),
            "{args:?}: hook output"
        );
    }
}

#[test]
fn relx_diff_variables() {
    let pair = Pair::new(RelxFixture::Plain);
    let custom = pair.ours.dir.join("custom.vm.args");
    for rel in [&pair.ours, &pair.script] {
        std::fs::write(
            rel.dir.join("custom.vm.args"),
            "-sname custom@localhost\n-setcookie other\n",
        )
        .unwrap();
        std::fs::write(rel.dir.join("custom.config"), "[{kernel, []}].\n").unwrap();
    }
    assert!(custom.is_file());
    for env in [
        &[("CODE_LOADING_MODE", "interactive")][..],
        &[("ERL_DIST_PORT", "8001")][..],
        &[("RUNNER_LOG_DIR", "@DIR@/logs"), ("PIPE_DIR", "@DIR@/p/")][..],
        &[("VMARGS_PATH", "@DIR@/custom.vm.args")][..],
        &[("RELX_CONFIG_PATH", "@DIR@/custom.config")][..],
        &[
            ("RUN_ERL_DISABLE_FLOWCNTRL", "false"),
            ("LD_LIBRARY_PATH", "/opt/x"),
        ][..],
        &[("RELX_RPC_TIMEOUT", "5"), ("ESCRIPT_NAME", "mine")][..],
        &[("NODETOOL_TIMEOUT", "9000")][..],
    ] {
        for args in [&["foreground"][..], &["daemon", "q"][..]] {
            let mut env = env.to_vec();
            if !env.iter().any(|(k, _)| *k == "PIPE_DIR") {
                env.push(("PIPE_DIR", "@DIR@/pipes/"));
            }
            pair.compare(args, &env);
        }
    }
}

#[test]
fn relx_diff_replace_os_vars_in_place_and_elsewhere() {
    let pair = Pair::new(RelxFixture::Plain);
    for rel in [&pair.ours, &pair.script] {
        let vm = rel.version_dir().join("vm.args");
        std::fs::write(
            &vm,
            "-sname ${NODE:-erlapp}@localhost\n-setcookie c\n-env P ${PORT}\n",
        )
        .unwrap();
        std::fs::write(
            rel.version_dir().join("sys.config"),
            "[{k, [{v, \"${PORT}\"}]}].\n",
        )
        .unwrap();
        std::fs::create_dir_all(rel.dir.join("out")).unwrap();
    }
    let base = [("PIPE_DIR", "@DIR@/pipes/"), ("PORT", "4001")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    pair.compare(&["foreground"], &with(&[("RELX_REPLACE_OS_VARS", "1")]));
    pair.compare(
        &["foreground"],
        &with(&[("RELX_REPLACE_OS_VARS", "1"), ("NODE", "n2")]),
    );
    pair.compare(
        &["daemon"],
        &with(&[
            ("RELX_REPLACE_OS_VARS", "1"),
            ("RELX_OUT_FILE_PATH", "@DIR@/out"),
        ]),
    );
    pair.compare(
        &["foreground"],
        &with(&[("RELX_REPLACE_OS_VARS", "1"), ("RELX_MULTI_NODE", "1")]),
    );
    // beamrc never rewrote the template; relx did (and kept a .orig)
    let vm = pair.ours.version_dir().join("vm.args");
    assert!(std::fs::read_to_string(vm).unwrap().contains("${PORT}"));
    assert!(!pair.ours.version_dir().join("vm.args.orig").exists());
    assert!(pair.script.version_dir().join("vm.args.orig").exists());
}

#[test]
fn relx_diff_src_files() {
    let pair = Pair::new(RelxFixture::Src);
    for rel in [&pair.ours, &pair.script] {
        std::fs::create_dir_all(rel.dir.join("out")).unwrap();
    }
    let env = [
        ("PIPE_DIR", "@DIR@/pipes/"),
        ("NODENAME", "node1"),
        ("COOKIE", "cookie1"),
        ("VAR1", "101"),
        // (a `\` or `"` would differ on purpose: beamrc escapes values for where they land)
        ("VAR2", "a&b'c"),
    ];
    for args in STARTS.iter().take(6) {
        pair.compare(args, &env);
    }
    let mut out = env.to_vec();
    out.push(("RELX_OUT_FILE_PATH", "@DIR@/out"));
    pair.compare(&["foreground"], &out);
    assert!(pair.ours.dir.join("out/sys.config").is_file());
    let mut multi = env.to_vec();
    multi.push(("RELX_MULTI_NODE", "1"));
    pair.compare(&["console"], &multi);
    assert!(
        pair.ours
            .version_dir()
            .join("sys.node1@localhost.config")
            .is_file()
    );
}

#[test]
fn relx_diff_sname_without_host() {
    // `-sname erlapp`: relx boots a VM for the host part; beamrc computes it.
    let pair = Pair::new(RelxFixture::Plain);
    for args in STARTS {
        pair.compare(args, &[("PIPE_DIR", "@DIR@/pipes/")]);
    }
}

#[test]
fn relx_diff_usage_help_and_extensions() {
    let pair = Pair::new(RelxFixture::Hooks);
    for args in [
        &[][..],
        &["help"][..],
        &["help", "rpc"][..],
        &["help", "remsh"][..],
        &["help", "nope"][..],
        &["help", "bar"][..],
        &["nope"][..],
        &["bar", "x"][..],
        &["foo"][..],
        &["baz"][..],
        &["undefined"][..],
        &["upgrade"][..],
        &["unpack", ""][..],
    ] {
        pair.compare(args, &[]);
    }
}

#[test]
fn relx_diff_vm_args_errors() {
    let pair = Pair::new(RelxFixture::Plain);
    let cases: &[(&str, i32)] = &[
        ("-setcookie x\n", 1),
        ("-sname a@localhost\n-name b@localhost\n", 2),
        (" -sname indented@localhost\n", 1),
    ];
    for (text, code) in cases {
        for rel in [&pair.ours, &pair.script] {
            std::fs::write(rel.version_dir().join("vm.args"), text).unwrap();
        }
        pair.compare(&["foreground"], &[]);
        let out = pair.ours.run(&pair.ours.bin(), &["ping"], &[]);
        assert_eq!(out.code, Some(*code), "{text:?}: {out}");
    }
    // no cookie anywhere: relx's notice once, remote commands through the kept script
    for rel in [&pair.ours, &pair.script] {
        std::fs::write(
            rel.version_dir().join("vm.args"),
            "-sname nocookie@localhost\n",
        )
        .unwrap();
    }
    pair.compare(&["foreground"], &[]);
    pair.compare(&["ping"], &[]);
    pair.compare(&["help", "rpc"], &[]);
    // the shelltest's circular chain (rc 5)
    for rel in [&pair.ours, &pair.script] {
        let two = rel.dir.join("vm-2.args");
        let six = rel.dir.join("vm-6.args");
        std::fs::write(&two, format!("-args_file {}\n", six.display())).unwrap();
        std::fs::write(&six, format!("-args_file {}\n", two.display())).unwrap();
        std::fs::write(
            rel.version_dir().join("vm.args"),
            format!("-args_file {}\n-setcookie cookie1\n", two.display()),
        )
        .unwrap();
    }
    pair.compare(&["daemon"], &[]);
}
