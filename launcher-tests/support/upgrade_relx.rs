//! A rebar3/relx release that hot-upgrades: `upr` 0.1.0 and 0.2.0 from `rebar3 new
//! release`, a gen_server whose state changes shape (`code_change` both ways, an appup in
//! `src/`), the relup from `rebar3 relup`, both packages from `rebar3 tar` (ERTS included,
//! as relx's prod mode does).
//!
//! Built once per recipe and cached next to the other fixtures; tests deploy the 0.1.0
//! package into a temp directory of their own ([`deployed`], an [`UpRelease`]: its own
//! epmd, processes killed by PID).
use super::cleanup::{TempDir, remove_tree};
use super::run::{RunOutput, run_command};
use super::upgrade::{UpRelease, hash};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub const NAME: &str = "upr";
const RECIPE: &str = "upr-v1";

const V1: &str = r#"-module(upr_counter).
-behaviour(gen_server).
-export([start_link/0, bump/0, info/0, init/1, handle_call/3, handle_cast/2]).
start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, 0, []).
bump() -> gen_server:call(?MODULE, bump).
info() -> gen_server:call(?MODULE, info).
init(N) -> {ok, N}.
handle_call(bump, _From, N) -> {reply, N + 1, N + 1};
handle_call(info, _From, N) -> {reply, {v1, N}, N}.
handle_cast(_, N) -> {noreply, N}.
"#;

