//! `bin/NAME …` of a relx release: compute what relx's script computes (natively), then
//! act — exec the VM, start the daemon, talk to the node, run hooks — or hand the command to
//! the kept script where beamrc cannot go (custom `-proto_dist`, `ERL_DIST_PORT`).
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::argv::Ctx;
use super::command::{Invocation, RelxCommand};
use super::files::{self, Kind, Resolved, Rules};
use super::node::{self, NodeFacts};
use super::remote::Remote;
use super::script::RelxScript;
use super::tools;
use super::vars::{self, RelxVars};
use crate::app::gather::Host;
use crate::config::subst;
use crate::dist::ClientConfig;
use crate::environment::EnvMap;
use crate::plan::ExecSpec;
use crate::plan::switches::Switches;
use crate::release::Release;
use crate::{Error, Result};

/// What the dispatcher knows when a relx release is opened.
pub struct Launch<'a> {
    pub argv0: &'a OsStr,
    pub args: &'a [OsString],
    /// The physical path of `bin/NAME` (relx's `SCRIPT`).
    pub exe: &'a Path,
    pub root: &'a Path,
    /// `bin/NAME.sh`, relx's script.
    pub kept: &'a Path,
    pub script: &'a RelxScript,
    pub os_env: &'a EnvMap,
}

/// Everything computed before dispatch (§1.2 steps 1–14).
pub(super) struct State<'a> {
    pub(super) launch: &'a Launch<'a>,
    pub(super) inv: Invocation,
    pub(super) vars: RelxVars,
    pub(super) facts: NodeFacts,
    pub(super) node: String,
    pub(super) vm: Resolved,
    pub(super) sys: Resolved,
    /// Where vm.args' and sys.config's texts come from (for `check`).
    pub(super) sources: [files::Source; 2],
    /// The machine's host name (`gethostname`).
    pub(super) hostname: String,
    pub(super) cookie: Option<String>,
    /// beamrc's own switches (`BEAMRC_*`), read once.
    pub(super) switches: Switches,
    /// Random id for helper node names (`NODETOOL_NODE_PREFIX` replaces it).
    pub(super) id: String,
}

/// The release-kind switch: `Some` (the command's result) when `release` is a relx release
/// (no `releases/VSN/elixir`, relx's extended script kept as `bin/NAME.sh`), `None` for Mix.
pub(crate) fn try_main(
    host: &dyn Host,
    release: &Release,
    argv0: &OsStr,
    args: &[OsString],
    exe: &Path,
    os_env: &EnvMap,
) -> Option<Result<i32>> {
    let vsn = release.start_erl_data().ok()?.rel_vsn;
    if release.vsn_dir(&vsn).join("elixir").exists() {
        return None;
    }
    let kept = super::kind::own_script(&release.root, &release.name);
    let text = std::fs::read_to_string(&kept).ok()?;
    let script = RelxScript::parse(&text)?;
    if script.flavour != super::script::Flavour::Extended {
        return None;
    }
    let physical = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    // A shell running a script found through PATH sees `$0` as the path it found.
    let argv0 = if argv0.as_encoded_bytes().contains(&b'/') {
        argv0
    } else {
        exe.as_os_str()
    };
    let launch = Launch {
        argv0,
        args,
        exe: &physical,
        root: &release.root,
        kept: &kept,
        script: &script,
        os_env,
    };
    Some(main(host, &launch))
}

