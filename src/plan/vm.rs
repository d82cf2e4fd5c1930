//! From an Elixir-level invocation to the program beamrc runs: erlexec itself (collapsing
//! the `elixir` → `erl` → `erlexec` script chain), `erl` from PATH for releases without ERTS,
//! or `run_erl -daemon` with the escaped command string.
use super::elixir_cli::{self, Invocation};
use super::escape;
use super::{Action, Daemon, ExecSpec, Inputs, Prepare};
use crate::environment::EnvMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Builds the action for an invocation; `env` is the environment the script would export.
pub fn action(inputs: &Inputs, inv: &Invocation, env: EnvMap) -> (Vec<Prepare>, Action) {
    let translated = elixir_cli::translate(inv, inputs.generation, &inputs.cli);
    let erl_program: OsString = match &inputs.erts_bin {
        Some(bin) => bin.join("erl").into(),
        None => "erl".into(),
    };
    match translated.pipe_to {
        Some((pipe, log)) => {
            let mut parts = vec![erl_program];
            parts.extend(translated.erl_args);
            let command = escape::command_string(&parts, inputs.generation, inputs.locale);
            let run_erl: PathBuf = match &inputs.erts_bin {
                Some(bin) => bin.join("run_erl"),
                None => PathBuf::from("run_erl"),
            };
            let pipe_dir = PathBuf::from(pipe);
            let log_dir = PathBuf::from(log);
            let argv = vec![
                run_erl.clone().into_os_string(),
                "-daemon".into(),
                with_slash(&pipe_dir),
                with_slash(&log_dir),
                command,
            ];
            let prepare = vec![
                Prepare::CreateDir(pipe_dir.clone()),
                Prepare::CreateDir(log_dir.clone()),
            ];
            let daemon = Daemon {
                run_erl: ExecSpec {
                    program: run_erl,
                    argv,
                    env,
                },
                pipe_dir,
                log_dir,
                boot: None,
            };
            (prepare, Action::Daemon(daemon))
        }
        None => (
            Vec::new(),
            Action::Exec(erl_exec(inputs, translated.erl_args, env)),
        ),
    }
}

/// `exec erl ARGS`: straight to erlexec with the variables `erts-V/bin/erl` would export,
/// or the `erl` on PATH when the release carries no ERTS.
fn erl_exec(inputs: &Inputs, erl_args: Vec<OsString>, mut env: EnvMap) -> ExecSpec {
    match &inputs.bindir {
        Some(bindir) => {
            let rootdir = env
                .non_empty("ERL_ROOTDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| grandparent(bindir));
            env.set("BINDIR", bindir.as_os_str());
            env.set("ROOTDIR", rootdir.as_os_str());
            env.set("EMU", "beam");
            env.set("PROGNAME", "erl");
            let program = bindir.join("erlexec");
            let mut argv = vec![program.clone().into_os_string()];
            argv.extend(erl_args);
            ExecSpec { program, argv, env }
        }
        None => {
            let mut argv = vec![OsString::from("erl")];
            argv.extend(erl_args);
            ExecSpec {
                program: PathBuf::from("erl"),
                argv,
                env,
            }
        }
    }
}

fn grandparent(p: &Path) -> PathBuf {
    p.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn with_slash(p: &Path) -> OsString {
    crate::paths::with_suffix(p, "/").into_os_string()
}