const V2: &str = r#"-module(upr_counter).
-behaviour(gen_server).
-export([start_link/0, bump/0, info/0, init/1, handle_call/3, handle_cast/2, code_change/3]).
start_link() -> gen_server:start_link({local, ?MODULE}, ?MODULE, #{count => 0, since => fresh}, []).
bump() -> gen_server:call(?MODULE, bump).
info() -> gen_server:call(?MODULE, info).
init(S) -> {ok, S}.
handle_call(bump, _From, #{count := N} = S) -> {reply, N + 1, S#{count := N + 1}};
handle_call(info, _From, #{count := N, since := Since} = S) -> {reply, {v2, N, Since}, S}.
handle_cast(_, S) -> {noreply, S}.
code_change({down, _}, #{count := N}, _Extra) -> {ok, N};
code_change(_Old, N, _Extra) when is_integer(N) -> {ok, #{count => N, since => upgrade}}.
"#;

const SUP: &str = r#"-module(upr_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).
start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).
init([]) ->
    Counter = #{id => upr_counter, start => {upr_counter, start_link, []}, modules => [upr_counter]},
    {ok, {#{strategy => one_for_one, intensity => 1, period => 5}, [Counter]}}.
"#;

const APPUP: &str = r#"{"0.2.0",
 [{"0.1.0", [{update, upr_counter, {advanced, []}}]}],
 [{"0.1.0", [{update, upr_counter, {advanced, []}}]}]}.
"#;

/// The two packages (`upr-0.1.0.tar.gz`, `upr-0.2.0.tar.gz`).
#[derive(Debug)]
pub struct Built {
    pub v1: PathBuf,
    pub v2: PathBuf,
}

/// `PROGRAM ARGS` in `dir` with a clean environment (`HOME`), asserting success.
pub fn sh(dir: &Path, home: &Path, program: &str, args: &[&str]) -> RunOutput {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("HOME", home);
    let out = run_command(c, None, Duration::from_secs(600));
    out.assert_success(&format!("{program} {args:?}"));
    out
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} holds {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Builds (once) both versions, the relup and the packages.
pub fn built() -> &'static Built {
    static CELL: OnceLock<Built> = OnceLock::new();
    CELL.get_or_init(|| {
        super::require_erlang();
        let key = hash(&[RECIPE, V1, V2, SUP, APPUP]);
        let dir = super::fixtures::cache_dir().join(format!("upr-{key}"));
        let done = Built {
            v1: dir.join("upr-0.1.0.tar.gz"),
            v2: dir.join("upr-0.2.0.tar.gz"),
        };
        if done.v2.is_file() {
            return done;
        }
        let tmp = dir.with_extension(format!("build-{}", std::process::id()));
        remove_tree(&tmp);
        let home = tmp.join("home");
        std::fs::create_dir_all(&home).unwrap();
        sh(&tmp, &home, "rebar3", &["new", "release", NAME]);
        let project = tmp.join(NAME);
        let src = project.join("apps/upr/src");
        edit(&project.join("rebar.config"), "{mode, dev},", "");
        edit(
            &project.join("config/vm.args"),
            "-sname upr",
            "-sname upr@localhost",
        );
        std::fs::write(src.join("upr_sup.erl"), SUP).unwrap();
        std::fs::write(src.join("upr_counter.erl"), V1).unwrap();
        sh(&project, &home, "rebar3", &["as", "prod", "tar"]);
        std::fs::write(src.join("upr_counter.erl"), V2).unwrap();
        // rebar3 recompiles a source newer than its beam, by the second: V2 written within
        // the second of V1's compile would keep V1's beam in the 0.2.0 package.
        let stale = project.join("_build/prod/lib/upr/ebin/upr_counter.beam");
        std::fs::remove_file(&stale).unwrap();
        std::fs::write(src.join("upr.appup"), APPUP).unwrap();
        edit(
            &src.join("upr.app.src"),
            "{vsn, \"0.1.0\"}",
            "{vsn, \"0.2.0\"}",
        );
        edit(
            &project.join("rebar.config"),
            "{upr, \"0.1.0\"}",
            "{upr, \"0.2.0\"}",
        );
        sh(&project, &home, "rebar3", &["as", "prod", "release"]);
        let appup = project.join("_build/prod/lib/upr/ebin/upr.appup");
        if !appup.is_file() {
            std::fs::copy(src.join("upr.appup"), &appup).unwrap();
        }
        let relup = [
            "as", "prod", "relup", "-n", NAME, "-v", "0.2.0", "-u", "0.1.0",
        ];
        sh(&project, &home, "rebar3", &relup);
        let tar = ["as", "prod", "tar", "-n", NAME, "-v", "0.2.0"];
        sh(&project, &home, "rebar3", &tar);
        let rel = project.join("_build/prod/rel").join(NAME);
        for p in [&done.v1, &done.v2] {
            let file = p.file_name().unwrap();
            std::fs::rename(rel.join(file), tmp.join(file)).unwrap();
        }
        remove_tree(&project);
        remove_tree(&home);
        if std::fs::rename(&tmp, &dir).is_err() {
            remove_tree(&tmp); // another test process won the race
        }
        assert!(done.v2.is_file(), "upr fixture missing after build");
        done
    })
}

/// upr 0.1.0 deployed from its package into a temp directory, beamrc installed.
pub fn deployed() -> UpRelease {
    let tmp = TempDir::new();
    let root = tmp.path().join("deploy");
    std::fs::create_dir_all(&root).unwrap();
    sh(
        &root,
        tmp.path(),
        "tar",
        &["-xzf", built().v1.to_str().unwrap()],
    );
    UpRelease::installed(tmp, root, NAME, true)
}

/// `releases/upr-0.2.0.tar.gz` packed again (`tar czf … ENTRIES`, in an unpacked copy of the
/// real package after `change` ran there; `["."]` gives `./` entries).
pub fn repack(rel: &UpRelease, change: impl FnOnce(&Path), entries: &[&str]) {
    let work = rel.dir.join("repack");
    remove_tree(&work);
    std::fs::create_dir_all(&work).unwrap();
    sh(
        &work,
        &rel.dir,
        "tar",
        &["-xzf", built().v2.to_str().unwrap()],
    );
    change(&work);
    let to = rel.root.join("releases/upr-0.2.0.tar.gz");
    let mut args = vec!["-czf", to.to_str().unwrap()];
    args.extend_from_slice(entries);
    sh(&work, &rel.dir, "tar", &args);
    remove_tree(&work);
}
