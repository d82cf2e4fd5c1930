//! Questions to the release's running node over a native link, and the polling wait the
//! lifecycle commands are built from.
use crate::dist::{self, ClientConfig, DistError};
use std::time::{Duration, Instant};

/// One line saying why the node does not answer.
pub(crate) fn down_reason(cfg: &ClientConfig, e: &DistError) -> String {
    match e {
        DistError::NotRegistered { .. } => format!("node {} is not running", cfg.target),
        DistError::CookieMismatch { node } => {
            format!("connection refused by {node}: cookie mismatch")
        }
        DistError::EpmdUnreachable { port, .. } => format!("epmd not reachable on port {port}"),
        // "cannot resolve host H of node N" (issue 9), not "epmd not reachable".
        DistError::Resolve { .. } => e.to_string(),
        other => format!("node {} does not answer: {other}", cfg.target),
    }
}

/// The node's OS pid (`os:getpid()`).
pub(crate) fn os_pid(cfg: &ClientConfig) -> Result<u32, DistError> {
    os_pid_on(&mut dist::Session::connect(cfg)?)
}

/// `os_pid` on an open session.
pub(crate) fn os_pid_on(session: &mut dist::Session) -> Result<u32, DistError> {
    let reply = session.ask("os", "getpid")?;
    reply
        .list_items()
        .and_then(|items| {
            let digits: String = items
                .iter()
                .map(|t| t.as_int().and_then(|i| char::from_u32(i as u32)))
                .collect::<Option<String>>()?;
            digits.parse().ok()
        })
        .ok_or_else(|| DistError::Protocol(format!("os:getpid() answered {reply:?}")))
}

/// `init:get_status()` is `{started, started}`: the boot script has run to the end.
pub(crate) fn node_ready_on(session: &mut dist::Session) -> Result<bool, DistError> {
    let reply = session.ask("init", "get_status")?;
    Ok(matches!(reply.as_tuple(), Some([a, b]) if a.is_atom("started") && b.is_atom("started")))
}

/// Polls `done` with a growing interval (5 ms → 100 ms) until it holds or time runs out.
pub(crate) fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let _span = tracing::debug_span!("wait", timeout_s = timeout.as_secs_f64()).entered();
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if done() {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "wait done"
            );
            return true;
        }
        if started.elapsed() >= timeout {
            tracing::debug!("wait timed out");
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Whether the node's host is this machine, named `me` (then its OS pid means something
/// here).
pub(crate) fn is_local(node: &str, me: &str) -> bool {
    let host = node.split_once('@').map(|(_, h)| h).unwrap_or("");
    if host == me || Some(host) == me.split('.').next() || host == "localhost" {
        return true;
    }
    // An address literal (`app@::1`, `app@127.0.0.1`) needs no resolver.
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    dist::epmd::resolve_ipv4(host, 0).is_ok_and(|a| a.ip().is_loopback())
}
