//! Dependency-free Mix projects, built into releases once and cached.
//!
//! Each fixture is a small project whose files are generated here (see [`Fixture::files`]),
//! modelled on Elixir's own `release_test` fixture: an Application that, when started,
//! writes a report of what the VM sees to `$RELEASE_ROOT/BOOTED` (see
//! [`Booted`](super::Booted)), plus `hello/0` and `greeting/0`.
//!
//! Cache: `<target>/launcher-fixtures/<app>-<hash>/` (override the parent with
//! `BEAMRC_FIXTURE_CACHE`), where the hash covers the project files, the build recipe and
//! `elixir --version`. A build happens in a sibling temp dir which is renamed into place, so
//! concurrent test processes never see a half-built release.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::run::run_command;

/// Bump to invalidate every cached fixture when the recipe below changes in a way the
/// hashed inputs do not capture.
const RECIPE_VERSION: &str = "beamrc-fixtures-v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fixture {
    /// `demo` 0.1.0: default release options (ERTS included, sname), static
    /// `config :demo, greeting: "from sys.config"`.
    Plain,
    /// `rtdemo`: `config/runtime.exs` reads `GREETING`; `reboot_system_after_config: true`, so
    /// sys.config carries `RUNTIME_CONFIG=true`.
    Runtime,
    /// `noerts`: `include_erts: false`; runs `erl` from `PATH`.
    NoErts,
    /// `envsh`: custom `rel/env.sh.eex` exporting `ENVSH_SEEN="args:$*"` and
    /// `ELIXIR_ERL_OPTIONS="+K true"`, and setting `RELEASE_NODE=envsh_node` without export.
    EnvSh,
    /// `subst`: `rel/vm.args.eex` with `## substituted: ${NODE_NAME}` and
    /// `-env SUBST_PORT ${SUBST_PORT:-4000}`; sys.config holds the literal `'${GREETING}'`
    /// (`greeting` is the atom `:"${GREETING}"`; `greeting_binary` the string, which Mix
    /// writes as a byte list).
    Subst,
}

impl Fixture {
    pub const ALL: [Fixture; 5] = [
        Fixture::Plain,
        Fixture::Runtime,
        Fixture::NoErts,
        Fixture::EnvSh,
        Fixture::Subst,
    ];

    /// The OTP application name, which is also the release name.
    pub fn app(self) -> &'static str {
        match self {
            Fixture::Plain => "demo",
            Fixture::Runtime => "rtdemo",
            Fixture::NoErts => "noerts",
            Fixture::EnvSh => "envsh",
            Fixture::Subst => "subst",
        }
    }

    /// The Elixir module holding `hello/0` and `greeting/0`.
    pub fn module(self) -> &'static str {
        match self {
            Fixture::Plain => "Demo",
            Fixture::Runtime => "Rtdemo",
            Fixture::NoErts => "Noerts",
            Fixture::EnvSh => "Envsh",
            Fixture::Subst => "Subst",
        }
    }

    pub fn version(self) -> &'static str {
        "0.1.0"
    }

    pub fn includes_erts(self) -> bool {
        self != Fixture::NoErts
    }

    /// Keyword list given to `releases: [NAME: ...]` in mix.exs.
    fn release_options(self) -> &'static str {
        match self {
            Fixture::Plain => "include_erts: true",
            Fixture::Runtime => "reboot_system_after_config: true",
            Fixture::NoErts => "include_erts: false",
            Fixture::EnvSh | Fixture::Subst => "",
        }
    }

    /// Every file of the Mix project, as (relative path, contents).
    pub fn files(self) -> Vec<(String, String)> {
        let app = self.app();
        let module = self.module();
        let mut files = vec![
            (
                "mix.exs".to_string(),
                MIX_EXS
                    .replace("@MODULE@", module)
                    .replace("@APP@", app)
                    .replace("@VSN@", self.version())
                    .replace("@RELEASE_OPTIONS@", self.release_options()),
            ),
            (
                format!("lib/{app}.ex"),
                MAIN_EX.replace("@MODULE@", module).replace("@APP@", app),
            ),
            (
                format!("lib/{app}/application.ex"),
                APPLICATION_EX.replace("@MODULE@", module),
            ),
        ];
        let mut add = |path: &str, text: &str| files.push((path.to_string(), text.to_string()));
        match self {
            Fixture::Plain => add(
                "config/config.exs",
                "import Config\n\nconfig :demo, greeting: \"from sys.config\"\n",
            ),
            Fixture::Runtime => add(
                "config/runtime.exs",
                "import Config\n\nconfig :rtdemo, greeting: System.get_env(\"GREETING\", \"unset\")\n",
            ),
            Fixture::NoErts => {}
            Fixture::EnvSh => add("rel/env.sh.eex", ENVSH_ENV_SH),
            Fixture::Subst => {
                add("rel/vm.args.eex", SUBST_VM_ARGS);
                add("config/config.exs", SUBST_CONFIG);
            }
        }
        files
    }
}

