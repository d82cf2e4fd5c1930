//! rebar3/relx releases for the tests: built once (cached) by `rebar3 new release NAME` +
//! `rebar3 as prod release`, offline (no dependencies, no Hex), and private copies of them.
//!
//! Every fixture keeps relx's generated extended script: after [`RelxRelease::install_beamrc`]
//! it is `bin/NAME.sh`, the oracle the differential tests compare against.
//!
//! What rebar3 3.19 (relx 4.7.0) writes, observed: `bin/NAME` (the extended script) and an
//! identical `bin/NAME-VSN`, `bin/nodetool`, `bin/install_upgrade.escript`,
//! `bin/no_dot_erlang.boot`, `bin/hooks/builtin/*` (only the builtins referenced), the user's
//! overlays (hooks, extensions), `erts-VSN/` with `include_erts`, `releases/VSN/{NAME.rel,
//! start.boot, start.script, start_clean.boot, no_dot_erlang.boot, sys.config[.src],
//! vm.args[.src]}`, `releases/{RELEASES,start_erl.data}`. relx in rebar3 3.24/3.28 differs in
//! small ways (nodetool `-dist_listen false`, `-proto_dist` forcing nodetool, no stray root
//! echo before "Starting up"); the version matrix builds the same fixtures with those.
//! Cache: `<target>/launcher-fixtures/relx-<name>-<hash>/`, built in a temp sibling and
//! renamed into place.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::cleanup::{TempDir, kill_processes_under, remove_tree};
use super::epmd::Epmd;
use super::record::{Recorder, replace_executable};
use super::run::{DEFAULT_TIMEOUT, RunOutput, run_command};

const RECIPE_VERSION: &str = "beamrc-relx-fixtures-v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelxFixture {
    /// `erlapp` 0.1.0 exactly as `rebar3 new release` makes it (vm.args `-sname erlapp`
    /// without a host, `-setcookie erlapp_cookie`), prod profile: ERTS included.
    Plain,
    /// `hooked`: custom pre/post start/stop hooks appending `{phase, REL_NAME, 'NAME',
    /// COOKIE}.` to `<root>/test`, post_start builtins `wait_for_vm_start` and
    /// `{pid, "foo.pid"}`, a status hook, and extensions `bar` (exit 0), `foo` (exit 42),
    /// `baz` (no exit). `-sname hooked@localhost`. Hooks and extensions are copied both under
    /// `bin/` (relx ≤ 4.7 resolves them there) and under the root (later relx).
    Hooks,
    /// `srcapp`: `vm.args.src` (`-sname ${NODENAME:-srcapp}@localhost`,
    /// `-setcookie ${COOKIE:-srcapp_cookie}`) and `sys.config.src` with `{var1, ${VAR1:-1}}`
    /// and `{var2, "${VAR2:-two}"}` (not valid Erlang before substitution).
    Src,
    /// `noerts`: prod profile in `{mode, minimal}` (no ERTS): the script finds `erl` on `PATH`.
    NoErts,
    /// `plainbin`: `{extended_start_script, false}`: only relx's plain `bin` script.
    PlainBin,
}

