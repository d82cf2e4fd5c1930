//! The executor: carries a plan out. Prepare the files, then exec, supervise, run the
//! daemon, call the node, or print. Every decision was taken by the planner.
use super::gather::Host;
use super::{daemon, remote, service};
use crate::plan::{Action, Plan, Prepare};
use crate::{Error, Result};
use std::io::Write;

/// Runs the plan; returns an exit code when the action returns at all.
pub(crate) fn run(host: &dyn Host, plan: Plan) -> Result<i32> {
    if let Action::Daemon(d) = &plan.action {
        // Before anything is created: a second VM for a running node only dies on the name.
        daemon::preflight(d)?;
    }
    let credentials = match &plan.action {
        Action::Start(s) => service::preflight(s)?,
        _ => None,
    };
    prepare(&plan.prepare)?;
    match plan.action {
        Action::Print(text) => {
            let mut out = host.out();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(0)
        }
        Action::Exec(spec) => Err(crate::process::exec::exec(&spec)),
        Action::Start(start) => service::start(start, credentials),
        Action::Upgrade(req) => crate::upgrade::run(&req, &mut host.out()),
        Action::Daemon(d) => daemon::run(&d),
        Action::Remote(r) => match remote::run(host, &r)? {
            remote::Outcome::Exit(code) => Ok(code),
            remote::Outcome::Vm(why) => {
                tracing::debug!("hidden VM path: {why}");
                run(host, *r.vm)
            }
        },
    }
}

fn prepare(steps: &[Prepare]) -> Result<()> {
    for step in steps {
        match step {
            Prepare::CreateDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::create(dir, e))?
            }
            Prepare::WriteFile {
                path,
                contents,
                mode,
            } => crate::config::render::write_fresh(path, contents, *mode)?,
            Prepare::RuntimeConfig { path, contents } => {
                // The script's `(mkdir -p "$RELEASE_TMP" && cat … > COPY)`: the directory gets
                // the umask's mode, as there.
                let failed = |source| Error::RuntimeConfig {
                    path: path.clone(),
                    source,
                };
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(failed)?;
                }
                crate::config::render::write_fresh(path, contents, 0o600).map_err(|e| match e {
                    Error::Io { source, .. } => failed(source),
                    other => other,
                })?
            }
        }
    }
    Ok(())
}
