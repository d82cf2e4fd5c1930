//! Remote commands (rpc, stop, restart, pid, ping, status): whether beamrc can speak to the
//! node itself or must boot a hidden VM as the script does, and the node names either way.
use super::command::{Command, RPC_EXPECTS};
use super::{Inputs, NodeLink, Plan, Remote, RemoteOp, Watch, commands};
use crate::environment::vars::{Distribution, ReleaseVars};
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};

/// Names for a native connection, built as the script builds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `RELEASE_NODE`, with `@host` appended when it has none.
    pub target: String,
    /// `PREFIX-XXXX-RELEASE_NODE[@host]`: our hidden node.
    pub own: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Native(Names),
    /// Boot a hidden VM like the script; the reason is logged.
    Vm(String),
}

/// Flags that change how a node connects; where they appear, the VM path is used.
const DIST_FLAGS: &[&str] = &[
    "-proto_dist",
    "-epmd_module",
    "-erl_epmd_port",
    "-dist_listen",
    "-setcookie",
    "-name",
    "-sname",
    "-connect_all",
];

/// The first distribution-changing flag among `words` that the native client does not
/// handle itself (it handles plain-TCP `-proto_dist`, `-erl_epmd_port`, `-start_epmd`,
/// `-dist_listen` and the listen-side `-kernel inet_dist_*`: `dist::handles`), if any.
pub fn customised_flag(words: &[String]) -> Option<String> {
    words.iter().enumerate().find_map(|(i, w)| {
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        if crate::dist::handles(w, next) {
            return None;
        }
        if w == "-proto_dist" {
            return Some(format!("{w} {next}"));
        }
        if DIST_FLAGS.contains(&w.as_str()) {
            return Some(w.clone());
        }
        (w == "-kernel" && (next.starts_with("inet_dist") || next == "epmd_module"))
            .then(|| format!("-kernel {next}"))
    })
}

/// The arguments of an args file as erlexec splits them.
pub fn words_of_args_file(text: &str) -> Vec<String> {
    crate::config::args_file::words(text)
}

/// Decides the route. `words` are the arguments from remote.vm.args and the `ERL_*FLAGS` /
/// `ELIXIR_ERL_OPTIONS` variables; `hostname` is the machine's host name.
pub fn route(
    vars: &ReleaseVars,
    distribution: Distribution,
    words: &[String],
    hostname: &str,
    native_allowed: bool,
    prefix: &str,
    rand: &str,
) -> Route {
    if !native_allowed {
        return Route::Vm("BEAMRC_NATIVE=0".into());
    }
    if distribution == Distribution::None {
        return Route::Vm("RELEASE_DISTRIBUTION=none".into());
    }
    if let Some(flag) = customised_flag(words) {
        return Route::Vm(format!("distribution is customised ({flag})"));
    }
    let Some(node) = vars.node.to_str() else {
        return Route::Vm("RELEASE_NODE is not UTF-8".into());
    };
    let host = if node.contains('@') {
        None
    } else {
        match distribution {
            Distribution::Sname => Some(hostname.split('.').next().unwrap_or(hostname)),
            // A long name needs a fully qualified host; only the VM knows the resolver's domain.
            _ if hostname.contains('.') => Some(hostname),
            _ => {
                return Route::Vm(
                    "RELEASE_NODE has no @host and the host name has no domain".into(),
                );
            }
        }
    };
    let with_host = |n: String| match host {
        Some(h) => format!("{n}@{h}"),
        None => n,
    };
    Route::Native(Names {
        target: with_host(node.to_string()),
        own: with_host(format!("{prefix}-{rand}-{node}")),
    })
}

/// `words` for `route`: remote.vm.args's arguments plus the flag variables erlexec reads.
pub fn remote_words(vars: &ReleaseVars, remote_vm_args: Vec<String>) -> Vec<String> {
    let mut words = remote_vm_args;
    for key in [
        "ELIXIR_ERL_OPTIONS",
        "ERL_AFLAGS",
        "ERL_FLAGS",
        "ERL_ZFLAGS",
    ] {
        if let Some(v) = vars.env.get(key).map(OsStr::to_string_lossy) {
            if key == "ELIXIR_ERL_OPTIONS" {
                // word-split by the elixir script, not by erlexec
                words.extend(v.split_whitespace().map(str::to_string));
            } else {
                words.extend(crate::config::args_file::words_of_variable(&v));
            }
        }
    }
    words
}