const MIX_EXS: &str = r#"defmodule @MODULE@.MixProject do
  use Mix.Project

  def project do
    [
      app: :@APP@,
      version: "@VSN@",
      start_permanent: Mix.env() == :prod,
      deps: [],
      releases: [@APP@: [@RELEASE_OPTIONS@]]
    ]
  end

  def application do
    [
      extra_applications: [:logger],
      mod: {@MODULE@.Application, []}
    ]
  end
end
"#;

const MAIN_EX: &str = r#"defmodule @MODULE@ do
  @moduledoc "beamrc test fixture."

  def hello, do: IO.puts("hello world")

  def greeting, do: Application.get_env(:@APP@, :greeting)

  # Writes $RELEASE_ROOT/BOOTED (atomically): one key=value per line, with backslashes and
  # newlines in values escaped as two backslashes and backslash-n. Needs RELEASE_ROOT.
  def write_booted(boot_count) do
    case System.get_env("RELEASE_ROOT") do
      nil ->
        :ok

      root ->
        file = Path.join(root, "BOOTED")
        tmp = file <> ".tmp"

        with :ok <- File.write(tmp, booted_report(boot_count)) do
          File.rename(tmp, file)
        end
    end
  end

  def booted_report(boot_count) do
    {:ok, cwd} = File.cwd()

    facts = [
      {"boot_count", Integer.to_string(boot_count)},
      {"node", Atom.to_string(node())},
      {"cookie", Atom.to_string(Node.get_cookie())},
      {"mode", Atom.to_string(:code.get_mode())},
      {"root_dir", List.to_string(:code.root_dir())},
      {"os_pid", List.to_string(:os.getpid())},
      {"cwd", cwd},
      {"greeting", inspect(greeting())},
      {"plain_args", inspect(:init.get_plain_arguments())}
    ]

    args = for {flag, values} <- :init.get_arguments(), do: {"arg.#{flag}", inspect(values)}
    env = for {k, v} <- Enum.sort(System.get_env()), do: {"env." <> k, v}

    Enum.map_join(facts ++ args ++ env, fn {k, v} -> k <> "=" <> escape(v) <> "\n" end)
  end

  defp escape(v), do: v |> String.replace("\\", "\\\\") |> String.replace("\n", "\\n")
end
"#;

const APPLICATION_EX: &str = r#"defmodule @MODULE@.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # Like Elixir's release_test fixture: the OS env survives :init.restart/0.
    count = String.to_integer(System.get_env("FIXTURE_BOOT_COUNT", "0")) + 1
    System.put_env("FIXTURE_BOOT_COUNT", Integer.to_string(count))
    @MODULE@.write_booted(count)
    Supervisor.start_link([], strategy: :one_for_one, name: @MODULE@.Supervisor)
  end
end
"#;

const ENVSH_ENV_SH: &str = r#"#!/bin/sh
# beamrc test fixture: what env.sh can do.
export ENVSH_SEEN="args:$*"
# Not exported: the release script must still pick it up (it exports RELEASE_NODE itself).
RELEASE_NODE=envsh_node
export ELIXIR_ERL_OPTIONS="+K true"
"#;

// Mix writes sys.config with `~tw`, which prints binaries and charlists as integer lists:
// only an atom keeps the literal `${GREETING}` text in sys.config (as `'${GREETING}'`).
const SUBST_CONFIG: &str = r#"import Config

config :subst, greeting: :"${GREETING}", greeting_binary: "${GREETING}"
"#;