pub(crate) fn main(host: &dyn Host, launch: &Launch) -> Result<i32> {
    let script = launch.script;
    let inv = Invocation::parse(launch.args, script);
    let erts = vars::find_erts(launch.root, &script.erts_vsn, launch.os_env.get("PATH"))
        .map_err(on_stdout)?;
    let vars = vars::compute(launch.os_env, script, launch.root, launch.exe, erts)?;
    if let Some(w) = &vars.warning {
        eprintln!("{w}");
    }
    let env = launch.os_env;
    let rules = Rules {
        root: vars.root.clone(),
        rel_dir: vars.rel_dir.clone(),
        replace_os_vars: env.non_empty("RELX_REPLACE_OS_VARS").is_some(),
        out_dir: env
            .non_empty("RELX_OUT_FILE_PATH")
            .map(PathBuf::from)
            .filter(|p| p.is_dir()),
        multi_node: env.non_empty("RELX_MULTI_NODE").is_some(),
    };
    let switches = Switches::read(&vars.env)?;
    crate::log::init_late(switches.log.as_deref());
    use super::command::RelxCommand as C;
    let remote = matches!(
        inv.command,
        C::Ping | C::Pid | C::Status | C::Ready | C::Wait | C::Rpc | C::Eval
    );
    if remote && switches.fleet.is_some() {
        // Not ignored: one node's answer must not pass for the fleet's.
        return Err(Error::Config(
            "fleet mode (BEAMRC_FLEET_NODES) is for Mix releases; for a relx release run the \
             command per node"
                .into(),
        ));
    }
    let policy = switches.subst_unset;
    let lookup_env = vars.env.clone();
    let lookup = subst::env_lookup(&lookup_env);
    let vm_src = files::source(
        Kind::VmArgs,
        env.non_empty("VMARGS_PATH").map(Path::new),
        &rules,
    );
    let vm_text = files::text(&vm_src, &lookup, policy)?;
    let facts = node::facts(&vm_src.input, &vm_text, &vars.root, &lookup).map_err(on_stdout)?;
    let words = host.random_words();
    let id = format!("{}{}", words[0], words[1]);
    let hostname = host.hostname();
    let node = match node::full_name(&facts, &hostname) {
        Some(n) => n,
        // check boots no VM: it reports the hostless long name itself
        None if inv.command == RelxCommand::Check => facts.name.clone(),
        None => probe_host(&vars, &facts, &id, &words[1])?,
    };
    let sys_src = files::source(
        Kind::SysConfig,
        env.non_empty("RELX_CONFIG_PATH").map(Path::new),
        &rules,
    );
    let sys_text = files::text(&sys_src, &lookup, policy)?;
    let vm = files::resolve(&vm_src, vm_text, &rules, &node);
    let sys = files::resolve(&sys_src, sys_text, &rules, &node);
    let sources = [vm_src, sys_src];
    let cookie = cookie(env, &facts)?;
    // Commands that talk to the node go through the kept script without a cookie, and it
    // says this itself.
    let talks = !matches!(
        inv.command,
        RelxCommand::Console(_)
            | RelxCommand::Daemon { .. }
            | RelxCommand::Escript
            | RelxCommand::Help
            | RelxCommand::Usage
            | RelxCommand::Extension(_)
            | RelxCommand::Check
    );
    if cookie.is_none() && !talks {
        println!(
            "No cookie is set or found. This limits the scripts functionality, installing, upgrading, rpc and getting a list of versions will not work."
        );
    }
    let state = State {
        launch,
        inv,
        vars,
        facts,
        node,
        vm,
        sys,
        sources,
        hostname,
        cookie,
        switches,
        id,
    };
    if state.switches.dry_run {
        return super::dry::run(&state);
    }
    if state.inv.command.writes_config() {
        write_if_changed(&state.vm)?;
        write_if_changed(&state.sys)?;
    }
    std::env::set_current_dir(&state.vars.root)
        .map_err(|e| Error::io(format!("cannot enter {}", state.vars.root.display()), e))?;
    super::dispatch::dispatch(&state)
}

