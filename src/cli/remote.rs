//! Remote commands at the edge: rpc, stop, restart, pid natively over distribution (the
//! script's hidden VM as the fallback), plus beamrc's ping and status.
use super::{act, gather, settings};
use crate::debug;
use crate::dist::{self, ClientConfig, DistError, Stdio, Term};
use crate::environment::EnvMap;
use crate::plan::command::{Command, RPC_EXPECTS};
use crate::plan::remote::{self, Names, Route};
use crate::plan::{Inputs, commands, dry_run};
use crate::{Error, Result};
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// Runs a remote command. `dry_run` prints the route (and the VM plan when falling back).
pub fn run(command: &Command, inputs: &Inputs, caller: &EnvMap, dry_run: bool) -> Result<i32> {
    if let Command::Rpc { expr } = command
        && expr.is_empty()
    {
        return Err(Error::message(1, RPC_EXPECTS));
    }
    match route(inputs, "rpc")? {
        Route::Native(names) => {
            debug!(
                "native distribution: {} as hidden node {}",
                names.target, names.own
            );
            if dry_run {
                println!(
                    "native call to {} as hidden node {}",
                    names.target, names.own
                );
                return Ok(0);
            }
            let client = client(inputs, &names)?;
            match native(command, inputs, &client) {
                Err(Fallback(reason)) => {
                    debug!("falling back to the hidden VM: {reason}");
                    vm(command, inputs, caller, dry_run)
                }
                Ok(result) => result,
            }
        }
        Route::Vm(reason) => {
            debug!("hidden VM path: {reason}");
            vm(command, inputs, caller, dry_run)
        }
    }
}

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
        settings::enabled(&vars.env, "BEAMRC_NATIVE"),
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

/// The native path could not be used after all (nothing reached the node yet).
struct Fallback(String);