const SUBST_VM_ARGS: &str = r#"## beamrc test fixture: OS-variable substitution candidates.
## substituted: ${NODE_NAME}
-env SUBST_PORT ${SUBST_PORT:-4000}
"#;

/// 64-bit FNV-1a: stable across Rust versions (unlike `DefaultHasher`).
fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `elixir --version` (which also names the OTP/erts release), computed once.
pub fn elixir_version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        super::require_erlang();
        let mut cmd = Command::new("elixir");
        cmd.arg("--version").env("LANG", "C.UTF-8");
        let out = run_command(cmd, None, Duration::from_secs(60));
        out.assert_success("elixir --version");
        out.stdout.trim().to_string()
    })
}

/// The version of the Elixir on `PATH` (the one building the fixtures), e.g. `(1, 18, 3)`:
/// for expectations that differ by version (the version matrix runs the suite on 1.14, 1.18
/// and 1.20).
pub fn elixir_version() -> (u32, u32, u32) {
    static VERSION: OnceLock<(u32, u32, u32)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let text = elixir_version_text();
        parse_elixir_version(text)
            .unwrap_or_else(|| panic!("no `Elixir X.Y.Z` line in `elixir --version`:\n{text}"))
    })
}

/// `Elixir 1.18.3 (compiled with Erlang/OTP 27)` → `(1, 18, 3)`.
fn parse_elixir_version(text: &str) -> Option<(u32, u32, u32)> {
    let word = text
        .lines()
        .find_map(|l| l.strip_prefix("Elixir "))?
        .split_whitespace()
        .next()?;
    let mut parts = word.split(['.', '-']).map(|p| p.parse::<u32>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
        _ => None,
    }
}

/// The name of the `erts-VSN` directory of a built release (`None` without ERTS).
pub fn erts_dir_name(root: &Path) -> Option<String> {
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("erts-"))
}

fn cache_key(f: Fixture) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325;
    for part in [RECIPE_VERSION, elixir_version_text()] {
        h = fnv1a(part.as_bytes(), h);
        h = fnv1a(&[0], h);
    }
    for (path, text) in f.files() {
        h = fnv1a(path.as_bytes(), h);
        h = fnv1a(&[0], h);
        h = fnv1a(text.as_bytes(), h);
        h = fnv1a(&[0], h);
    }
    format!("{}-{h:016x}", f.app())
}

/// Directory holding the cached fixture builds.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("BEAMRC_FIXTURE_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => super::target_dir().join("launcher-fixtures"),
    }
}

/// The built release root (`.../_build/prod/rel/NAME`) of fixture `f`; built on first use.
///
/// Never run anything inside it: tests work on copies ([`TestRelease`](super::TestRelease)).
pub fn fixture(f: Fixture) -> &'static Path {
    static CELLS: [OnceLock<PathBuf>; 5] = [const { OnceLock::new() }; 5];
    let idx = Fixture::ALL
        .iter()
        .position(|&x| x == f)
        .expect("listed fixture");
    CELLS[idx].get_or_init(|| build(f))
}

fn release_root_in(project: &Path, f: Fixture) -> PathBuf {
    project.join("_build/prod/rel").join(f.app())
}