impl RelxFixture {
    pub const ALL: [RelxFixture; 5] = [
        RelxFixture::Plain,
        RelxFixture::Hooks,
        RelxFixture::Src,
        RelxFixture::NoErts,
        RelxFixture::PlainBin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RelxFixture::Plain => "erlapp",
            RelxFixture::Hooks => "hooked",
            RelxFixture::Src => "srcapp",
            RelxFixture::NoErts => "noerts",
            RelxFixture::PlainBin => "plainbin",
        }
    }

    pub fn version(self) -> &'static str {
        "0.1.0"
    }

    /// rebar.config's `relx` options beyond the release itself.
    fn relx_options(self) -> String {
        match self {
            RelxFixture::Plain => String::new(),
            RelxFixture::Hooks => r#",
        {extended_start_script_hooks, [
            {pre_start, [{custom, "hooks/pre_start"}]},
            {post_start, [wait_for_vm_start, {pid, "foo.pid"}, {custom, "hooks/post_start"}]},
            {pre_stop, [{custom, "hooks/pre_stop"}]},
            {post_stop, [{custom, "hooks/post_stop"}]},
            {status, [{custom, "hooks/status"}]}]},
        {extended_start_script_extensions, [
            {bar, "extensions/bar"}, {foo, "extensions/foo"}, {baz, "extensions/baz"}]},
        {overlay, [
            {copy, "hooks/pre_start", "bin/hooks/pre_start"}, {copy, "hooks/pre_start", "hooks/pre_start"},
            {copy, "hooks/post_start", "bin/hooks/post_start"}, {copy, "hooks/post_start", "hooks/post_start"},
            {copy, "hooks/pre_stop", "bin/hooks/pre_stop"}, {copy, "hooks/pre_stop", "hooks/pre_stop"},
            {copy, "hooks/post_stop", "bin/hooks/post_stop"}, {copy, "hooks/post_stop", "hooks/post_stop"},
            {copy, "hooks/status", "bin/hooks/status"}, {copy, "hooks/status", "hooks/status"},
            {copy, "extensions/bar", "bin/extensions/bar"}, {copy, "extensions/bar", "extensions/bar"},
            {copy, "extensions/foo", "bin/extensions/foo"}, {copy, "extensions/foo", "extensions/foo"},
            {copy, "extensions/baz", "bin/extensions/baz"}, {copy, "extensions/baz", "extensions/baz"}]}"#
                .to_string(),
            RelxFixture::Src => r#",
        {sys_config_src, "./config/sys.config.src"},
        {vm_args_src, "./config/vm.args.src"}"#
                .to_string(),
            RelxFixture::NoErts => String::new(),
            RelxFixture::PlainBin => ",\n        {extended_start_script, false}".to_string(),
        }
    }

    /// Files written over `rebar3 new release NAME`'s output, as (path, contents).
    fn files(self) -> Vec<(String, String)> {
        let name = self.name();
        let plain_config = self != RelxFixture::Src;
        let mut files = vec![(
            "rebar.config".to_string(),
            format!(
                "{{erl_opts, [debug_info]}}.\n{{deps, []}}.\n\n\
                 {{relx, [{{release, {{{name}, \"0.1.0\"}}, [{name}, sasl]}},\n\
                 \x20       {{mode, dev}}{config}{extra}\n]}}.\n\n\
                 {{profiles, [{{prod, [{{relx, [{{mode, {mode}}}]}}]}}]}}.\n",
                mode = if self == RelxFixture::NoErts {
                    "minimal"
                } else {
                    "prod"
                },
                config = if plain_config {
                    ",\n        {sys_config, \"./config/sys.config\"},\n        {vm_args, \"./config/vm.args\"}"
                } else {
                    ""
                },
                extra = self.relx_options(),
            ),
        )];
        let mut add = |path: &str, text: String| files.push((path.to_string(), text));
        match self {
            RelxFixture::Hooks => {
                add(
                    "config/vm.args",
                    format!("-sname {name}@localhost\n\n-setcookie {name}\n\n+K true\n+A30\n"),
                );
                for phase in ["pre_start", "post_start", "pre_stop", "post_stop"] {
                    add(
                        &format!("hooks/{phase}"),
                        format!(
                            "#!/bin/sh\necho \"{{{phase}, $REL_NAME, '$NAME', $COOKIE}}.\" >> test\n"
                        ),
                    );
                }
                add(
                    "hooks/status",
                    "#!/bin/sh\necho \"{status, $REL_NAME, '$NAME', $COOKIE}.\"\n".to_string(),
                );
                add(
                    "extensions/bar",
                    "#!/bin/sh\necho \"{bar, $REL_NAME, '$NAME', $COOKIE}.\"\nexit 0\n".to_string(),
                );
                add(
                    "extensions/foo",
                    "#!/bin/sh\necho \"teststring\"\nexit 42\n".to_string(),
                );
                add(
                    "extensions/baz",
                    "#!/bin/sh\necho \"teststring\"\n".to_string(),
                );
            }
            RelxFixture::Src => {
                add(
                    "config/vm.args.src",
                    format!(
                        "-sname ${{NODENAME:-{name}}}@localhost\n\n\
                         -setcookie ${{COOKIE:-{name}_cookie}}\n\n+K true\n+A30\n"
                    ),
                );
                add(
                    "config/sys.config.src",
                    format!(
                        "[\n  {{{name}, [{{var1, ${{VAR1:-1}}}}, {{var2, \"${{VAR2:-two}}\"}}]}}\n].\n"
                    ),
                );
            }
            _ => {}
        }
        files
    }
}

/// `rebar3 version`, once (the cache key; panics with an install hint without rebar3).
pub fn rebar3_version() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        super::require_erlang();
        let Some(rebar3) = super::which("rebar3") else {
            panic!("\n\n*** the relx tests need rebar3 on PATH: apt-get install rebar3 ***\n\n");
        };
        let mut cmd = Command::new(rebar3);
        cmd.arg("version").env("HOME", std::env::temp_dir());
        let out = run_command(cmd, None, Duration::from_secs(60));
        out.assert_success("rebar3 version");
        out.stdout.trim().to_string()
    })
}

