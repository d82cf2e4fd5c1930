//! A private, disposable copy of a fixture release.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::cleanup::{TempDir, kill_processes_under};
use super::epmd::Epmd;
use super::fixtures::{Fixture, fixture};
use super::record::{Recorder, replace_executable};
use super::run::{DEFAULT_TIMEOUT, RunOutput, Running, run_command, spawn_captured};

/// A copy of `fixture(f)` in a fresh temp dir.
///
/// Layout: `dir/` (the temp dir), `dir/home/` (`HOME` for commands), `dir/[under/]NAME/`
/// (`root`), `dir/records/` (recorders). On drop: every process started from `dir` is killed
/// by PID ([`kill_processes_under`]), then the private epmd, then `dir` is removed.
#[derive(Debug)]
pub struct TestRelease {
    pub fixture: Fixture,
    /// The release root of the copy.
    pub root: PathBuf,
    /// The release name (`demo`, `rtdemo`, ...).
    pub name: String,
    /// The temp dir holding everything of this test.
    pub dir: PathBuf,
    /// The `HOME` given to commands (so `~/.erlang.cookie` etc. are private).
    pub home: PathBuf,
    path_prefix: Mutex<Option<PathBuf>>,
    epmd: OnceLock<Epmd>,
    // Declared last: removed after the processes and the epmd are gone.
    tmp: TempDir,
}

/// What the fixture application reports when it starts (`$RELEASE_ROOT/BOOTED`).
///
/// Keys: `boot_count`, `node`, `cookie`, `mode`, `root_dir`, `os_pid`, `cwd`, `greeting`
/// (inspected), `plain_args` (inspected), `arg.<flag>` for each `:init.get_arguments()` entry
/// (inspected list of value lists), and `env.<VAR>` for every OS environment variable of the VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booted(pub BTreeMap<String, String>);

impl Booted {
    pub fn parse(text: &str) -> Booted {
        let unescape = |v: &str| {
            let mut out = String::with_capacity(v.len());
            let mut chars = v.chars();
            while let Some(c) = chars.next() {
                match (c, c == '\\') {
                    (_, true) => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some(other) => out.push(other),
                        None => out.push('\\'),
                    },
                    (c, false) => out.push(c),
                }
            }
            out
        };
        Booted(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), unescape(v)))
                .collect(),
        )
    }

    #[track_caller]
    pub fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("BOOTED has no {key:?}: {:#?}", self.0))
    }

    pub fn env(&self, var: &str) -> Option<&str> {
        self.0.get(&format!("env.{var}")).map(String::as_str)
    }

    /// All `env.*` entries, without the prefix.
    pub fn env_map(&self) -> BTreeMap<&str, &str> {
        self.0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("env.")?, v.as_str())))
            .collect()
    }

    pub fn os_pid(&self) -> i32 {
        self.get("os_pid").parse().expect("numeric os_pid")
    }
}

impl TestRelease {
    /// A copy (`cp -a`) of `f` in a fresh temp dir.
    pub fn new(f: Fixture) -> TestRelease {
        Self::new_with(f, None, false)
    }

    /// Like [`new`](Self::new), with the release placed under `dir/<parent_components>/NAME`
    /// (e.g. `"with space/é ü"`).
    pub fn new_under(f: Fixture, parent_components: &str) -> TestRelease {
        Self::new_with(f, Some(parent_components), false)
    }

    /// `hardlink`: copy with `cp -al` (faster; safe with the replace-by-rename helpers here,
    /// but a test that chmods or writes files in place would modify the cached fixture).
    pub fn new_with(f: Fixture, under: Option<&str>, hardlink: bool) -> TestRelease {
        let src = fixture(f);
        let tmp = TempDir::new();
        let dir = tmp.path().to_path_buf();
        let parent = match under {
            Some(u) => dir.join(u),
            None => dir.clone(),
        };
        let home = dir.join("home");
        std::fs::create_dir_all(&parent).expect("create release parent");
        std::fs::create_dir_all(&home).expect("create home");
        let root = parent.join(f.app());
        let status = Command::new("cp")
            .arg(if hardlink { "-al" } else { "-a" })
            .arg(src)
            .arg(&root)
            .status()
            .expect("run cp");
        assert!(
            status.success(),
            "cp {} {} failed",
            src.display(),
            root.display()
        );
        TestRelease {
            fixture: f,
            root,
            name: f.app().to_string(),
            dir,
            home,
            path_prefix: Mutex::new(None),
            epmd: OnceLock::new(),
            tmp,
        }
    }

    /// `bin/NAME` (before `install_beamrc`: the original shell script).
    pub fn script(&self) -> PathBuf {
        self.bin()
    }