fn build(f: Fixture) -> PathBuf {
    super::require_erlang();
    let cache = cache_dir();
    std::fs::create_dir_all(&cache)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
    let key = cache_key(f);
    let project = cache.join(&key);
    let root = release_root_in(&project, f);
    if root.join("bin").join(f.app()).is_file() {
        return root;
    }

    let started = Instant::now();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let unique = format!("{}-{nanos}", std::process::id());
    let tmp_project = cache.join(format!(".build-{key}-{unique}"));
    let tmp_home = cache.join(format!(".home-{key}-{unique}"));
    for dir in [&tmp_project, &tmp_home] {
        super::cleanup::remove_tree(dir);
        std::fs::create_dir_all(dir).expect("create build dir");
    }
    for (rel, text) in f.files() {
        let path = tmp_project.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).expect("create project dir");
        std::fs::write(&path, text).expect("write project file");
    }

    let mut cmd = Command::new("mix");
    cmd.arg("release")
        .current_dir(&tmp_project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", &tmp_home)
        .env("MIX_HOME", tmp_home.join(".mix"))
        .env("HEX_HOME", tmp_home.join(".hex"))
        .env("HEX_OFFLINE", "1")
        .env("MIX_ENV", "prod");
    let out = run_command(cmd, None, Duration::from_secs(600));
    super::cleanup::remove_tree(&tmp_home);
    if !out.success() {
        super::cleanup::remove_tree(&tmp_project);
        panic!("building fixture {f:?} with `MIX_ENV=prod mix release` failed:\n{out}");
    }
    let tmp_root = release_root_in(&tmp_project, f);
    if let Err(problem) = verify(f, &tmp_root) {
        super::cleanup::remove_tree(&tmp_project);
        panic!("fixture {f:?} built but is not as expected: {problem}\n{out}");
    }
    let elapsed = started.elapsed();
    let info = format!(
        "fixture: {f:?}\nbuild_seconds: {:.2}\n{}\n",
        elapsed.as_secs_f64(),
        elixir_version_text()
    );
    std::fs::write(tmp_project.join("FIXTURE_INFO"), info).expect("write FIXTURE_INFO");

    if let Err(e) = std::fs::rename(&tmp_project, &project) {
        // Another test process won the race: use its build.
        super::cleanup::remove_tree(&tmp_project);
        if !root.join("bin").join(f.app()).is_file() {
            panic!(
                "cannot move fixture build into {}: {e} (remove the directory and retry)",
                project.display()
            );
        }
    }
    eprintln!(
        "[launcher-tests] built fixture {f:?} in {:.2} s: {}",
        elapsed.as_secs_f64(),
        root.display()
    );
    root
}

/// Checks the built release has the properties the fixture promises.
fn verify(f: Fixture, root: &Path) -> Result<(), String> {
    let app = f.app();
    let vsn_dir = root.join("releases").join(f.version());
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
    for p in [
        root.join("bin").join(app),
        root.join("releases/COOKIE"),
        root.join("releases/start_erl.data"),
        vsn_dir.join("sys.config"),
        vsn_dir.join("vm.args"),
        vsn_dir.join("env.sh"),
        vsn_dir.join("elixir"),
    ] {
        if !p.is_file() {
            return Err(format!("missing {}", p.display()));
        }
    }
    let has_erts = std::fs::read_dir(root)
        .map_err(|e| e.to_string())?
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("erts-"));
    if has_erts != f.includes_erts() {
        return Err(format!(
            "erts-* present: {has_erts}, expected {}",
            f.includes_erts()
        ));
    }
    let sys_config = read(vsn_dir.join("sys.config"))?;
    let runtime_config = sys_config.contains("RUNTIME_CONFIG=true");
    if runtime_config != (f == Fixture::Runtime) {
        return Err(format!(
            "unexpected RUNTIME_CONFIG marker in sys.config:\n{sys_config}"
        ));
    }
    match f {
        Fixture::Runtime if !vsn_dir.join("runtime.exs").is_file() => {
            return Err("releases/VSN/runtime.exs missing".into());
        }
        Fixture::EnvSh => {
            let env_sh = read(vsn_dir.join("env.sh"))?;
            if !env_sh.contains("ENVSH_SEEN") {
                return Err(format!("custom env.sh not used:\n{env_sh}"));
            }
        }
        Fixture::Subst => {
            let vm_args = read(vsn_dir.join("vm.args"))?;
            if !vm_args.contains("-env SUBST_PORT ${SUBST_PORT:-4000}")
                || !vm_args.contains("## substituted: ${NODE_NAME}")
            {
                return Err(format!("custom vm.args not used:\n{vm_args}"));
            }
            if !sys_config.contains("'${GREETING}'") {
                return Err(format!(
                    "sys.config lacks literal ${{GREETING}}:\n{sys_config}"
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_elixir_versions() {
        let text = "Erlang/OTP 27 [erts-15.2.7]\n\nElixir 1.18.3 (compiled with Erlang/OTP 27)";
        assert_eq!(super::parse_elixir_version(text), Some((1, 18, 3)));
        assert_eq!(
            super::parse_elixir_version("Elixir 1.21.0-dev (63a7a054)"),
            Some((1, 21, 0))
        );
        assert_eq!(super::parse_elixir_version("Erlang/OTP 25"), None);
    }
}
