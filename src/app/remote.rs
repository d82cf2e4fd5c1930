//! Remote operations over the native link: rpc, stop, restart, pid, ping, status. The route
//! and the waits were decided by the planner; the hidden VM (the script's way) is the
//! executor's, when the plan routes there or the node refuses our handshake.
use super::gather::Host;
use super::node::{down_reason, is_local, os_pid, os_pid_on};
use crate::dist::{self, ClientConfig, DistError};
use crate::plan::switches::show;
use crate::plan::{NodeLink, Remote, RemoteOp};
use crate::{Error, Result};
use std::io::Write;
use std::time::{Duration, Instant};

/// What a remote operation came to.
pub(crate) enum Outcome {
    /// Done natively: exit with this code.
    Exit(i32),
    /// Run the hidden VM instead, for this reason (nothing reached the node yet).
    Vm(String),
}

/// Why a native operation did not finish with an exit code.
enum Failure {
    /// The distribution client failed.
    Dist(DistError),
    /// The node did not go down or come back in time.
    Late(String),
}

impl From<DistError> for Failure {
    fn from(e: DistError) -> Failure {
        Failure::Dist(e)
    }
}

pub(crate) fn run(host: &dyn Host, remote: &Remote) -> Result<Outcome> {
    let Some(link) = &remote.native else {
        return Ok(Outcome::Vm(remote.why.clone()));
    };
    tracing::debug!(
        "native distribution: {} as a hidden node the node names ({})",
        link.target,
        remote.why
    );
    let cfg = link.client_config();
    let _span = tracing::debug_span!("remote", op = ?remote.op, target = %link.target).entered();
    if let Some(fleet) = &remote.fleet {
        return crate::fleet::run(host, link, &remote.op, fleet).map(Outcome::Exit);
    }
    let result = match &remote.op {
        RemoteOp::Ping => return ping(host, &cfg).map(Outcome::Exit),
        RemoteOp::Status => return Ok(Outcome::Exit(status(host, &cfg))),
        RemoteOp::Ready(check) | RemoteOp::Wait { check, .. } => {
            let wait = match &remote.op {
                RemoteOp::Wait { timeout, .. } => Some(*timeout),
                _ => None,
            };
            let mut out = host.out();
            return Ok(
                match crate::probe::command(&cfg, check, wait, Some(falls_back), &mut out)? {
                    crate::probe::Outcome::Exit(code) => Outcome::Exit(code),
                    crate::probe::Outcome::FallBack(e) => Outcome::Vm(format!("falling back: {e}")),
                },
            );
        }
        RemoteOp::Stop { wait } => stop(host, link, &cfg, *wait),
        RemoteOp::Restart { wait } => restart(link, &cfg, *wait),
        // `os:getpid()` asked directly: the script's `IO.puts System.pid()` prints the same
        // line, but evaluating Elixir on the node costs about a millisecond more.
        RemoteOp::Pid => os_pid(&cfg)
            .map(|pid| {
                let _ = writeln!(host.out(), "{pid}");
                0
            })
            .map_err(Failure::from),
        RemoteOp::Rpc(expr) => rpc(link, &cfg, &expr.to_string_lossy()).map_err(Failure::from),
    };
    match result {
        Ok(code) => Ok(Outcome::Exit(code)),
        Err(Failure::Late(text)) => Err(Error::Lifecycle(text)),
        Err(Failure::Dist(e)) if falls_back(&e) => Ok(Outcome::Vm(format!("falling back: {e}"))),
        Err(Failure::Dist(DistError::Timeout("call")))
            if matches!(remote.op, RemoteOp::Stop { .. } | RemoteOp::Restart { .. }) =>
        {
            Err(Error::Lifecycle(format!(
                "{} did not answer in time",
                cfg.target
            )))
        }
        Err(Failure::Dist(e)) => {
            tracing::debug!("{e}");
            eprintln!("{}", dist::script_failure_message(&e, link.legacy_rpc));
            Ok(Outcome::Exit(1))
        }
    }
}

/// The node refused our handshake for protocol reasons before anything ran: the hidden VM
/// may try.
fn falls_back(e: &DistError) -> bool {
    e.before_request()
        && matches!(
            e,
            DistError::HandshakeRejected { .. } | DistError::Protocol(_)
        )
}

/// `--rpc-eval NODE EXPR` with our stdio as the remote group leader.
fn rpc(link: &NodeLink, cfg: &ClientConfig, expr: &str) -> std::result::Result<i32, DistError> {
    with_stdio(cfg, |session| session.rpc_eval(expr, link.legacy_rpc))
}