pub fn client(inputs: &Inputs, names: &Names) -> Result<Client> {
    let env = &inputs.vars.env;
    let cookie = inputs
        .cookie
        .clone()
        .ok_or_else(|| Error::Config("no cookie was resolved".into()))?;
    let cfg = ClientConfig {
        epmd_port: settings::epmd_port(env)?,
        connect_timeout: settings::seconds(
            env,
            "BEAMRC_RPC_CONNECT_TIMEOUT",
            Some(Duration::from_secs(7)),
        )?
        .unwrap_or(Duration::from_secs(7)),
        call_timeout: settings::seconds(env, "BEAMRC_RPC_TIMEOUT", None)?,
        // The rest (name, family, port source) keeps the dist library's defaults.
        ..ClientConfig::new(&names.target, &names.own, &cookie)
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

fn native(
    command: &Command,
    inputs: &Inputs,
    c: &Client,
) -> std::result::Result<Result<i32>, Fallback> {
    let env = &inputs.vars.env;
    let outcome = match command {
        Command::Ping => return Ok(ping(c)),
        Command::Status => return Ok(status(c)),
        Command::Stop => stop(c, env),
        Command::Restart => restart(c, env),
        other => {
            let expr = other.rpc_expression().unwrap_or_default();
            rpc(c, &expr)
        }
    };
    match outcome {
        Err(e)
            if e.before_request()
                && matches!(
                    e,
                    DistError::HandshakeRejected { .. } | DistError::Protocol(_)
                ) =>
        {
            Err(Fallback(e.to_string()))
        }
        Err(DistError::Timeout("call")) if matches!(command, Command::Stop | Command::Restart) => {
            Ok(Err(Error::Lifecycle(format!(
                "{} did not answer in time",
                c.cfg.target
            ))))
        }
        Err(e) => {
            debug!("{e}");
            eprintln!("{}", dist::script_failure_message(&e, c.legacy));
            Ok(Ok(1))
        }
        Ok(result) => Ok(result),
    }
}

/// `--rpc-eval NODE EXPR` with our stdio as the remote group leader.
fn rpc(c: &Client, expr: &OsString) -> std::result::Result<Result<i32>, DistError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut io = Stdio {
        stdin: &mut input,
        stdout: &mut out,
        stderr: &mut err,
        stdout_is_tty: gather::isatty(1),
    };
    dist::rpc_eval(&c.cfg, &expr.to_string_lossy(), c.legacy, &mut io).map(Ok)
}

fn ping(c: &Client) -> Result<i32> {
    match dist::ping(&c.cfg) {
        Ok(()) => {
            println!("pong");
            Ok(0)
        }
        Err(e) => Err(Error::message(1, down_reason(&c.cfg, &e))),
    }
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

/// LSB status: 0 running, 3 not running, 4 unknown (cannot tell: cookie, protocol).
fn status(c: &Client) -> Result<i32> {
    match os_pid(&c.cfg) {
        Ok(pid) => {
            println!("{} is running (pid {pid})", c.cfg.target);
            Ok(0)
        }
        Err(e @ (DistError::NotRegistered { .. } | DistError::EpmdUnreachable { .. })) => {
            println!(
                "{} is not running ({})",
                c.cfg.target,
                down_reason(&c.cfg, &e)
            );
            Ok(3)
        }
        Err(e) => {
            println!(
                "{} status unknown: {}",
                c.cfg.target,
                down_reason(&c.cfg, &e)
            );
            Ok(4)
        }
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

/// `System.stop()`, then wait until the node is gone (its OS process too, when local).
fn stop(c: &Client, env: &EnvMap) -> std::result::Result<Result<i32>, DistError> {
    let pid = os_pid(&c.cfg)?;
    let code = match rpc(c, &"System.stop()".into())? {
        Ok(0) => 0,
        other => return Ok(other),
    };
    let timeout = match settings::seconds(env, "BEAMRC_STOP_TIMEOUT", Some(Duration::from_secs(60)))
    {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => return Ok(Err(e)),
    };
    if timeout.is_zero() {
        return Ok(Ok(code));
    }
    let local = is_local(&c.cfg.target);
    let gone = wait_until(timeout, || {
        let unregistered = matches!(
            dist::ping(&c.cfg),
            Err(DistError::NotRegistered { .. }
                | DistError::EpmdUnreachable { .. }
                | DistError::Connect { .. })
        );
        unregistered && (!local || !crate::process::watch::pid_alive(pid))
    });
    Ok(if gone {
        Ok(code)
    } else {
        Err(Error::Lifecycle(format!(
            "{} (OS pid {pid}) is still running {}s after System.stop() (BEAMRC_STOP_TIMEOUT)",
            c.cfg.target,
            timeout.as_secs_f64()
        )))
    })
}

/// `System.restart()`, then wait until the applications are back (a new application
/// controller and `init:get_status()` started).
fn restart(c: &Client, env: &EnvMap) -> std::result::Result<Result<i32>, DistError> {
    let controller = || {
        dist::call(
            &c.cfg,
            "erlang",
            "whereis",
            vec![Term::atom("application_controller")],
        )
    };
    let before = controller()?;
    let code = match rpc(c, &"System.restart()".into())? {
        Ok(0) => 0,
        other => return Ok(other),
    };
    let timeout =
        match settings::seconds(env, "BEAMRC_START_TIMEOUT", Some(Duration::from_secs(60))) {
            Ok(t) => t.unwrap_or_default(),
            Err(e) => return Ok(Err(e)),
        };
    if timeout.is_zero() {
        return Ok(Ok(code));
    }
    let back = wait_until(timeout, || {
        matches!(controller(), Ok(now) if now != before && !now.is_atom("undefined"))
            && matches!(node_ready(&c.cfg), Ok(true))
    });
    Ok(if back {
        Ok(code)
    } else {
        Err(Error::Lifecycle(format!(
            "{} did not come back within {}s after System.restart() (BEAMRC_START_TIMEOUT)",
            c.cfg.target,
            timeout.as_secs_f64()
        )))
    })
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
fn is_local(node: &str) -> bool {
    let host = node.split_once('@').map(|(_, h)| h).unwrap_or("");
    let me = gather::hostname();
    host == me
        || Some(host) == me.split('.').next()
        || dist::epmd::resolve_ipv4(host, 0).is_ok_and(|a| a.ip().is_loopback())
}

/// The script's way: exec a hidden VM with `--rpc-eval`.
fn vm(command: &Command, inputs: &Inputs, caller: &EnvMap, dry_run: bool) -> Result<i32> {
    let expr: OsString = match command {
        Command::Ping => "IO.puts(:pong)".into(),
        Command::Status => "IO.puts(\"#{node()} is running (pid #{System.pid()})\")".into(),
        other => other.rpc_expression().unwrap_or_default(),
    };
    let mut plan = commands::rpc_vm(inputs, &expr)?;
    plan.prepare.splice(0..0, inputs.rendered.iter().cloned());
    if dry_run {
        print!(
            "{}",
            dry_run::render(&plan, caller, inputs.cookie.as_deref())
        );
        return Ok(0);
    }
    act::prepare(&plan.prepare)?;
    act::run(plan, inputs)
}
