//! A Mix release that hot-upgrades: `upapp` 0.1.0 and 0.2.0 (no Hex), an appup for the
//! gen_server whose state changes shape (`code_change` both ways), a relup made with
//! `:systools.make_relup/3` against the two builds, and the package (`lib`, `releases`,
//! `bin` of 0.2.0, as `tar` packs a release root).
//!
//! Built once per recipe and cached next to the other fixtures; tests run a private copy of
//! 0.1.0 ([`UpRelease`]) with its own epmd, and kill what they started by PID.
use super::cleanup::{TempDir, kill_processes_under, remove_tree};
use super::epmd::Epmd;
use super::run::{RunOutput, run_command};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub const APP: &str = "upapp";
const RECIPE: &str = "upapp-v1";

const MIX_EXS: &str = r#"defmodule Upapp.MixProject do
  use Mix.Project
  def project do
    [app: :upapp, version: "@VSN@", elixir: "~> 1.12", deps: [],
     releases: [upapp: [include_executables_for: [:unix]]]]
  end
  def application, do: [extra_applications: [:logger, :sasl], mod: {Upapp.Application, []}]
end
"#;

const CONFIG: &str = "import Config\nconfig :upapp, greeting: \"from config.exs\"\n";
const RUNTIME: &str = "import Config\nconfig :upapp, runtime_greeting: System.get_env(\"UPAPP_GREETING\", \"unset\")\n";

const V1: &str = r#"defmodule Upapp.Application do
  use Application
  def start(_t, _a), do: Supervisor.start_link([Upapp.Counter], strategy: :one_for_one, name: Upapp.Sup)
end
defmodule Upapp.Counter do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, 0, name: __MODULE__)
  def bump, do: GenServer.call(__MODULE__, :bump)
  def info, do: GenServer.call(__MODULE__, :info)
  @impl true
  def init(n), do: {:ok, n}
  @impl true
  def handle_call(:bump, _f, n), do: {:reply, n + 1, n + 1}
  def handle_call(:info, _f, n), do: {:reply, "v1 count=#{n}", n}
end
"#;

const V2: &str = r#"defmodule Upapp.Application do
  use Application
  def start(_t, _a), do: Supervisor.start_link([Upapp.Counter], strategy: :one_for_one, name: Upapp.Sup)
end
defmodule Upapp.Counter do
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, %{count: 0, since: "0.2.0"}, name: __MODULE__)
  def bump, do: GenServer.call(__MODULE__, :bump)
  def info, do: GenServer.call(__MODULE__, :info)
  @impl true
  def init(s), do: {:ok, s}
  @impl true
  def handle_call(:bump, _f, s), do: {:reply, s.count + 1, %{s | count: s.count + 1}}
  def handle_call(:info, _f, s), do: {:reply, "v2 count=#{s.count} since=#{s.since}", s}
  @impl true
  def code_change({:down, _}, %{count: n}, _extra), do: {:ok, n}
  def code_change(_old, n, _extra) when is_integer(n), do: {:ok, %{count: n, since: "upgrade"}}
end
"#;

pub const APPUP: &str = r#"{"0.2.0",
 [{"0.1.0", [{update, 'Elixir.Upapp.Counter', {advanced, []}}]}],
 [{"0.1.0", [{update, 'Elixir.Upapp.Counter', {advanced, []}}]}]}.
"#;

/// The built pieces: the two release roots and the package of 0.2.0.
#[derive(Debug)]
pub struct Built {
    pub v1: PathBuf,
    pub v2: PathBuf,
    pub package: PathBuf,
}

/// A fixture recipe's cache key.
pub fn hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn sh(cmd: Command, what: &str) -> RunOutput {
    let out = run_command(cmd, None, Duration::from_secs(600));
    assert!(out.success(), "{what} failed:\n{out}");
    out
}

/// The release option of the reboot variant.
const REBOOT: &str = "reboot_system_after_config: true";

