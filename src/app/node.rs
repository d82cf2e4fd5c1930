//! Talking to the release's running node: the route (native or hidden VM), the native
//! client for it, and the queries the commands and waits are built from.
use super::{gather, switches};
use crate::debug;
use crate::dist::{self, ClientConfig, DistError};
use crate::plan::remote::{self, Names, Route};
use crate::plan::{Inputs, commands};
use crate::{Error, Result};
use std::time::{Duration, Instant};

/// Native or hidden VM, for a hidden node named `PREFIX-XXXX-…`.
pub fn route(inputs: &Inputs, prefix: &str) -> Result<Route> {
    let vars = &inputs.vars;
    let distribution = commands::distribution(inputs)?;
    let words = match &inputs.remote_flags {
        Some(flags) => remote::remote_words(vars, flags.clone()),
        None => {
            let text = std::fs::read_to_string(&vars.remote_vm_args).ok();
            let flags = text
                .as_deref()
                .map(remote::words_of_args_file)
                .unwrap_or_default();
            remote::remote_words(vars, flags)
        }
    };
    Ok(remote::route(
        vars,
        distribution,
        &words,
        &gather::hostname(),
        switches::enabled(&vars.env, "BEAMRC_NATIVE"),
        prefix,
        &inputs.rand[1],
    ))
}

/// A client for the node, when beamrc can talk to it natively.
pub fn native_client(inputs: &Inputs) -> Result<Option<Client>> {
    match route(inputs, "rpc")? {
        Route::Native(names) => client(inputs, &names).map(Some),
        Route::Vm(reason) => {
            debug!("no native connection: {reason}");
            Ok(None)
        }
    }
}

pub fn client(inputs: &Inputs, names: &Names) -> Result<Client> {
    let env = &inputs.vars.env;
    let cookie = inputs
        .cookie
        .clone()
        .ok_or_else(|| Error::Config("no cookie was resolved".into()))?;
    let cfg = ClientConfig {
        target: names.target.clone(),
        own_name: names.own.clone(),
        cookie,
        epmd_port: switches::epmd_port(env)?,
        connect_timeout: switches::seconds(
            env,
            "BEAMRC_RPC_CONNECT_TIMEOUT",
            Some(Duration::from_secs(7)),
        )?
        .unwrap_or(Duration::from_secs(7)),
        call_timeout: switches::seconds(env, "BEAMRC_RPC_TIMEOUT", None)?,
    };
    Ok(Client {
        cfg,
        legacy: inputs.generation.legacy_rpc(),
    })
}

pub struct Client {
    pub cfg: ClientConfig,
    pub legacy: bool,
}

/// One line saying why the node does not answer.
pub fn down_reason(cfg: &ClientConfig, e: &DistError) -> String {
    match e {
        DistError::NotRegistered { .. } => format!("node {} is not running", cfg.target),
        DistError::CookieMismatch { node } => {
            format!("connection refused by {node}: cookie mismatch")
        }
        DistError::EpmdUnreachable { port, .. } => format!("epmd not reachable on port {port}"),
        other => format!("node {} does not answer: {other}", cfg.target),
    }
}

/// The node's OS pid (`os:getpid()`).
pub fn os_pid(cfg: &ClientConfig) -> std::result::Result<u32, DistError> {
    let reply = dist::call(cfg, "os", "getpid", Vec::new())?;
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
pub fn node_ready(cfg: &ClientConfig) -> std::result::Result<bool, DistError> {
    let reply = dist::call(cfg, "init", "get_status", Vec::new())?;
    Ok(matches!(reply.as_tuple(), Some([a, b]) if a.is_atom("started") && b.is_atom("started")))
}

/// Polls `done` with a growing interval (5 ms → 100 ms) until it holds or time runs out.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Whether the node's host is this machine (then its OS pid means something here).
pub(crate) fn is_local(node: &str) -> bool {
    let host = node.split_once('@').map(|(_, h)| h).unwrap_or("");
    let me = gather::hostname();
    host == me
        || Some(host) == me.split('.').next()
        || dist::epmd::resolve_ipv4(host, 0).is_ok_and(|a| a.ip().is_loopback())
}
