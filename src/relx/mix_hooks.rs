//! Hooks and custom commands for Mix releases, which Mix lacks, with relx's rules:
//!
//! * `releases/VSN/hooks/PHASE.d/*` — every regular file, in name order, **sourced** by
//!   `/bin/sh` under `set -e` with the release's environment (`RELEASE_*`, after env.sh), cwd =
//!   release root. Phases: `pre_start` (start, start_iex, daemon, daemon_iex), `post_start`
//!   (daemon, daemon_iex, once the node has booted), `pre_stop` / `post_stop` (stop). A hook
//!   that exits (or fails) ends the command with its status.
//! * `releases/VSN/commands/NAME` — `bin/APP NAME ARGS` sources it with ARGS; a command that
//!   does not `exit` gives 1 (relx's extension rule).
//!
//! Ship them with `rel/overlays/releases/…`? Mix copies `rel/overlays/` to the release root,
//! so put them under `rel/overlays/releases/VSN/hooks/pre_start.d/` etc. No shell is started
//! when a phase has no file.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::hooks::{self, Body};
use super::script::Hook;
use super::shell::{self, Ended};
use crate::environment::vars::ReleaseVars;
use crate::plan::command::Command;
use crate::{Error, Result};

/// The hook phases around one Mix command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixHooks {
    vsn_dir: PathBuf,
    root: PathBuf,
    name: String,
    env: crate::environment::EnvMap,
    pre: Option<&'static str>,
    post: Option<&'static str>,
}

impl MixHooks {
    /// The phases of `command` (none when `active` is false, e.g. on a dry run).
    pub fn for_command(vars: &ReleaseVars, command: &Command, active: bool) -> MixHooks {
        let (pre, post) = match command {
            _ if !active => (None, None),
            Command::Start | Command::StartIex => (Some("pre_start"), None),
            Command::Daemon | Command::DaemonIex => (Some("pre_start"), Some("post_start")),
            Command::Stop => (Some("pre_stop"), Some("post_stop")),
            _ => (None, None),
        };
        MixHooks {
            vsn_dir: vars.vsn_dir.clone(),
            root: vars.root.clone(),
            name: vars.name.clone(),
            env: vars.env.clone(),
            pre,
            post,
        }
    }

    /// Runs the phase before the command.
    pub fn before(&self) -> Result<()> {
        self.phase(self.pre)
    }

    /// Runs the phase after a command that succeeded; passes its result on.
    pub fn after(&self, result: Result<i32>) -> Result<i32> {
        match result {
            Ok(0) => self.phase(self.post).map(|()| 0),
            other => other,
        }
    }

    fn phase(&self, phase: Option<&str>) -> Result<()> {
        let Some(phase) = phase else {
            return Ok(());
        };
        let files = phase_files(&self.vsn_dir, phase);
        if files.is_empty() {
            return Ok(());
        }
        let program = hooks::program(&[], None, &self.vsn_dir, &Body::Hooks(&files));
        match shell::run(&program, &self.env, &self.root, &self.name)? {
            Ended::Completed => Ok(()),
            Ended::Exited(code) => Err(Error::Exit(code)),
        }
    }
}

/// The files of `releases/VSN/hooks/PHASE.d/`, in name order, relative to `releases/VSN`.
pub fn phase_files(vsn_dir: &Path, phase: &str) -> Vec<Hook> {
    let dir = vsn_dir.join("hooks").join(format!("{phase}.d"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .map(|n| Hook {
            script: format!("hooks/{phase}.d/{n}"),
            args: Vec::new(),
        })
        .collect()
}

/// `bin/APP NAME ARGS` for a custom command `releases/VSN/commands/NAME`; `None` when there
/// is no such command (`NAME` must be a plain file name).
pub fn custom_command(vars: &ReleaseVars, word: &str, args: &[OsString]) -> Result<Option<i32>> {
    if word.is_empty() || word.contains('/') || word.starts_with('.') {
        return Ok(None);
    }
    let script = format!("commands/{word}");
    if !vars.vsn_dir.join(&script).is_file() {
        return Ok(None);
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = hooks::program(
        &[],
        None,
        &vars.vsn_dir,
        &Body::Source {
            script: &script,
            args: &args,
        },
    );
    Ok(Some(
        match shell::run(&program, &vars.env, &vars.root, &vars.name)? {
            Ended::Completed => 1,
            Ended::Exited(code) => code,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_files_in_name_order() {
        let dir = crate::test_support::scratch("mix-hooks");
        let d = dir.join("hooks/pre_start.d");
        std::fs::create_dir_all(&d).unwrap();
        for n in ["20-b", "10-a", ".hidden"] {
            std::fs::write(d.join(n), "true\n").unwrap();
        }
        let files: Vec<String> = phase_files(&dir, "pre_start")
            .into_iter()
            .map(|h| h.script)
            .collect();
        assert_eq!(files, ["hooks/pre_start.d/10-a", "hooks/pre_start.d/20-b"]);
        assert!(phase_files(&dir, "post_stop").is_empty());
    }
}