    /// `bin/NAME`.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin").join(&self.name)
    }

    /// `bin/NAME.sh`, where `beamrc install` keeps the original script.
    pub fn oracle(&self) -> PathBuf {
        self.root.join("bin").join(format!("{}.sh", self.name))
    }

    /// Copies `bin/NAME` to `bin/NAME.sh` unless that exists (what `beamrc install` does) and
    /// returns `bin/NAME.sh`.
    pub fn keep_script_as_oracle(&self) -> PathBuf {
        let oracle = self.oracle();
        if !oracle.exists() {
            std::fs::copy(self.bin(), &oracle).expect("copy bin/NAME to bin/NAME.sh");
        }
        oracle
    }

    /// Keeps the oracle, then replaces `bin/NAME` with the freshly built beamrc binary
    /// (by copy + rename, so it works on hardlinked copies). Returns `bin/NAME`.
    pub fn install_beamrc(&self) -> PathBuf {
        self.keep_script_as_oracle();
        let bytes = std::fs::read(super::beamrc_bin()).expect("read beamrc binary");
        replace_executable(&self.bin(), &bytes);
        self.bin()
    }

    /// `releases/VSN`.
    pub fn version_dir(&self) -> PathBuf {
        self.root.join("releases").join(self.fixture.version())
    }

    /// `erts-*/bin` of the copy, if ERTS is included.
    pub fn erts_bin(&self) -> Option<PathBuf> {
        std::fs::read_dir(&self.root)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("erts-"))
            .map(|e| e.path().join("bin"))
    }

    /// `RELEASE_TMP` default: `root/tmp`.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Concatenated `tmp/log/erlang.log.*` of a daemon (empty if none yet).
    pub fn daemon_log(&self) -> String {
        let log_dir = self.tmp_dir().join("log");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&log_dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("erlang.log."))
        });
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    /// The private epmd of this copy, started on first use (also by [`cmd`](Self::cmd)).
    pub fn epmd(&self) -> &Epmd {
        self.epmd.get_or_init(Epmd::start)
    }

    /// Extra directory put first on `PATH` by [`cmd`](Self::cmd).
    pub fn set_path_prefix(&self, dir: Option<PathBuf>) {
        *self.path_prefix.lock().unwrap() = dir;
    }

    /// `PATH` as given to commands.
    pub fn path_env(&self) -> OsString {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        match &*self.path_prefix.lock().unwrap() {
            Some(prefix) => {
                let mut dirs = vec![prefix.clone()];
                dirs.extend(std::env::split_paths(&inherited));
                std::env::join_paths(dirs).expect("join PATH")
            }
            None => inherited,
        }
    }

    /// A command with a clean environment: `PATH` (inherited, plus the recorder prefix),
    /// `LANG` (inherited, default `C.UTF-8`), `HOME=dir/home`, `ERL_EPMD_PORT=<private epmd>`;
    /// cwd `dir`. Nothing else is inherited (no stray `RELEASE_*`, `MIX_*`, `CARGO_*`).
    pub fn cmd(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .env_clear()
            .env("PATH", self.path_env())
            .env(
                "LANG",
                std::env::var_os("LANG").unwrap_or_else(|| "C.UTF-8".into()),
            )
            .env("HOME", &self.home)
            .env("ERL_EPMD_PORT", self.epmd().port.to_string())
            .current_dir(&self.dir);
        c
    }

    /// Runs `program args` (see [`cmd`](Self::cmd)) with extra `env`, to completion, with a
    /// 60 s timeout that kills by PID and panics with the output so far.
    #[track_caller]
    pub fn run(
        &self,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
    ) -> RunOutput {
        self.run_timeout(program, args, env, stdin, DEFAULT_TIMEOUT)
    }

    #[track_caller]
    pub fn run_timeout(
        &self,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> RunOutput {
        let mut c = self.cmd(program, args);
        c.envs(env.iter().copied());
        run_command(c, stdin, timeout)
    }

    /// Starts `program args` in the background (e.g. a foreground `start`); the returned
    /// [`Running`] kills it by PID when dropped.
    pub fn spawn(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut c = self.cmd(program, args);
        c.envs(env.iter().copied());
        spawn_captured(c, None)
    }

    /// Replaces the programs at the end of the exec chain by recorders (see
    /// [`Recorder`]): `erts-V/bin/erlexec` and `run_erl` in the copy, or, for releases without
    /// ERTS, `erl` and `run_erl` in `dir/recbin`, which [`cmd`](Self::cmd) then puts first
    /// on `PATH`.
    pub fn install_recorders(&self) -> Recorder {
        let records = self.dir.join("records");
        match self.erts_bin() {
            Some(bin) => Recorder::install(&records, &bin, &["erlexec", "run_erl"], false),
            None => {
                let rec = Recorder::install(
                    &records,
                    &self.dir.join("recbin"),
                    &["erl", "run_erl"],
                    true,
                );
                self.set_path_prefix(rec.path_prefix.clone());
                rec
            }
        }
    }

    /// `root/BOOTED` as written by the fixture application, if present.
    pub fn booted(&self) -> Option<Booted> {
        std::fs::read_to_string(self.root.join("BOOTED"))
            .ok()
            .map(|t| Booted::parse(&t))
    }

    /// Deletes `root/BOOTED` (e.g. before a restart).
    pub fn clear_booted(&self) {
        let _ = std::fs::remove_file(self.root.join("BOOTED"));
    }

    /// Waits until the application has written `root/BOOTED`.
    pub fn wait_booted(&self, timeout: Duration) -> Booted {
        super::wait_for(timeout, &format!("{} writes BOOTED", self.name), || {
            self.booted()
        })
    }

    /// Kills every process started from this copy now (also done on drop).
    pub fn kill_all(&self) -> Vec<i32> {
        kill_processes_under(&self.dir)
    }
}

impl Drop for TestRelease {
    fn drop(&mut self) {
        kill_processes_under(&self.dir);
        // Then the fields drop: the epmd (killed by PID), then the temp dir.
    }
}