fn mix_release(project: &Path, home: &Path, vsn: &str, source: &str, reboot: bool) -> PathBuf {
    let mut mix_exs = MIX_EXS.replace("@VSN@", vsn);
    if reboot {
        mix_exs = mix_exs.replace("[:unix]]", &format!("[:unix], {REBOOT}]"));
    }
    for (rel, text) in [
        ("mix.exs", mix_exs),
        ("config/config.exs", CONFIG.to_string()),
        ("config/runtime.exs", RUNTIME.to_string()),
        ("lib/upapp.ex", source.to_string()),
    ] {
        let p = project.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let mut cmd = Command::new("mix");
    cmd.arg("release")
        .current_dir(project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", home)
        .env("MIX_HOME", home.join(".mix"))
        .env("HEX_OFFLINE", "1")
        .env("MIX_ENV", "prod");
    sh(cmd, &format!("mix release of upapp {vsn}"));
    project.join("_build/prod/rel").join(APP)
}

/// `tar czf PACKAGE -C ROOT ENTRIES…`.
pub fn tar(package: &Path, root: &Path, entries: &[&str]) {
    let mut cmd = Command::new("tar");
    cmd.arg("czf")
        .arg(package)
        .arg("-C")
        .arg(root)
        .args(entries);
    sh(cmd, "tar");
}

/// Builds (once) both versions, the appup, the relup and the package.
pub fn built() -> &'static Built {
    static CELL: OnceLock<Built> = OnceLock::new();
    CELL.get_or_init(|| build(false))
}

/// The same with `reboot_system_after_config: true` in both versions.
pub fn built_reboot() -> &'static Built {
    static CELL: OnceLock<Built> = OnceLock::new();
    CELL.get_or_init(|| build(true))
}

fn build(reboot: bool) -> Built {
    {
        super::require_erlang();
        let mut parts = vec![
            RECIPE,
            MIX_EXS,
            CONFIG,
            RUNTIME,
            V1,
            V2,
            APPUP,
            super::fixtures::elixir_version_text(),
        ];
        if reboot {
            parts.push(REBOOT);
        }
        let key = hash(&parts);
        let dir = super::fixtures::cache_dir().join(format!("upapp-{key}"));
        let done = Built {
            v1: dir.join("v1/_build/prod/rel").join(APP),
            v2: dir.join("v2/_build/prod/rel").join(APP),
            package: dir.join("upapp-0.2.0.tar.gz"),
        };
        if done.package.is_file() {
            return done;
        }
        let tmp = dir.with_extension(format!("build-{}", std::process::id()));
        remove_tree(&tmp);
        let home = tmp.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let v1 = mix_release(&tmp.join("v1"), &home, "0.1.0", V1, reboot);
        let v2 = mix_release(&tmp.join("v2"), &home, "0.2.0", V2, reboot);
        std::fs::write(v2.join("lib/upapp-0.2.0/ebin/upapp.appup"), APPUP).unwrap();
        let old = v1.join("releases/0.1.0").join(APP);
        let expr = format!(
            "{{ok, _, _, []}} = systools:make_relup(\"releases/0.2.0/upapp\", [\"{old}\"], [\"{old}\"], [{{path, [\"lib/*/ebin\", \"{}/lib/*/ebin\"]}}, {{outdir, \"releases/0.2.0\"}}, silent, warnings_as_errors]), halt().",
            v1.display(),
            old = old.display()
        );
        let mut cmd = Command::new("erl");
        cmd.args(["-noshell", "-eval", &expr]).current_dir(&v2);
        sh(cmd, "systools:make_relup");
        assert!(
            v2.join("releases/0.2.0/relup").is_file(),
            "no relup written"
        );
        tar(
            &tmp.join("upapp-0.2.0.tar.gz"),
            &v2,
            &["lib", "releases", "bin"],
        );
        remove_tree(&home);
        if std::fs::rename(&tmp, &dir).is_err() {
            remove_tree(&tmp); // another test process won the race
        }
        assert!(done.package.is_file(), "upapp fixture missing after build");
        done
    }
}

/// A private copy of a release (upapp 0.1.0, or relx's upr deployed from its package) with
/// beamrc installed, its own epmd and `HOME` (and relx's `PIPE_DIR`).
pub struct UpRelease {
    pub root: PathBuf,
    pub dir: PathBuf,
    name: &'static str,
    home: PathBuf,
    epmd: Epmd,
    pipe_dir: bool,
    _tmp: TempDir,
}