/// `relx-NAME-HASH`: the hash covers the recipe, `rebar3 version` and every project file
/// (std's SipHash with its fixed keys: stable for one toolchain, which is all a cache needs).
fn cache_key(f: RelxFixture) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (RECIPE_VERSION, rebar3_version(), f.files()).hash(&mut h);
    format!("relx-{}-{:016x}", f.name(), h.finish())
}

/// The cached release root of `f`, built on first use.
pub fn relx_fixture(f: RelxFixture) -> &'static Path {
    static CELLS: [OnceLock<PathBuf>; 5] = [const { OnceLock::new() }; 5];
    let idx = RelxFixture::ALL
        .iter()
        .position(|&x| x == f)
        .expect("listed");
    CELLS[idx].get_or_init(|| build(f))
}

fn rebar3(dir: &Path, home: &Path, args: &[&str]) -> RunOutput {
    let mut cmd = Command::new("rebar3");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", home)
        .env("REBAR_OFFLINE", "1")
        .env("HEX_OFFLINE", "1");
    run_command(cmd, None, Duration::from_secs(600))
}

fn build(f: RelxFixture) -> PathBuf {
    let cache = super::fixtures::cache_dir();
    std::fs::create_dir_all(&cache).expect("create fixture cache");
    let key = cache_key(f);
    let project = cache.join(&key);
    let rel_in = |p: &Path| p.join(f.name()).join("_build/prod/rel").join(f.name());
    let root = rel_in(&project);
    if root.join("bin").join(f.name()).is_file() {
        return root;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = cache.join(format!(".build-{key}-{}-{nanos}", std::process::id()));
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).expect("create build home");
    let out = rebar3(&tmp, &home, &["new", "release", f.name()]);
    if !out.success() {
        remove_tree(&tmp);
        panic!("`rebar3 new release {}` failed:\n{out}", f.name());
    }
    let src = tmp.join(f.name());
    for (rel, text) in f.files() {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).expect("create project dir");
        std::fs::write(&path, text).expect("write project file");
    }
    if f == RelxFixture::Src {
        for old in ["config/vm.args", "config/sys.config"] {
            let _ = std::fs::remove_file(src.join(old));
        }
    }
    let out = rebar3(&src, &home, &["as", "prod", "release"]);
    remove_tree(&home);
    if !out.success() || !rel_in(&tmp).join("bin").join(f.name()).is_file() {
        remove_tree(&tmp);
        panic!("`rebar3 as prod release` of {f:?} failed:\n{out}");
    }
    if std::fs::rename(&tmp, &project).is_err() {
        remove_tree(&tmp);
        assert!(
            root.join("bin").join(f.name()).is_file(),
            "cannot move the {f:?} build into {}",
            project.display()
        );
    }
    root
}

/// A private copy of a relx fixture in a fresh temp dir, with its own epmd and `HOME`;
/// every process started from it is killed by PID on drop.
#[derive(Debug)]
pub struct RelxRelease {
    pub fixture: RelxFixture,
    pub root: PathBuf,
    pub name: String,
    pub dir: PathBuf,
    pub home: PathBuf,
    pub path_prefix: Option<PathBuf>,
    epmd: OnceLock<Epmd>,
    tmp: TempDir,
}

impl RelxRelease {
    pub fn new(f: RelxFixture) -> RelxRelease {
        Self::new_under(f, None)
    }

    /// The copy at `dir/<under>/NAME` (e.g. a path with spaces).
    pub fn new_under(f: RelxFixture, under: Option<&str>) -> RelxRelease {
        let src = relx_fixture(f);
        let tmp = TempDir::new();
        let dir = tmp.path().to_path_buf();
        let parent = under.map_or(dir.clone(), |u| dir.join(u));
        let home = dir.join("home");
        std::fs::create_dir_all(&parent).expect("create parent");
        std::fs::create_dir_all(&home).expect("create home");
        let root = parent.join(f.name());
        let ok = Command::new("cp")
            .arg("-a")
            .arg(src)
            .arg(&root)
            .status()
            .expect("run cp")
            .success();
        assert!(ok, "cp -a {} {}", src.display(), root.display());
        RelxRelease {
            fixture: f,
            root,
            name: f.name().to_string(),
            dir,
            home,
            path_prefix: None,
            epmd: OnceLock::new(),
            tmp,
        }
    }

    pub fn bin(&self) -> PathBuf {
        self.root.join("bin").join(&self.name)
    }

