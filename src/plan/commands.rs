//! One function per release command, each building the Elixir-level invocation the script
//! builds; `vm::action` turns it into what runs.
use super::command::{Command, EVAL_EXPECTS, RPC_EXPECTS};
use super::elixir_cli::Invocation;
use super::{Action, Inputs, Plan, Prepare, vm};
use crate::environment::EnvMap;
use crate::environment::vars::Distribution;
use crate::release::ElixirGen;
use crate::{Error, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// The plan for every command: one match, one function per command. The rendered config
/// files come first in `prepare` (remote commands keep them in their hidden VM's plan).
pub fn plan(cmd: &Command, inputs: &Inputs) -> Result<Plan> {
    // Remote plans carry the rendered files in their hidden VM's plan.
    let local = |p: Plan| (p, false);
    let (mut plan, remote) = match cmd {
        Command::Start => start(inputs, false, false).map(local),
        Command::StartIex => start(inputs, true, false).map(local),
        Command::Daemon => start(inputs, false, true).map(local),
        Command::DaemonIex => start(inputs, true, true).map(local),
        Command::Eval { expr, args } => eval(inputs, expr, args).map(local),
        Command::Remote => remote(inputs).map(local),
        Command::Attach => Ok(local(attach(inputs))),
        Command::Version => Ok(local(version(&inputs.vars))),
        Command::Rpc { .. }
        | Command::Stop
        | Command::Restart
        | Command::Pid
        | Command::Ping
        | Command::Status
        | Command::Ready { .. }
        | Command::Wait { .. } => super::remote::plan(cmd, inputs).map(|p| (p, true)),
        Command::Upgrade { word, op, vsn } => {
            super::upgrade::plan(word, *op, vsn, inputs).map(|p| (p, true))
        }
        Command::CheckUpgrade { args } => {
            super::upgrade::check_plan(args, inputs).map(|p| (p, true))
        }
        Command::Help | Command::Unknown(_) => {
            Err(Error::message(1, format!("ERROR: {cmd:?} has no plan")))
        }
    }?;
    if !remote {
        plan.prepare.splice(0..0, inputs.rendered.iter().cloned());
    }
    check_erts(inputs, &plan)?;
    Ok(plan)
}

/// A release built with ERTS (`ERTS_BIN` in releases/VSN/elixir) whose `erts-VSN/bin` is
/// gone fails as the script fails — never quietly with the `erl` on PATH — when the plan
/// runs something from ERTS (a release built without ERTS has no `ERTS_BIN`).
fn check_erts(inputs: &Inputs, plan: &Plan) -> Result<()> {
    let Some(dir) = inputs.erts_bin.as_ref().filter(|_| inputs.bindir.is_none()) else {
        return Ok(());
    };
    let runs_erts = match &plan.action {
        Action::Print(_) | Action::Upgrade(_) => false,
        Action::Remote(r) => r.native.is_none(),
        Action::Exec(_) | Action::Start(_) | Action::Daemon(_) => true,
    };
    if !runs_erts {
        return Ok(());
    }
    Err(Error::Release(format!(
        "{} does not exist: the release was built with ERTS (ERTS_BIN in {}), but its directory is missing",
        dir.display(),
        inputs.vars.vsn_dir.join("elixir").display()
    )))
}

/// `version`: needs nothing but the release's name and version.
pub fn version(vars: &crate::environment::vars::ReleaseVars) -> Plan {
    Plan {
        prepare: Vec::new(),
        action: Action::Print(format!("{} {}\n", vars.name, vars.vsn)),
    }
}

/// `--sname|--name NODE`, or nothing with `RELEASE_DISTRIBUTION=none` — or when the
/// release's own node is already named by its vm.args (`release_node`).
fn distribution_args(inputs: &Inputs, node: OsString, release_node: bool) -> Result<Vec<OsString>> {
    let dist = distribution(inputs)?;
    if release_node && inputs.dist_in_vm_args {
        return Ok(Vec::new());
    }
    Ok(match dist.flag() {
        Some(flag) => vec![flag.into(), node],
        None => Vec::new(),
    })
}

/// A node name with the script's `PREFIX-XXXX-` in front of `RELEASE_NODE`.
pub fn prefixed_node(prefix: &str, rand: &str, node: &OsString) -> OsString {
    let mut s = OsString::from(format!("{prefix}-{rand}-"));
    s.push(node);
    s
}

fn cookie_args(inputs: &Inputs) -> Result<Vec<OsString>> {
    if inputs.cookie_in_vm_args {
        return Ok(Vec::new());
    }
    let cookie = inputs
        .cookie
        .clone()
        .ok_or_else(|| Error::Config("no cookie was resolved for this command".into()))?;
    Ok(vec!["--cookie".into(), cookie.into()])
}

fn boot_args(inputs: &Inputs, boot_script: &OsString) -> Vec<OsString> {
    let v = &inputs.vars;
    vec![
        "--boot".into(),
        v.vsn_dir.join(boot_script).into(),
        "--boot-var".into(),
        "RELEASE_LIB".into(),
        v.root.join("lib").into(),
    ]
}

/// The script's `export_release_sys_config`: copy a reboot release's sys.config into
/// `RELEASE_TMP` as a fresh writable file, and export `RELEASE_SYS_CONFIG`.
fn sys_config(inputs: &Inputs, env: &mut EnvMap) -> (PathBuf, Vec<Prepare>) {
    let v = &inputs.vars;
    let default = v.default_sys_config();
    let mut prepare = Vec::new();
    let chosen = match &inputs.sys_config {
        Some(contents) if crate::config::sys_config::is_runtime_config(contents) => {
            let copy = v.tmp.join(format!(
                "{}-{}-{}-{}.runtime",
                v.name, v.vsn, inputs.timestamp, inputs.rand[0]
            ));
            prepare.push(Prepare::RuntimeConfig {
                path: crate::paths::with_suffix(&copy, ".config"),
                contents: contents.clone(),
            });
            copy
        }
        _ => default,
    };
    env.set("RELEASE_SYS_CONFIG", chosen.as_os_str());
    (chosen, prepare)
}

/// `-mode $RELEASE_MODE`, or the config-provider reboot flag of reboot releases. Mix bakes
/// the choice into the script at build time, so the kept script is read when it is there;
/// otherwise it is inferred (1.14 on OTP 24+ always used `-mode`).
fn mode_erl(inputs: &Inputs) -> OsString {
    let mode = inputs.vars.mode.to_string_lossy();
    let flag = match (
        &inputs.baked_mode_flag,
        inputs.reboot_release,
        inputs.generation,
    ) {
        (Some(flag), _, _) => flag.as_str(),
        (None, true, g) if g > ElixirGen::V1_14 => "-elixir config_provider_reboot_mode",
        _ => "-mode",
    };
    format!("{flag} {mode}").into()
}

/// The flag in front of `$RELEASE_MODE` in the script's `--erl "…"`.
pub fn baked_mode_flag(script: &str) -> Option<String> {
    script.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("--erl \"")?;
        let flag = rest.split("$RELEASE_MODE").next()?.trim_end();
        (!flag.is_empty() && rest.contains("$RELEASE_MODE")).then(|| flag.to_string())
    })
}

