//! `daemon` / `daemon_iex` that tell the truth: refuse to start a second VM for a running
//! node, start `run_erl`, then wait until the node has booted — or report, with the end of
//! the run_erl log, why it did not.
use super::node::{self, Client};
use super::switches;
use crate::debug;
use crate::dist::{ClientConfig, DistError};
use crate::plan::{Daemon, Inputs};
use crate::{Error, Result};

use std::time::{Duration, Instant};

const LOG_LINES: usize = 20;

/// How long to wait for boot, and the client to watch with (none: don't wait).
fn watcher(inputs: &Inputs) -> Result<(Duration, Option<Client>)> {
    let env = &inputs.vars.env;
    let timeout = switches::seconds(env, "BEAMRC_START_TIMEOUT", Some(Duration::from_secs(60)))?
        .unwrap_or_default();
    let client = if timeout.is_zero() {
        None
    } else {
        node::native_client(inputs)?
    };
    Ok((timeout, client))
}

/// Before anything is created: refuse to start a second VM for a running node.
pub fn preflight(inputs: &Inputs) -> Result<()> {
    let (_, client) = watcher(inputs)?;
    if let Some(c) = &client {
        // A second VM with the same name would only die on the name clash.
        let running = match node::os_pid(&c.cfg) {
            Ok(pid) => Some(format!("(OS pid {pid})")),
            Err(DistError::CookieMismatch { .. }) => Some("(it refuses our cookie)".to_string()),
            Err(_) => None,
        };
        if let Some(how) = running {
            return Err(Error::message(
                1,
                format!(
                    "ERROR: {} is already running {how}; stop it first, or start this instance with another RELEASE_NODE",
                    c.cfg.target
                ),
            ));
        }
    }
    Ok(())
}

/// Starts run_erl and waits for the node to boot.
pub fn run(daemon: &Daemon, inputs: &Inputs) -> Result<i32> {
    let (timeout, client) = watcher(inputs)?;
    let status = crate::process::watch::run(&daemon.run_erl)?;
    if !status.success() {
        return Ok(crate::process::exit_code(status));
    }
    let Some(client) = client else {
        debug!("not waiting for boot (no native connection or BEAMRC_START_TIMEOUT=0)");
        return Ok(0);
    };
    wait_booted(&client.cfg, daemon, timeout)
}

/// Waits until the node `cfg` names has booted, the daemon's run_erl is gone (the VM died:
/// the log tail says why) or `timeout` passes. Shared with relx's `daemon`.
pub(crate) fn wait_booted(cfg: &ClientConfig, daemon: &Daemon, timeout: Duration) -> Result<i32> {
    let pipe = daemon.pipe_arg();
    debug!("waiting for {} to boot", cfg.target);
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
                "{} did not finish booting within {}s (BEAMRC_START_TIMEOUT)",
                cfg.target,
                timeout.as_secs_f64()
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