/// Runs `f` on one connection whose remote IO (group leader) is our stdio.
fn with_stdio<T>(
    cfg: &ClientConfig,
    f: impl FnOnce(&mut dist::Session) -> std::result::Result<T, DistError>,
) -> std::result::Result<T, DistError> {
    dist::with_process_stdio(|io| f(&mut dist::Session::open(cfg, Some(io))?))
}

fn ping(host: &dyn Host, cfg: &ClientConfig) -> Result<i32> {
    match dist::ping(cfg) {
        Ok(()) => {
            let _ = writeln!(host.out(), "pong");
            Ok(0)
        }
        Err(e) => Err(Error::message(1, down_reason(cfg, &e))),
    }
}

/// LSB status: 0 running, 3 not running, 4 unknown (cannot tell: cookie, protocol).
fn status(host: &dyn Host, cfg: &ClientConfig) -> i32 {
    let (line, code) = match os_pid(cfg) {
        Ok(pid) => (format!("{} is running (pid {pid})", cfg.target), 0),
        Err(e @ (DistError::NotRegistered { .. } | DistError::EpmdUnreachable { .. })) => (
            format!("{} is not running ({})", cfg.target, down_reason(cfg, &e)),
            3,
        ),
        Err(e) => (
            format!("{} status unknown: {}", cfg.target, down_reason(cfg, &e)),
            4,
        ),
    };
    let _ = writeln!(host.out(), "{line}");
    code
}

/// On one connection: `first` (what to compare with afterwards), then `expr`, then — unless
/// it failed or there is no wait — the node closing the connection, by `deadline`. Returns
/// `first`'s answer, the exit code of `expr`, and whether the close came in time.
fn eval_then_close<T>(
    link: &NodeLink,
    cfg: &ClientConfig,
    expr: &str,
    wait: Duration,
    deadline: Option<Instant>,
    first: impl FnOnce(&mut dist::Session) -> std::result::Result<T, DistError>,
) -> std::result::Result<(T, i32, bool), DistError> {
    with_stdio(cfg, |session| {
        let answer = first(session)?;
        let code = session.rpc_eval(expr, link.legacy_rpc)?;
        if code != 0 || wait.is_zero() {
            return Ok((answer, code, true));
        }
        session.set_deadline(deadline);
        let closed = crate::probe::events::wait_closed(session)?;
        Ok((answer, code, closed))
    })
}

/// `System.stop()`, then wait until the node is gone (its OS process too, when local), on
/// one connection: the node closing it at the end of its shutdown is the event waited for
/// (no polling of EPMD, no reconnecting).
fn stop(
    host: &dyn Host,
    link: &NodeLink,
    cfg: &ClientConfig,
    wait: Duration,
) -> std::result::Result<i32, Failure> {
    let deadline = Instant::now().checked_add(wait);
    let (pid, code, closed) =
        eval_then_close(link, cfg, "System.stop()", wait, deadline, os_pid_on)?;
    if code != 0 || wait.is_zero() {
        return Ok(code);
    }
    let left = deadline.map_or(wait, |d| d.saturating_duration_since(Instant::now()));
    let gone = closed
        && (!is_local(&cfg.target, &host.hostname()) || crate::probe::events::wait_exit(pid, left));
    if gone {
        Ok(code)
    } else {
        Err(Failure::Late(format!(
            "{} (OS pid {pid}) is still running {} after System.stop() (BEAMRC_STOP_TIMEOUT)",
            cfg.target,
            show(wait)
        )))
    }
}

/// `System.restart()`, then wait until the applications are back (a new application
/// controller and `init:get_status()` started). Events, not polls: the node closes our
/// connection when its kernel restarts; then one new connection (retried only while the
/// node is not registered yet) subscribes to the end of its boot (`Session::wait_started`).
fn restart(
    link: &NodeLink,
    cfg: &ClientConfig,
    wait: Duration,
) -> std::result::Result<i32, Failure> {
    let deadline = Instant::now().checked_add(wait);
    let controller = crate::probe::events::app_controller;
    let (before, code, dropped) =
        eval_then_close(link, cfg, "System.restart()", wait, deadline, controller)?;
    if code != 0 || wait.is_zero() {
        return Ok(code);
    }
    let back = dropped
        && crate::probe::events::wait_back(
            cfg,
            &before,
            deadline.unwrap_or_else(|| Instant::now() + wait),
        );
    if back {
        Ok(code)
    } else {
        Err(Failure::Late(format!(
            "{} did not come back within {} after System.restart() (BEAMRC_START_TIMEOUT)",
            cfg.target,
            show(wait)
        )))
    }
}