fn start(inputs: &Inputs, iex: bool, daemon: bool) -> Result<Plan> {
    let v = &inputs.vars;
    let mut env = v.env.clone();
    let (sys_config, mut prepare) = sys_config(inputs, &mut env);
    let inv = if iex {
        Invocation::iex()
    } else {
        Invocation::elixir()
    };
    let mut inv = inv
        .args(cookie_args(inputs)?)
        .args(distribution_args(inputs, v.node.clone(), true)?)
        .args(["--erl".into(), mode_erl(inputs)])
        .args(["--erl-config".into(), sys_config.into_os_string()])
        .args(boot_args(inputs, &v.boot_script))
        .args(["--vm-args".into(), v.vm_args.clone().into_os_string()]);
    if !iex {
        inv = inv.arg("--no-halt");
    }
    if daemon {
        inv = inv.args([
            "--pipe-to".into(),
            v.tmp.join("pipe").into_os_string(),
            v.tmp.join("log").into_os_string(),
        ]);
    }
    let (more, action) = vm::action(inputs, &inv, env);
    prepare.extend(more);
    let action = match action {
        Action::Exec(spec) => Action::Start(start_action(inputs, spec)?),
        Action::Daemon(mut d) => {
            d.boot = Some(boot_wait(inputs)?);
            Action::Daemon(d)
        }
        other => other,
    };
    Ok(Plan { prepare, action })
}

/// `start` execs, or supervises in init mode; with `NOTIFY_SOCKET`, it reports readiness.
fn start_action(inputs: &Inputs, spec: super::ExecSpec) -> Result<super::Start> {
    let sw = &inputs.switches;
    let why = if inputs.pid1 {
        Some("PID 1")
    } else if sw.init {
        Some("BEAMRC_INIT")
    } else {
        None
    };
    let notify = match inputs.vars.env.non_empty("NOTIFY_SOCKET") {
        Some(socket) => Some(super::Notify {
            socket: socket.to_os_string(),
            watch: super::remote::watch(inputs)?,
        }),
        None => None,
    };
    Ok(super::Start {
        spec,
        supervise: why.map(|why| super::Supervision {
            why,
            shutdown_timeout: sw.shutdown_timeout,
            stop_delay: sw.stop_delay,
        }),
        notify,
        user: sw.user.clone(),
    })
}

