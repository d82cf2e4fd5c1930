//! Probe-grade questions to a running node: readiness (`ready`) and waiting for it
//! (`wait`). Each check is one connection and one remote call, bounded by the link's
//! connect and call timeouts; nothing is written and nothing evaluated on the node.
pub(crate) mod ready;

pub(crate) use ready::{Readiness, ReadyCheck};

use crate::dist::{self, ClientConfig, DistError};
use std::time::{Duration, Instant};

/// Asks the node once; a failed connection or call is the client's error.
pub(crate) fn ask(cfg: &ClientConfig, check: &ReadyCheck) -> Result<Readiness, DistError> {
    let (m, f, args) = ready::request(check);
    dist::call(cfg, m, f, args).map(|reply| ready::interpret(&reply, check))
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

/// Checks until the node is ready or `timeout` has passed (0: once). Every attempt's
/// connect and call fit in what is left. A cookie mismatch ends the wait at once (it will
/// not change); returns the last answer and whether time ran out.
pub(crate) fn wait(cfg: &ClientConfig, what: &ReadyCheck, timeout: Duration) -> (Readiness, bool) {
    let _span = tracing::debug_span!("wait_ready", timeout_s = timeout.as_secs_f64()).entered();
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut attempt = cfg.clone();
        if !timeout.is_zero() {
            attempt.connect_timeout = attempt
                .connect_timeout
                .min(left.max(Duration::from_millis(1)));
            attempt.call_timeout = Some(attempt.call_timeout.map_or(left, |t| t.min(left)));
        }
        let answer = check(&attempt, what);
        let final_answer = matches!(answer, Readiness::Ready)
            || matches!(&answer, Readiness::Unknown(why) if why.contains("cookie mismatch"));
        if final_answer {
            return (answer, false);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (answer, true);
        }
        tracing::debug!(?answer, "not ready yet");
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}
