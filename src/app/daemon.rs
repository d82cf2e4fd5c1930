//! `daemon` / `daemon_iex` that tell the truth: refuse to start a second VM for a running
//! node, start `run_erl`, then wait until the node has booted — or report, with the end of
//! the run_erl log, why it did not. What to wait for, and how long, is in the plan.
use super::node;
use crate::dist::{self, ClientConfig, DistError};
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

/// Waits until the node has booted (`init` reports `started` and `init:get_status()` is
/// `{started, started}`), run_erl stays alive, and time remains (also relx's daemon).
///
/// Until the node is registered, each round connects afresh (EPMD and the name appear
/// during boot); once connected, one session waits for `init`'s started event instead of
/// polling. Only a run_erl missing for a while counts as an exit: run_erl daemonises through
/// intermediate processes, and a scan can miss the hand-over between two of them.
pub(crate) fn wait_booted(cfg: &ClientConfig, daemon: &Daemon, timeout: Duration) -> Result<i32> {
    let _span = tracing::debug_span!("boot_wait", target = %cfg.target).entered();
    tracing::debug!("waiting up to {} for {} to boot", show(timeout), cfg.target);
    let pipe = daemon.pipe_arg();
    let started = Instant::now();
    let deadline = started.checked_add(timeout);
    let mut missing_since: Option<Instant> = None;
    let mut last_scan: Option<Instant> = None;
    let mut last: Option<DistError>;
    loop {
        let attempt = dist::Session::connect(cfg).and_then(|mut session| {
            session.set_deadline(deadline);
            session.wait_started()?;
            node::node_ready_on(&mut session)
        });
        match attempt {
            Ok(true) => return Ok(0),
            Ok(false) => last = None,
            Err(DistError::CookieMismatch { node }) => {
                return Err(failure(
                    daemon,
                    format!("{node} is up but refuses our cookie"),
                ));
            }
            Err(e @ DistError::HandshakeRejected { .. }) => {
                return Err(failure(
                    daemon,
                    format!("{} is up but refuses us ({e})", cfg.target),
                ));
            }
            Err(e) => {
                tracing::debug!("not booted yet: {e}");
                last = Some(e);
            }
        }
        // Whether run_erl is still there (a /proc scan): every SCAN_EVERY is enough.
        if last_scan.is_none_or(|t| t.elapsed() >= SCAN_EVERY) {
            last_scan = Some(Instant::now());
            let missing = crate::process::watch::find_run_erl(pipe).is_none();
            missing_since = match (missing, missing_since) {
                (false, _) => None,
                (true, None) => last_scan,
                (true, since) => since,
            };
        }
        if missing_since.is_some_and(|t| t.elapsed() >= Duration::from_millis(300)) {
            return Err(failure(
                daemon,
                format!("the VM for {} exited while booting", cfg.target),
            ));
        }
        if started.elapsed() >= timeout {
            // run_erl is alive here: say how far the node got.
            let why = match last {
                Some(
                    e @ (DistError::Resolve { .. }
                    | DistError::EpmdUnreachable { .. }
                    | DistError::Timeout("connect")),
                ) => format!("; the VM is alive but beamrc cannot reach it ({e})"),
                Some(DistError::NotRegistered { .. }) => {
                    "; the VM is alive but its node has not registered with EPMD yet".to_string()
                }
                _ => "; the VM is alive and answers, but its boot has not finished".to_string(),
            };
            return Err(failure(
                daemon,
                format!(
                    "{} did not finish booting within {} (BEAMRC_START_TIMEOUT){why}",
                    cfg.target,
                    show(timeout)
                ),
            ));
        }
        std::thread::sleep(crate::probe::events::REGISTRATION_POLL);
    }
}

/// How often the boot wait checks that run_erl (and so the VM) is still there.
const SCAN_EVERY: Duration = Duration::from_millis(100);

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