/// `RELX_COOKIE` → `-setcookie` in vm.args → `~/.erlang.cookie`.
fn cookie(env: &EnvMap, facts: &NodeFacts) -> Result<Option<String>> {
    if let Some(c) = env.non_empty_str("RELX_COOKIE") {
        return Ok(Some(c.to_string()));
    }
    if let Some(c) = &facts.cookie {
        return Ok(Some(c.clone()));
    }
    let Some(home) = env.non_empty("HOME") else {
        return Ok(None);
    };
    let path = Path::new(home).join(".erlang.cookie");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim_end_matches('\n').to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// Generated files are written only when their content changes (temp + rename).
fn write_if_changed(file: &Resolved) -> Result<()> {
    if !file.write || std::fs::read(&file.path).is_ok_and(|c| c == file.text.as_bytes()) {
        return Ok(());
    }
    tracing::debug!("writing {}", file.path.display());
    crate::config::render::write_fresh(&file.path, file.text.as_bytes(), 0o600)
}

/// The host part of a `-name` without host when the host name has no domain: ask a
/// throw-away VM, as relx does (the only case that still boots one).
fn probe_host(vars: &RelxVars, facts: &NodeFacts, id: &str, dummy: &str) -> Result<String> {
    let spec = tools::hostname_probe(vars, facts, id, dummy);
    let out = crate::process::exec::command(&spec)
        .and_then(|mut c| c.stderr(std::process::Stdio::null()).output())
        .map_err(|e| crate::process::exec::exec_error(&spec, e))?;
    let host = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(format!("{}@{host}", facts.name))
}

impl State<'_> {
    /// `relx_gen_id`: `NODETOOL_NODE_PREFIX`, else the random id.
    pub(super) fn helper_id(&self) -> String {
        self.vars
            .node_prefix
            .clone()
            .unwrap_or_else(|| self.id.clone())
    }

    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            vars: &self.vars,
            facts: &self.facts,
            node: &self.node,
            vm_args: &self.vm.path,
            sys_config: &self.sys.path,
            argv0: self.launch.argv0,
        }
    }

    pub(super) fn word(&self) -> &str {
        &self.inv.word
    }

    /// The native client, unless the node is reached in a way only the script knows.
    pub(super) fn remote(&self) -> Result<Option<Remote>> {
        let dist_port = match &self.vars.dist_port {
            None => Ok(None),
            Some(p) => p.trim().parse::<u16>().map(Some),
        };
        let address = self
            .facts
            .use_interface
            .as_deref()
            .and_then(node::interface_ip);
        let reason = if self.facts.custom_proto() {
            Some("-proto_dist in vm.args")
        } else if dist_port.is_err() {
            Some("ERL_DIST_PORT is not a port number")
        } else if self.facts.use_interface.is_some() && address.is_none() {
            Some("inet_dist_use_interface is not an address tuple")
        } else if !self.switches.native {
            Some("BEAMRC_NATIVE=0")
        } else if self.cookie.is_none() {
            Some("no cookie")
        } else {
            None
        };
        if let Some(why) = reason {
            tracing::debug!("relx: the script's own route: {why}");
            return Ok(None);
        }
        let id = self.helper_id();
        let call_timeout = match self.vars.rpc_timeout.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
            Ok(_) => None,
            Err(_) => {
                return Err(Error::message(
                    2,
                    format!(
                        "ERROR: RELX_RPC_TIMEOUT must be a number of seconds, not {:?}",
                        self.vars.rpc_timeout
                    ),
                ));
            }
        };
        let cfg = ClientConfig {
            target: self.node.clone(),
            own_name: format!("maint{id}-{}", self.node),
            cookie: self.cookie.clone().unwrap_or_default(),
            epmd_port: self.switches.epmd_port,
            // ERL_DIST_PORT: the node listens there without EPMD (relx's erl_call -address)
            dist_port: dist_port.ok().flatten(),
            family: crate::dist::Family::Inet,
            address,
            // as erl_call -R: the node names us from its pool (no atom growth); with
            // NODETOOL_NODE_PREFIX the user asked for fixed names, as nodetool's
            dynamic_name: self.vars.erts_at_least(11, 0) && self.vars.node_prefix.is_none(),
            connect_timeout: self.switches.connect_timeout,
            call_timeout,
        };
        Ok(Some(Remote {
            cfg,
            nodetool: self.vars.use_nodetool,
        }))
    }

    /// Hands the whole command to the kept script (exec; returns only on failure).
    pub(super) fn script_route(&self) -> Result<i32> {
        let l = self.launch;
        let mut argv = vec![l.kept.as_os_str().to_os_string()];
        argv.extend(l.args.iter().cloned());
        let spec = ExecSpec {
            program: l.kept.to_path_buf(),
            argv,
            env: l.os_env.clone(),
        };
        Err(crate::process::exec::exec(&spec))
    }
}

/// relx's `ping_or_exit` (its message goes to stdout).
pub(super) fn ping_or_exit(remote: &Remote) -> Result<()> {
    if remote.is_alive() {
        Ok(())
    } else {
        Err(on_stdout(Error::message(1, "Node is not running!")))
    }
}

/// relx `echo`es its own failures: a message error is printed on stdout here and becomes a
/// silent exit with its code.
fn on_stdout(err: Error) -> Error {
    match err {
        Error::Message { code, text } => {
            println!("{text}");
            Error::Exit(code)
        }
        other => other,
    }
}

/// `[ -w DIR ]`.
pub(super) fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access(2) with a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}
