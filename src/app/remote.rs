//! Remote commands: rpc, stop, restart, pid natively over distribution (the script's
//! hidden VM as the fallback), plus beamrc's ping and status.
use super::node::{Client, client, down_reason, is_local, node_ready, os_pid, route, wait_until};
use super::{execute, gather, switches};
use crate::debug;
use crate::dist::{self, DistError, Stdio, Term};
use crate::environment::EnvMap;
use crate::plan::command::{Command, RPC_EXPECTS};
use crate::plan::remote::Route;
use crate::plan::{Inputs, commands, dry_run};
use crate::{Error, Result};
use std::ffi::OsString;
use std::time::Duration;

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

/// The native path could not be used after all (nothing reached the node yet).
struct Fallback(String);

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

/// `System.stop()`, then wait until the node is gone (its OS process too, when local).
fn stop(c: &Client, env: &EnvMap) -> std::result::Result<Result<i32>, DistError> {
    let pid = os_pid(&c.cfg)?;
    let code = match rpc(c, &"System.stop()".into())? {
        Ok(0) => 0,
        other => return Ok(other),
    };
    let timeout = match switches::seconds(env, "BEAMRC_STOP_TIMEOUT", Some(Duration::from_secs(60)))
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
        match switches::seconds(env, "BEAMRC_START_TIMEOUT", Some(Duration::from_secs(60))) {
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
    execute::prepare(&plan.prepare)?;
    execute::run(plan, inputs)
}
