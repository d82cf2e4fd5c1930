//! Fleet mode (`BEAMRC_FLEET_NODES`, `beamrc fleet`): one remote operation — ping, status,
//! pid, ready, rpc — on several nodes in one invocation, in parallel (at most
//! `BEAMRC_FLEET_JOBS` at a time), each natively with the release's cookie, as one call
//! would. One line per node, in the order asked:
//!
//! ```text
//! NODE<TAB>ok|failed<TAB>TIME<TAB>RESULT
//! ```
//!
//! and exit 0 when every node succeeded, 1 otherwise. Part of the application layer: the
//! executor's remote operations hand it their link.
mod pool;

use crate::Result;
use crate::app::gather::Host;
use crate::dist::{self, ClientConfig, DistError, Stdio};
use crate::plan::switches::FleetNodes;
use crate::plan::{Fleet, NodeLink, RemoteOp};
use std::io::Write;
use std::time::Instant;

/// One node's outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeResult {
    pub node: String,
    pub ok: bool,
    pub millis: f64,
    pub text: String,
}

impl NodeResult {
    /// `NODE<TAB>ok|failed<TAB>TIME<TAB>RESULT`, the result on one line.
    pub fn line(&self) -> String {
        let text = self
            .text
            .trim_end()
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\t', "\\t");
        format!(
            "{}\t{}\t{:.1}ms\t{}",
            self.node,
            if self.ok { "ok" } else { "failed" },
            self.millis,
            text
        )
    }
}

/// Runs `op` on the fleet; prints one line per node; 0 when all succeeded.
pub(crate) fn run(host: &dyn Host, link: &NodeLink, op: &RemoteOp, fleet: &Fleet) -> Result<i32> {
    let base = link.client_config();
    let _span = tracing::debug_span!("fleet", jobs = fleet.jobs).entered();
    let nodes = match &fleet.nodes {
        FleetNodes::List(list) => list.iter().map(|n| full_name(n, &base.target)).collect(),
        FleetNodes::Connected => match connected(&base) {
            Ok(nodes) => nodes,
            Err(e) => {
                let r = NodeResult {
                    node: base.target.clone(),
                    ok: false,
                    millis: 0.0,
                    text: format!("cannot list its nodes(): {}", reason(&base.target, &e)),
                };
                let _ = writeln!(host.out(), "{}", r.line());
                return Ok(1);
            }
        },
    };
    let nodes = dedup(nodes);
    let results = pool::map(&nodes, fleet.jobs, |node| {
        let cfg = for_node(&base, link, node);
        let started = Instant::now();
        let (ok, text) = one(&cfg, link.legacy_rpc, op);
        NodeResult {
            node: node.clone(),
            ok,
            millis: started.elapsed().as_secs_f64() * 1000.0,
            text,
        }
    });
    let mut out = host.out();
    for r in &results {
        let _ = writeln!(out, "{}", r.line());
    }
    let _ = out.flush();
    let failed = results.iter().filter(|r| !r.ok).count();
    tracing::debug!(nodes = results.len(), failed, "fleet done");
    Ok(if failed == 0 { 0 } else { 1 })
}

/// `NAME` gets the target's `@host`.
fn full_name(node: &str, target: &str) -> String {
    match (node.contains('@'), target.split_once('@')) {
        (false, Some((_, host))) => format!("{node}@{host}"),
        _ => node.to_string(),
    }
}

fn dedup(nodes: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    for n in nodes {
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    seen
}

/// The target and every node in its `nodes()`.
fn connected(cfg: &ClientConfig) -> std::result::Result<Vec<String>, DistError> {
    let reply = dist::call(cfg, "erlang", "nodes", Vec::new())?;
    let others = reply
        .list_items()
        .ok_or_else(|| DistError::Protocol(format!("nodes() answered {reply:?}")))?;
    Ok(std::iter::once(cfg.target.clone())
        .chain(
            others
                .iter()
                .filter_map(|t| t.as_atom().map(str::to_string)),
        )
        .collect())
}

/// The link for one node: its name, our hidden name in the script's form for it.
fn for_node(base: &ClientConfig, link: &NodeLink, node: &str) -> ClientConfig {
    let prefix = link
        .own
        .strip_suffix(link.target.as_str())
        .unwrap_or("rpc-fleet-");
    ClientConfig {
        target: node.to_string(),
        own_name: format!("{prefix}{node}"),
        // The interface address is the release node's; other nodes are reached at their host.
        address: if node == base.target {
            base.address
        } else {
            None
        },
        ..base.clone()
    }
}

fn reason(node: &str, e: &DistError) -> String {
    match e {
        DistError::NotRegistered { .. } => format!("node {node} is not running"),
        DistError::CookieMismatch { .. } => "cookie mismatch".into(),
        other => other.to_string(),
    }
}

/// One node: (succeeded, what to print).
fn one(cfg: &ClientConfig, legacy_rpc: bool, op: &RemoteOp) -> (bool, String) {
    let failed = |e: DistError| (false, reason(&cfg.target, &e));
    match op {
        RemoteOp::Ping => match dist::ping(cfg) {
            Ok(()) => (true, "pong".into()),
            Err(e) => failed(e),
        },
        RemoteOp::Pid => match crate::app::node::os_pid(cfg) {
            Ok(pid) => (true, pid.to_string()),
            Err(e) => failed(e),
        },
        RemoteOp::Status => match crate::app::node::os_pid(cfg) {
            Ok(pid) => (true, format!("running (pid {pid})")),
            Err(e) => failed(e),
        },
        RemoteOp::Ready(check) => {
            let answer = crate::probe::check(cfg, check);
            let line = answer.line(&cfg.target);
            let text = line
                .strip_prefix(cfg.target.as_str())
                .map(|t| t.trim_start().trim_start_matches("is ").to_string())
                .unwrap_or(line);
            (answer.code() == 0, text)
        }
        RemoteOp::Rpc(expr) => {
            let mut stdin: &[u8] = &[];
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let mut io = Stdio::captured(&mut stdin, &mut out, &mut err);
            match dist::rpc_eval(cfg, &expr.to_string_lossy(), legacy_rpc, &mut io) {
                Ok(0) => (true, String::from_utf8_lossy(&out).into_owned()),
                Ok(code) => {
                    let mut text = String::from_utf8_lossy(&out).into_owned();
                    text.push_str(&String::from_utf8_lossy(&err));
                    (false, format!("exit {code}: {}", text.trim_end()))
                }
                Err(e) => failed(e),
            }
        }
        other => (false, format!("{other:?} is not a fleet operation")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_names() {
        let r = NodeResult {
            node: "a@h".into(),
            ok: false,
            millis: 1.25,
            text: "x\ty\nz\n".into(),
        };
        assert_eq!(r.line(), "a@h\tfailed\t1.2ms\tx\\ty\\nz");
        assert_eq!(full_name("b", "a@host"), "b@host");
        assert_eq!(full_name("b@x", "a@host"), "b@x");
        assert_eq!(dedup(vec!["a".into(), "b".into(), "a".into()]), ["a", "b"]);
    }

    #[test]
    fn an_unreachable_fleet_fails_per_node() {
        let cfg = ClientConfig {
            // A port nothing listens on: bound, then released.
            epmd_port: std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port(),
            ..ClientConfig::new("a@127.0.0.1", "rpc-1-a@127.0.0.1", "c")
        };
        let (ok, text) = one(&cfg, false, &RemoteOp::Ping);
        assert!(!ok);
        assert!(text.contains("epmd") || text.contains("EPMD"), "{text}");
    }
}
