//! The launch plan per command: pure computation of what to run, with which argv and env.
//!
//! Nothing here touches the system; `process` carries a plan out and `cli` prints it on a
//! dry run.
use crate::environment::EnvMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// A program to run: `execve(program, argv, env)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The file to execute; a bare name is looked up in `PATH` of `env`.
    pub program: PathBuf,
    /// The full argv, argv[0] included.
    pub argv: Vec<OsString>,
    /// The complete environment of the new program (not a diff).
    pub env: EnvMap,
}

/// A file the plan needs written before it runs (under `RELEASE_TMP`, never the release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepare {
    /// `mkdir -p`.
    CreateDir(PathBuf),
    /// Write `contents` to `path` through a temp file + rename, with `mode`.
    WriteFile {
        path: PathBuf,
        contents: Vec<u8>,
        mode: u32,
    },
}
pub mod command;
pub mod commands;
pub mod dry_run;
pub mod elixir_cli;
pub mod escape;
pub mod vm;

use crate::environment::vars::ReleaseVars;
use crate::release::ElixirGen;

/// What to do once the files are prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Replace this process with the VM (start, start_iex, eval, remote, hidden-VM rpc).
    Exec(ExecSpec),
    /// Start `run_erl -daemon`, which forks the VM into the background and exits.
    Daemon(Daemon),
    /// Write this to stdout and exit 0.
    Print(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// `run_erl -daemon PIPE/ LOG/ COMMAND`.
    pub run_erl: ExecSpec,
    pub pipe_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Daemon {
    /// run_erl's `PIPE/` argument, as it appears in the running run_erl's argv.
    pub fn pipe_arg(&self) -> &std::ffi::OsStr {
        &self.run_erl.argv[2]
    }
}

/// A command's plan: files to prepare, then one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub prepare: Vec<Prepare>,
    pub action: Action,
}

/// Everything a command's plan is computed from; gathered (read-only) by the caller.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub vars: ReleaseVars,
    pub generation: ElixirGen,
    /// The Elixir version that built the release, as (major, minor, patch).
    pub elixir_version: (u32, u32, u32),
    /// The release's cookie, when the command needs one.
    pub cookie: Option<String>,
    /// The cookie is `-setcookie` in vm.args: not passed again on the command line.
    pub cookie_in_vm_args: bool,
    /// vm.args sets `-sname`/`-name` itself: no distribution flag is added.
    pub dist_in_vm_args: bool,
    /// Rendered vm.args / sys.config / remote.vm.args files to write first.
    pub rendered: Vec<Prepare>,
    /// The arguments of remote.vm.args when it was rendered (not yet on disk).
    pub remote_flags: Option<Vec<String>>,
    /// `"$SCRIPT_PATH"/../../erts-V/bin` as the scripts spell it; `None` without ERTS.
    pub erts_bin: Option<PathBuf>,
    /// The same directory, physical: erlexec's `BINDIR`.
    pub bindir: Option<PathBuf>,
    pub cli: elixir_cli::Context,
    pub locale: escape::Locale,
    /// Fresh 4-hex-digit random words (the script's `rand`).
    pub rand: [String; 2],
    /// Local time as `%Y%m%d%H%M%S`, for the runtime sys.config copy.
    pub timestamp: String,
    /// The release's own `sys.config` holds `RUNTIME_CONFIG=true` (a reboot release).
    pub reboot_release: bool,
    /// The mode flag baked into the kept script (`--erl "-mode $RELEASE_MODE"` → `-mode`),
    /// when the script is there to read.
    pub baked_mode_flag: Option<String>,
    /// Contents of `${RELEASE_SYS_CONFIG:-$REL_VSN_DIR/sys}.config`, if it exists.
    pub sys_config: Option<Vec<u8>>,
}
#[cfg(test)]
mod golden_tests;
pub mod remote;
