//! Carrying a plan out: prepare files, then exec, run the daemon, or print.
use crate::plan::{Action, Plan, Prepare};
use crate::{Error, Result};
use std::io::Write;

pub fn prepare(steps: &[Prepare]) -> Result<()> {
    for step in steps {
        match step {
            Prepare::CreateDir(dir) => std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?,
            Prepare::WriteFile {
                path,
                contents,
                mode,
            } => crate::config::render::write_fresh(path, contents, *mode)?,
        }
    }
    Ok(())
}

/// Runs the plan's action; returns an exit code when the action returns at all.
pub fn run(plan: Plan, inputs: &crate::plan::Inputs) -> Result<i32> {
    match plan.action {
        Action::Print(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(0)
        }
        Action::Exec(spec) => Err(crate::process::exec::exec(&spec)),
        Action::Daemon(d) => super::daemon::run(&d, inputs),
    }
}