/// The route to the running node for this launch, with the reason: a native link, or
/// why the hidden VM is needed.
pub fn watch(inputs: &Inputs) -> Result<Watch> {
    let vars = &inputs.vars;
    let distribution = commands::distribution(inputs)?;
    let words = remote_words(vars, inputs.remote_vm_args_words.clone());
    let names = match route(
        vars,
        distribution,
        &words,
        &inputs.hostname,
        inputs.switches.native,
        "rpc",
        &inputs.rand[1],
    ) {
        Route::Native(names) => names,
        Route::Vm(why) => return Ok(Watch::Blind(why)),
    };
    let cookie = inputs
        .cookie
        .clone()
        .ok_or_else(|| Error::Config("no cookie was resolved".into()))?;
    let sw = &inputs.switches;
    Ok(Watch::Native(NodeLink {
        target: names.target,
        own: names.own,
        cookie,
        epmd_port: sw.epmd_port,
        connect_timeout: sw.connect_timeout,
        call_timeout: sw.call_timeout,
        legacy_rpc: inputs.generation.legacy_rpc(),
        endpoint: client_endpoint(&words)?,
    }))
}

/// Epmd-less (`-erl_epmd_port`) and IPv6 (`-proto_dist inet6_tcp`) nodes, from the
/// client-side flags. Not ERL_DIST_PORT (relx's, not the Mix script's), and not
/// `inet_dist_use_interface`: in remote.vm.args it is the client VM's own listen address.
fn client_endpoint(words: &[String]) -> Result<crate::dist::Endpoint> {
    use crate::dist::{Endpoint, EndpointError, endpoint};
    match endpoint(words, None) {
        Ok(ep) => Ok(Endpoint {
            address: None,
            ..ep
        }),
        Err(EndpointError::Invalid(why) | EndpointError::Unsupported(why)) => {
            Err(Error::Config(why))
        }
    }
}

/// The expression the hidden VM evaluates for a remote operation.
fn vm_expression(op: &RemoteOp) -> OsString {
    match op {
        RemoteOp::Rpc(expr) => expr.clone(),
        RemoteOp::Stop { .. } => "System.stop()".into(),
        RemoteOp::Restart { .. } => "System.restart()".into(),
        RemoteOp::Pid => "IO.puts System.pid()".into(),
        RemoteOp::Ping => "IO.puts(:pong)".into(),
        RemoteOp::Status => "IO.puts(\"#{node()} is running (pid #{System.pid()})\")".into(),
        RemoteOp::Ready(check) | RemoteOp::Wait { check, .. } => {
            crate::probe::ready::vm_expression(check).into()
        }
    }
}

/// The plan of a remote command: the operation, its route and why, and the hidden VM's
/// plan (the route, or the fallback).
pub fn plan(command: &Command, inputs: &Inputs) -> Result<Plan> {
    let sw = &inputs.switches;
    let op = match command {
        Command::Rpc { expr } if expr.is_empty() => return Err(Error::message(1, RPC_EXPECTS)),
        Command::Rpc { expr } => RemoteOp::Rpc(expr.clone()),
        Command::Stop => RemoteOp::Stop {
            wait: sw.stop_timeout,
        },
        Command::Restart => RemoteOp::Restart {
            wait: sw.start_timeout,
        },
        Command::Pid => RemoteOp::Pid,
        Command::Ping => RemoteOp::Ping,
        Command::Status => RemoteOp::Status,
        Command::Ready { args } => {
            RemoteOp::Ready(crate::probe::ready::parse_args("ready", args, false)?.check)
        }
        Command::Wait { args } => {
            let parsed = crate::probe::ready::parse_args("wait", args, true)?;
            RemoteOp::Wait {
                timeout: wait_timeout(&parsed, sw.start_timeout)?,
                check: parsed.check,
            }
        }
        other => return Err(Error::message(1, format!("ERROR: {other:?} is not remote"))),
    };
    let mut vm = commands::rpc_vm(inputs, &vm_expression(&op))?;
    vm.prepare.splice(0..0, inputs.rendered.iter().cloned());
    let (mut native, why) = match watch(inputs)? {
        Watch::Native(link) => (Some(link), "standard distribution, BEAMRC_NATIVE on".into()),
        Watch::Blind(why) => (None, why),
    };
    if command.is_probe()
        && let Some(link) = native.as_mut()
    {
        // A probe has a total deadline: its call is bounded even without BEAMRC_RPC_TIMEOUT.
        link.call_timeout = link.call_timeout.or(Some(sw.connect_timeout));
    }
    let fleet = fleet(command, &sw.fleet, sw.fleet_jobs, native.is_some(), &why)?;
    if matches!(op, RemoteOp::Wait { .. }) && native.is_none() {
        return Err(Error::Config(format!(
            "wait needs the native route to the node, and it is not available: {why}; \
             there is no hidden-VM fallback (loop over `ready` instead)"
        )));
    }
    Ok(Plan {
        prepare: Vec::new(),
        action: super::Action::Remote(Remote {
            op,
            native,
            why,
            fleet,
            vm: Box::new(vm),
        }),
    })
}