    /// `bin/NAME.sh`: relx's script as `beamrc install` keeps it.
    pub fn oracle(&self) -> PathBuf {
        self.root.join("bin").join(format!("{}.sh", self.name))
    }

    pub fn version_dir(&self) -> PathBuf {
        self.root.join("releases").join(self.fixture.version())
    }

    /// `erts-*/bin`, when the release bundles ERTS.
    pub fn erts_bin(&self) -> Option<PathBuf> {
        let entries = std::fs::read_dir(&self.root).ok()?;
        let erts = entries.flatten().map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("erts-"))
        })?;
        Some(erts.join("bin"))
    }

    /// Runs the real `beamrc install` on the copy (the script becomes `bin/NAME.sh`).
    pub fn install_beamrc(&self) -> RunOutput {
        let mut c = Command::new(super::beamrc_bin());
        c.arg("install").arg(&self.root).env("HOME", &self.home);
        run_command(c, None, DEFAULT_TIMEOUT)
    }

    /// Keeps the script as `bin/NAME.sh` and copies beamrc over `bin/NAME` directly (for
    /// tests that must not depend on `beamrc install`).
    pub fn replace_with_beamrc(&self) {
        if !self.oracle().exists() {
            std::fs::copy(self.bin(), self.oracle()).expect("keep the script");
        }
        let bytes = std::fs::read(super::beamrc_bin()).expect("read beamrc");
        replace_executable(&self.bin(), &bytes);
    }

    pub fn epmd(&self) -> &Epmd {
        self.epmd.get_or_init(Epmd::start)
    }

    /// A clean environment: `PATH` (recorder prefix first), `LANG`, `HOME`, `ERL_EPMD_PORT`,
    /// `TERM=dumb` (so both sides export `TERM=screen`); cwd `dir`.
    pub fn cmd(&self, program: &Path, args: &[&str]) -> Command {
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path = match &self.path_prefix {
            Some(p) => {
                let mut dirs = vec![p.clone()];
                dirs.extend(std::env::split_paths(&inherited));
                std::env::join_paths(dirs).expect("join PATH")
            }
            None => inherited,
        };
        let mut c = Command::new(program);
        c.args(args)
            .env_clear()
            .env("PATH", path)
            .env("LANG", "C.UTF-8")
            .env("HOME", &self.home)
            .env("USER", "beamrc-test")
            .env("ERL_EPMD_PORT", self.epmd().port.to_string())
            .current_dir(&self.dir);
        c
    }

    #[track_caller]
    pub fn run(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
        let mut c = self.cmd(program, args);
        c.envs(env.iter().copied());
        run_command(c, None, DEFAULT_TIMEOUT)
    }

    /// Replaces `erlexec`, `run_erl`, `to_erl` and `escript` by recorders (see
    /// [`Recorder`]), and `erl_call` by a stand-in that answers "true" (so the script's
    /// `daemon` does not wait forever for a node the recorder never starts). The erlexec
    /// recorder also answers relx's host-name probe (`-eval …`) with the short host name,
    /// as the VM would.
    pub fn install_recorders(&mut self) -> Recorder {
        let records = self.dir.join("records");
        let bin = self
            .erts_bin()
            .expect("relx recorders need a release with ERTS");
        let rec = Recorder::install(&records, &bin, &["run_erl", "to_erl", "escript"], false);
        let dir = records
            .to_str()
            .expect("UTF-8 record dir")
            .replace('\'', "'\\''");
        let erlexec = format!(
            "#!/bin/sh\n\
             f='{dir}'/$(date +%s%N)-$$-erlexec\n\
             printf '%s\\0' \"$0\" \"$@\" > \"$f.argv.tmp\"\n\
             cat /proc/$$/environ > \"$f.env.tmp\"\n\
             mv \"$f.env.tmp\" \"$f.env\"\n\
             mv \"$f.argv.tmp\" \"$f.argv\"\n\
             case \" $* \" in *\" -eval \"*) hostname | cut -d. -f1 ;; esac\n\
             exit 0\n"
        );
        replace_executable(&bin.join("erlexec"), erlexec.as_bytes());
        replace_executable(&bin.join("erl_call"), b"#!/bin/sh\necho true\n");
        rec
    }

    pub fn kill_all(&self) -> Vec<i32> {
        kill_processes_under(&self.dir)
    }
}

impl Drop for RelxRelease {
    fn drop(&mut self) {
        kill_processes_under(&self.dir);
    }
}

/// A shell script (`#!`), not a binary.
pub fn is_script(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"#!"))
}