impl UpRelease {
    /// `under`: place the release at `dir/UNDER/upapp` (e.g. inside a `_build`).
    pub fn new(under: Option<&str>) -> UpRelease {
        UpRelease::of(built(), under)
    }

    /// upapp 0.1.0 of `b` (e.g. [`built_reboot`]).
    pub fn of(b: &Built, under: Option<&str>) -> UpRelease {
        let tmp = TempDir::new();
        let dir = tmp.path().to_path_buf();
        let parent = under.map_or(dir.clone(), |u| dir.join(u));
        std::fs::create_dir_all(&parent).unwrap();
        let root = parent.join(APP);
        let mut cp = Command::new("cp");
        cp.arg("-a").arg(&b.v1).arg(&root);
        sh(cp, "cp -a");
        let rel = UpRelease::installed(tmp, root, APP, false);
        use std::os::unix::fs::PermissionsExt;
        let cookie = rel.root.join("releases/COOKIE");
        std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400)).unwrap();
        rel
    }

    /// `root` (in `tmp`) with beamrc installed as `bin/NAME`; `relx`: commands get a
    /// `PIPE_DIR` of their own.
    pub fn installed(tmp: TempDir, root: PathBuf, name: &'static str, relx: bool) -> UpRelease {
        let dir = tmp.path().to_path_buf();
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut install = Command::new(super::beamrc_bin());
        install.arg("install").arg(&root);
        sh(install, "beamrc install");
        UpRelease {
            root,
            dir,
            name,
            home,
            epmd: Epmd::start(),
            pipe_dir: relx,
            _tmp: tmp,
        }
    }

    /// `bin/NAME ARGS` with a clean environment (the private epmd and HOME, `env`).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
        let mut c = Command::new(self.root.join("bin").join(self.name));
        if self.pipe_dir {
            c.env("PIPE_DIR", format!("{}/pipes/", self.dir.display()));
        }
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("HOME", &self.home)
            .env("ERL_EPMD_PORT", self.epmd.port.to_string())
            .envs(env.iter().copied())
            .current_dir(&self.dir);
        run_command(c, None, Duration::from_secs(120))
    }

    /// Like [`run`](Self::run), asserting exit 0; the stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args, &[]);
        assert_eq!(out.code, Some(0), "{args:?}:\n{out}");
        out.stdout
    }

    /// `rpc EXPR`'s stdout, trimmed.
    #[track_caller]
    pub fn rpc(&self, expr: &str) -> String {
        self.ok(&["rpc", expr]).trim().to_string()
    }

    /// `eval EXPR`'s stdout, trimmed (relx).
    #[track_caller]
    pub fn eval(&self, expr: &str) -> String {
        self.ok(&["eval", expr]).trim().to_string()
    }

    pub fn daemon(&self, greeting: &str) {
        let out = self.run(&["daemon"], &[("UPAPP_GREETING", greeting)]);
        assert_eq!(out.code, Some(0), "daemon:\n{out}");
    }

    /// The package put where the lookup finds it first.
    pub fn put_package(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.root.join("releases").join(name);
        std::fs::copy(from, &to).unwrap();
        to
    }
}

impl Drop for UpRelease {
    fn drop(&mut self) {
        kill_processes_under(&self.dir);
    }
}

/// A beam file without its `Attr` chunk (what stripping tools leave).
pub fn strip_attr(beam: &[u8]) -> Vec<u8> {
    let mut body = b"BEAM".to_vec();
    let mut i = 12;
    while i + 8 <= beam.len() {
        let size = u32::from_be_bytes(beam[i + 4..i + 8].try_into().unwrap()) as usize;
        let end = (i + 8 + size.div_ceil(4) * 4).min(beam.len());
        if &beam[i..i + 4] != b"Attr" {
            body.extend_from_slice(&beam[i..end]);
        }
        i = end;
    }
    let mut out = b"FOR1".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}