/// Fleet mode for this command, when `BEAMRC_FLEET_NODES` asks for it.
fn fleet(
    command: &Command,
    nodes: &Option<super::switches::FleetNodes>,
    jobs: usize,
    native: bool,
    why: &str,
) -> Result<Option<super::Fleet>> {
    let Some(nodes) = nodes else {
        return Ok(None);
    };
    let fits = matches!(
        command,
        Command::Ping
            | Command::Status
            | Command::Pid
            | Command::Ready { .. }
            | Command::Rpc { .. }
    );
    if !fits {
        return Err(Error::Config(
            "BEAMRC_FLEET_NODES works with ping, status, pid, ready and rpc".into(),
        ));
    }
    if !native {
        return Err(Error::Config(format!(
            "fleet mode (BEAMRC_FLEET_NODES) needs the native route, and it is not available: {why}; \
             there is no hidden-VM fallback (a VM per node; run the command per node instead)"
        )));
    }
    Ok(Some(super::Fleet {
        nodes: nodes.clone(),
        jobs,
    }))
}

/// `wait --timeout S` (seconds, the switches' grammar), else `default`
/// (`BEAMRC_START_TIMEOUT`); for Mix and relx releases alike.
pub(crate) fn wait_timeout(
    parsed: &crate::probe::ready::ProbeArgs,
    default: std::time::Duration,
) -> Result<std::time::Duration> {
    let Some(text) = &parsed.timeout else {
        return Ok(default);
    };
    let env: crate::environment::EnvMap = [("wait --timeout", text.as_str())].into_iter().collect();
    Ok(super::switches::seconds(&env, "wait --timeout")?.unwrap_or(default))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::{EnvMap, vars};
    use std::path::Path;

    fn vars_with(node: &str) -> ReleaseVars {
        let env: EnvMap = [
            ("RELEASE_ROOT", "/R"),
            ("RELEASE_NAME", "demo"),
            ("RELEASE_NODE", node),
        ]
        .into_iter()
        .collect();
        vars::finish(env, Path::new("/R/releases/0.1.0"))
    }

    #[test]
    fn names_follow_the_script() {
        let r = route(
            &vars_with("demo"),
            Distribution::Sname,
            &[],
            "vm.example.com",
            true,
            "rpc",
            "ab12",
        );
        assert_eq!(
            r,
            Route::Native(Names {
                target: "demo@vm".into(),
                own: "rpc-ab12-demo@vm".into()
            })
        );
        let r = route(
            &vars_with("x@127.0.0.1"),
            Distribution::Name,
            &[],
            "vm",
            true,
            "rpc",
            "0001",
        );
        assert_eq!(
            r,
            Route::Native(Names {
                target: "x@127.0.0.1".into(),
                own: "rpc-0001-x@127.0.0.1".into()
            })
        );
        assert!(matches!(
            route(
                &vars_with("x"),
                Distribution::Name,
                &[],
                "vm",
                true,
                "rpc",
                "1"
            ),
            Route::Vm(_)
        ));
    }

    #[test]
    fn customised_distribution_falls_back() {
        let words = words_of_args_file("## comment -proto_dist\n-proto_dist inet_tls # tls\n");
        assert_eq!(
            customised_flag(&words).as_deref(),
            Some("-proto_dist inet_tls")
        );
        let words = words_of_args_file("-kernel inet_dist_connect_options []\n");
        assert_eq!(
            customised_flag(&words).as_deref(),
            Some("-kernel inet_dist_connect_options")
        );
        // Plain-TCP setups the native client reaches itself.
        let words = words_of_args_file(
            "-proto_dist inet6_tcp\n-start_epmd false -erl_epmd_port 9100 -dist_listen false\n\
             -kernel inet_dist_listen_min 9000 -kernel inet_dist_use_interface {127,0,0,1}\n",
        );
        assert_eq!(customised_flag(&words), None);
        assert_eq!(
            customised_flag(&words_of_args_file("+K true\n-env X 1\n")),
            None
        );
        // erlexec's own tokenizer: a quoted `#` starts no comment
        let words = words_of_args_file("-env NOTE \"x # y\" -proto_dist inet_tls\n");
        assert_eq!(
            customised_flag(&words).as_deref(),
            Some("-proto_dist inet_tls")
        );
        let falls_back = |dist, words: &[String], native| {
            matches!(
                route(&vars_with("demo"), dist, words, "vm", native, "rpc", "1"),
                Route::Vm(_)
            )
        };
        assert!(falls_back(
            Distribution::Sname,
            &["-epmd_module".into()],
            true
        ));
        assert!(falls_back(Distribution::None, &[], true));
        assert!(falls_back(Distribution::Sname, &[], false));
        assert!(!falls_back(Distribution::Sname, &[], true));
    }
}