/// The daemon waits for boot natively, unless told not to or it cannot.
fn boot_wait(inputs: &Inputs) -> Result<super::BootWait> {
    let timeout = inputs.switches.start_timeout;
    if timeout.is_zero() {
        return Ok(super::BootWait::Skip("BEAMRC_START_TIMEOUT=0".into()));
    }
    Ok(match super::remote::watch(inputs)? {
        super::Watch::Native(link) => super::BootWait::Native { link, timeout },
        super::Watch::Blind(why) => super::BootWait::Skip(why),
    })
}

fn eval(inputs: &Inputs, expr: &OsString, args: &[OsString]) -> Result<Plan> {
    if expr.is_empty() {
        return Err(Error::message(1, EVAL_EXPECTS));
    }
    let v = &inputs.vars;
    let mut env = v.env.clone();
    let (sys_config, mut prepare) = sys_config(inputs, &mut env);
    let mut inv = Invocation::elixir()
        .args(cookie_args(inputs)?)
        .args(["--erl-config".into(), sys_config.into_os_string()])
        .args(boot_args(inputs, &v.boot_script_clean))
        .args(["--vm-args".into(), v.vm_args.clone().into_os_string()])
        .args(["--eval".into(), expr.clone()]);
    // 1.14 dropped the extra arguments; from 1.15 they become System.argv().
    if inputs.generation > ElixirGen::V1_14 {
        inv = inv.arg("--").args(args.iter().cloned());
    }
    let (more, action) = vm::action(inputs, &inv, env);
    prepare.extend(more);
    Ok(Plan { prepare, action })
}

fn remote(inputs: &Inputs) -> Result<Plan> {
    let tail = vec!["--remsh".into(), inputs.vars.node.clone()];
    hidden_vm(inputs, Invocation::iex(), "rem", tail)
}

/// A hidden VM of the release named `PREFIX-XXXX-$RELEASE_NODE`, booted from the clean
/// boot script with remote.vm.args, as `remote` and `rpc` do in the script.
fn hidden_vm(inputs: &Inputs, inv: Invocation, prefix: &str, tail: Vec<OsString>) -> Result<Plan> {
    let v = &inputs.vars;
    let node = prefixed_node(prefix, &inputs.rand[1], &v.node);
    let inv = inv
        .arg("--hidden")
        .args(cookie_args(inputs)?)
        .args(distribution_args(inputs, node, false)?)
        .args(boot_args(inputs, &v.boot_script_clean))
        .args([
            "--vm-args".into(),
            v.remote_vm_args.clone().into_os_string(),
        ])
        .args(tail);
    let (prepare, action) = vm::action(inputs, &inv, v.env.clone());
    Ok(Plan { prepare, action })
}

/// `to_erl` on the daemon's pipe (beamrc's `attach`).
fn attach(inputs: &Inputs) -> Plan {
    let program = match &inputs.erts_bin {
        Some(bin) => bin.join("to_erl"),
        None => PathBuf::from("to_erl"),
    };
    let mut pipe = inputs.vars.tmp.join("pipe").into_os_string();
    pipe.push("/");
    Plan {
        prepare: Vec::new(),
        action: Action::Exec(super::ExecSpec {
            argv: vec![program.clone().into_os_string(), pipe],
            program,
            env: inputs.vars.env.clone(),
        }),
    }
}

/// The script's way to run a remote expression: boot a hidden VM with `--rpc-eval`.
pub fn rpc_vm(inputs: &Inputs, expr: &OsString) -> Result<Plan> {
    if expr.is_empty() {
        return Err(Error::message(1, RPC_EXPECTS));
    }
    let tail = vec!["--rpc-eval".into(), inputs.vars.node.clone(), expr.clone()];
    hidden_vm(inputs, Invocation::elixir(), "rpc", tail)
}

/// Used by callers that only need to know whether distribution is on.
pub fn distribution(inputs: &Inputs) -> Result<Distribution> {
    // The error text changed in 1.18.0.
    inputs.vars.distribution(inputs.elixir_version < (1, 18, 0))
}

#[cfg(test)]
mod tests {
    use super::baked_mode_flag;

    #[test]
    fn reads_the_baked_mode_flag() {
        let s = "  exec x \\\n       --erl \"-mode $RELEASE_MODE\" \\\n";
        assert_eq!(baked_mode_flag(s).as_deref(), Some("-mode"));
        let s = "--erl \"-elixir config_provider_reboot_mode $RELEASE_MODE\" \\";
        assert_eq!(
            baked_mode_flag(s).as_deref(),
            Some("-elixir config_provider_reboot_mode")
        );
        assert_eq!(baked_mode_flag("--erl \"$ERL\""), None);
    }
}
