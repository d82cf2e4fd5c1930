//! `daemon` / `daemon_iex` that tell the truth: refuse to start a second VM for a running
//! node, start `run_erl`, then wait until the node has booted — or report, with the end of
//! the run_erl log, why it did not. What to wait for, and how long, is in the plan.
use super::node;
use crate::dist::{ClientConfig, DistError};
use crate::plan::switches::show;
use crate::plan::{BootWait, Daemon};
use crate::{Error, Result};

use std::time::{Duration, Instant};

const LOG_LINES: usize = 20;

/// Before anything is created: refuse to start a second VM for a running node.
pub(crate) fn preflight(daemon: &Daemon) -> Result<()> {
    let Some(BootWait::Native { link, .. }) = &daemon.boot else {
        return Ok(());
    };
    let _span = tracing::debug_span!("preflight", target = %link.target).entered();
    let running = match node::os_pid(&link.client_config()) {
        Ok(pid) => Some(format!("(OS pid {pid})")),
        Err(DistError::CookieMismatch { .. }) => Some("(it refuses our cookie)".to_string()),
        Err(_) => None,
    };
    match running {
        Some(how) => Err(Error::message(
            1,
            format!(
                "ERROR: {} is already running {how}; stop it first, or start this instance with another RELEASE_NODE",
                link.target
            ),
        )),
        None => Ok(()),
    }
}

/// Starts run_erl and waits for the node to boot.
pub(crate) fn run(daemon: &Daemon) -> Result<i32> {
    let status = crate::process::watch::run(&daemon.run_erl)?;
    if !status.success() {
        return Ok(crate::process::exit_code(status));
    }
    match &daemon.boot {
        Some(BootWait::Native { link, timeout }) => {
            wait_booted(&link.client_config(), daemon, *timeout)
        }
        Some(BootWait::Skip(why)) => {
            tracing::debug!("not waiting for boot: {why}");
            Ok(0)
        }
        None => Ok(0),
    }
}

/// Waits until the node answers `init:get_status()` with `{started, started}`, run_erl
/// stays alive, and time remains (also relx's daemon).
pub(crate) fn wait_booted(cfg: &ClientConfig, daemon: &Daemon, timeout: Duration) -> Result<i32> {
    let pipe = daemon.pipe_arg();
    tracing::debug!("waiting up to {} for {} to boot", show(timeout), cfg.target);
    let mut missing_since: Option<Instant> = None;
    let mut verdict = None;
    node::wait_until(timeout, || {
        verdict = match node::node_ready(cfg) {
            Ok(true) => Some(Ok(0)),
            Err(DistError::CookieMismatch { node }) => Some(Err(failure(
                daemon,
                format!("{node} is up but refuses our cookie"),
            ))),
            // Scan each time rather than keep a pid: run_erl daemonises through
            // intermediate processes that exit, while the one serving the pipe lives as long
            // as the VM. A scan can miss the hand-over between two of them, so only a run_erl
            // missing for a while counts as an exit.
            _ => {
                let missing = crate::process::watch::find_run_erl(pipe).is_none();
                missing_since = match (missing, missing_since) {
                    (false, _) => None,
                    (true, None) => Some(Instant::now()),
                    (true, since) => since,
                };
                missing_since
                    .is_some_and(|t| t.elapsed() >= Duration::from_millis(300))
                    .then(|| {
                        Err(failure(
                            daemon,
                            format!("the VM for {} exited while booting", cfg.target),
                        ))
                    })
            }
        };
        verdict.is_some()
    });
    verdict.unwrap_or_else(|| {
        Err(failure(
            daemon,
            format!(
                "{} did not finish booting within {} (BEAMRC_START_TIMEOUT)",
                cfg.target,
                show(timeout)
            ),
        ))
    })
}

fn failure(daemon: &Daemon, what: String) -> Error {
    let mut text = what;
    match crate::process::watch::log_tail(&daemon.log_dir, LOG_LINES) {
        Some((path, tail)) => {
            text.push_str(&format!(
                "\nlast lines of {}:\n{}",
                path.display(),
                tail.trim_end()
            ));
        }
        None => text.push_str(&format!(
            "\n(no run_erl log in {})",
            daemon.log_dir.display()
        )),
    }
    Error::Lifecycle(text)
}
