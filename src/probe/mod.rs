//! Probe-grade questions to a running node: readiness (`ready`) and waiting for it
//! (`wait`). A check is one connection and one remote call, bounded by the link's connect
//! and call timeouts; `wait` keeps one connection and waits for init's `started` event.
//! Nothing is written and nothing is evaluated on the node.
pub(crate) mod events;
pub(crate) mod ready;

pub(crate) use ready::{Readiness, ReadyCheck};

use crate::dist::{self, ClientConfig, DistError, Session};
use crate::{Error, Result};
use std::io::Write;
use std::time::{Duration, Instant};

/// What a probe command (`ready`, `wait`) came to.
pub(crate) enum Outcome {
    /// Answered natively: the line is printed, exit with this code.
    Exit(i32),
    /// `ready` could not start natively and another route (the hidden VM) may try.
    FallBack(DistError),
}

/// `ready` (`wait` is `None`) or `wait` (bounded by `wait`) as a command, for every kind of
/// release: the line on `out`, the probe's exit code; a `wait` that runs out of time is the
/// lifecycle error (exit 6) with the last state. `fall_back` says which native failures of
/// `ready` another route may retry — a Mix release's hidden VM; `None` where there is no
/// other route (relx releases, and `wait`, which is native only).
pub(crate) fn command(
    cfg: &ClientConfig,
    check: &ReadyCheck,
    wait: Option<Duration>,
    fall_back: Option<fn(&DistError) -> bool>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    let answer = match wait {
        None => match ask(cfg, check) {
            Err(e) if fall_back.is_some_and(|f| f(&e)) => return Ok(Outcome::FallBack(e)),
            Err(e) => from_error(&e),
            Ok(answer) => answer,
        },
        Some(timeout) => {
            let (answer, late) = self::wait(cfg, check, timeout);
            if late {
                return Err(Error::Lifecycle(format!(
                    "{}, still after {}s (wait --timeout, BEAMRC_START_TIMEOUT)",
                    answer.line(&cfg.target),
                    timeout.as_secs_f64()
                )));
            }
            answer
        }
    };
    let _ = writeln!(out, "{}", answer.line(&cfg.target));
    Ok(Outcome::Exit(answer.code()))
}

/// Asks the node once; a failed connection or call is the client's error.
pub(crate) fn ask(cfg: &ClientConfig, check: &ReadyCheck) -> Result<Readiness, DistError> {
    ask_on(&mut Session::connect(cfg)?, check)
}

/// Asks the node once; every failure is an answer too.
pub(crate) fn check(cfg: &ClientConfig, what: &ReadyCheck) -> Readiness {
    ask(cfg, what).unwrap_or_else(|e| from_error(&e))
}

/// A failed connection or call as a readiness answer.
pub(crate) fn from_error(e: &DistError) -> Readiness {
    match e {
        DistError::NotRegistered { node } => {
            Readiness::NotRunning(format!("no node {node} registered with EPMD"))
        }
        DistError::EpmdUnreachable { port, .. } => {
            Readiness::NotRunning(format!("epmd not reachable on port {port}"))
        }
        DistError::Connect { .. } => Readiness::NotRunning(e.to_string()),
        DistError::CookieMismatch { node } => {
            Readiness::Unknown(format!("connection refused by {node}: cookie mismatch"))
        }
        other => Readiness::Unknown(other.to_string()),
    }
}

/// Checks until the node is ready or `timeout` has passed (0: once), on one kept
/// connection (re-opened only when it drops). While the node boots it waits for init's
/// `started` event (`dist::Session::wait_started`) instead of polling; a missing application
/// or process is re-checked on the same connection. Every connect and call fits in what is
/// left. A cookie mismatch ends the wait at once (it will not change). Returns the last
/// answer (the one before it when the last check was cut short by the deadline) and whether
/// time ran out.
pub(crate) fn wait(cfg: &ClientConfig, what: &ReadyCheck, timeout: Duration) -> (Readiness, bool) {
    let _span = tracing::debug_span!("wait_ready", timeout_s = timeout.as_secs_f64()).entered();
    let deadline = Instant::now() + timeout;
    let mut session: Option<Session> = None;
    let mut pause = Duration::from_millis(20);
    let mut last: Option<Readiness> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let bounded = |t: Duration| {
            if timeout.is_zero() {
                t
            } else {
                t.min(left.max(Duration::from_millis(1)))
            }
        };
        let call_deadline =
            Instant::now() + bounded(cfg.call_timeout.unwrap_or(cfg.connect_timeout));
        let reply = match session.as_mut() {
            Some(s) => {
                s.set_deadline(Some(call_deadline));
                ask_on(s, what)
            }
            None => {
                let attempt = ClientConfig {
                    connect_timeout: bounded(cfg.connect_timeout),
                    call_timeout: Some(call_deadline.saturating_duration_since(Instant::now())),
                    ..cfg.clone()
                };
                Session::connect(&attempt).and_then(|mut s| {
                    let answer = ask_on(&mut s, what);
                    session = Some(s);
                    answer
                })
            }
        };
        let cut_short = matches!(reply, Err(DistError::Timeout(_)));
        let answer = reply.unwrap_or_else(|e| {
            session = None;
            from_error(&e)
        });
        let settled = matches!(answer, Readiness::Ready)
            || matches!(&answer, Readiness::Unknown(why) if why.contains("cookie mismatch"));
        if settled {
            return (answer, false);
        }
        if Instant::now() >= deadline {
            // A check cut short by the deadline says less than the one before it.
            return (last.filter(|_| cut_short).unwrap_or(answer), true);
        }
        tracing::debug!(?answer, "not ready yet");
        last = Some(answer.clone());
        if let (Some(s), Readiness::NotReady(why)) = (session.as_mut(), &answer)
            && why.starts_with("booting")
        {
            s.set_deadline(Some(deadline));
            match s.wait_started() {
                Ok(()) => continue,
                Err(_) if Instant::now() >= deadline => return (answer, true),
                Err(_) => session = None,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// One readiness question on an open connection. Without applications or processes to
/// check it is `init:get_status()` alone — beamrc's own fixed query, which may travel with
/// the handshake's last message (`Session::ask`: one round trip less); names the caller
/// gave wait for the node to prove the cookie (`Session::call`).
pub(crate) fn ask_on(session: &mut Session, what: &ReadyCheck) -> Result<Readiness, DistError> {
    if what.apps.is_empty() && what.processes.is_empty() {
        let status = session.ask("init", "get_status")?;
        return Ok(ready::interpret(&dist::Term::list(vec![status]), what));
    }
    let (m, f, args) = ready::request(what);
    session
        .call(m, f, args)
        .map(|reply| ready::interpret(&reply, what))
}
