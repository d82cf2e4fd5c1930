//! The relx commands that start, stop or talk to the node, with relx's output and exit codes
//! and beamrc's bounded waits (`BEAMRC_START_TIMEOUT`, `BEAMRC_STOP_TIMEOUT`).

use super::command::RelxCommand;
use super::remote::{Gone, Remote};
use super::run::{State, ping_or_exit, writable};
use super::{argv, tools};
use crate::{Error, Result};

/// `daemon` / `daemon_boot FILE`: refuse a second VM of a running node, prepare the pipe
/// and log directories, pre_start hooks, run_erl, wait for boot (bounded; the log tail says
/// why it failed), post_start hooks.
pub(super) fn daemon(st: &State, boot: bool) -> Result<i32> {
    let remote = st.remote()?;
    if let Some(r) = &remote
        && let Ok(pid) = r.os_pid()
    {
        return Err(Error::message(
            1,
            format!(
                "ERROR: {} is already running (OS pid {pid}); stop it first, or give this instance another node name",
                st.node
            ),
        ));
    }
    let (daemon, defaulted) = argv::daemon(&st.ctx(), boot, &st.inv.args);
    if defaulted {
        create_dir_mode(std::path::Path::new("/tmp/erl_pipes/"), 0o1777)?;
    }
    let _ = std::fs::create_dir_all(&daemon.pipe_dir);
    if !writable(&daemon.pipe_dir) {
        println!(
            "failed to start, user '{}' does not have write privileges on '{}', either delete it or run node as a different user",
            st.vars.env.get_str("USER").unwrap_or(""),
            daemon.pipe_dir.display()
        );
        return Ok(1);
    }
    std::fs::create_dir_all(&daemon.log_dir)
        .map_err(|e| Error::io(format!("cannot create {}", daemon.log_dir.display()), e))?;
    st.hooks(&st.launch.script.hooks.pre_start)?;
    let status = crate::process::watch::run(&daemon.run_erl)?;
    if !status.success() {
        return Ok(crate::process::exit_code(status));
    }
    let wait = st.switches.start_timeout;
    if !wait.is_zero() {
        match &remote {
            Some(r) => {
                let code = crate::app::daemon::wait_booted(&r.cfg, &daemon, wait)
                    .map_err(|e| super::check::explain_daemon(st, &daemon.log_dir, e))?;
                if code != 0 {
                    return Ok(code);
                }
            }
            None => crate::debug!("relx: not waiting for boot (no native connection)"),
        }
    }
    st.hooks(&st.launch.script.hooks.post_start)?;
    Ok(0)
}

fn create_dir_mode(dir: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))
}

/// Commands that talk to a running node natively.
pub(super) fn remote_command(st: &State, command: &RelxCommand, r: &Remote) -> Result<i32> {
    use RelxCommand as C;
    let hooks = &st.launch.script.hooks;
    match command {
        C::Ping => {
            ping_or_exit(r)?;
            println!("pong");
            Ok(0)
        }
        C::Pid => match r.os_pid() {
            Ok(pid) => {
                println!("{pid}");
                Ok(0)
            }
            Err(e) => {
                crate::debug!("relx pid: {e}");
                println!();
                Ok(1)
            }
        },
        C::Ready | C::Wait => probe(st, r, command == &C::Wait),
        C::Stop => stop(st, r),
        C::Restart => restart(st, r),
        C::Reboot => Ok(if r.init("reboot") { 0 } else { 1 }),
        C::Rpc => {
            ping_or_exit(r)?;
            r.rpc(&st.inv.args)
        }
        C::Eval => {
            ping_or_exit(r)?;
            r.eval(&st.inv.args)
        }
        C::Status => {
            ping_or_exit(r)?;
            Ok(st.status_hook()?.unwrap_or(0))
        }
        C::Remote => {
            ping_or_exit(r)?;
            let cookie = st.cookie.as_deref().unwrap_or_default();
            let id = st.helper_id();
            let spec = tools::remsh(&st.ctx(), cookie, &r.ticktime(), &id);
            Err(crate::process::exec::exec(&spec))
        }
        C::Versions => {
            ping_or_exit(r)?;
            native_upgrade(st, r, "versions")
        }
        C::Upgrade(cmd) => {
            if st.inv.args.first().is_none_or(|a| a.is_empty()) {
                println!("Missing version argument");
                println!("Usage: {} {cmd} {{version}}", st.vars.rel_name);
                return Ok(1);
            }
            let req = upgrade_request(st, r, cmd)?;
            // `install VSN --check`, `check --upgrade VSN`: the checks alone, no hooks, and
            // the kept script stays (nothing was installed)
            if let Some(q) = &req
                && matches!(q.op, crate::upgrade::Op::Check { .. })
            {
                return crate::upgrade::run(q, &mut std::io::stdout());
            }
            ping_or_exit(r)?;
            st.hooks(&hooks.pre_install_upgrade)?;
            let code = run_request(st, cmd, req.as_ref())?;
            if code == 0 {
                keep_new_script(st, cmd)?;
                // relx execs the escript, so its post_install_upgrade hooks never run; here
                // they do.
                st.hooks(&hooks.post_install_upgrade)?;
            }
            Ok(code)
        }
        _ => st.script_route(),
    }
}

/// The upgrade family through release_handler on the node, natively (issue 12), with
/// install_upgrade.escript's messages and exit codes.
fn native_upgrade(st: &State, r: &Remote, cmd: &str) -> Result<i32> {
    run_request(st, cmd, upgrade_request(st, r, cmd)?.as_ref())
}

/// The native request, or install_upgrade.escript with the arguments as they are.
fn run_request(st: &State, cmd: &str, req: Option<&crate::upgrade::Request>) -> Result<i32> {
    match req {
        Some(req) => crate::upgrade::run(req, &mut std::io::stdout()),
        None => escript(st, cmd, &st.inv.args),
    }
}

/// The native request for `cmd ARGS` (the dry run shows its steps); `None` when the
/// arguments are not the upgrade family's (the escript then gets them as they are).
pub(super) fn upgrade_request(
    st: &State,
    r: &Remote,
    cmd: &str,
) -> Result<Option<crate::upgrade::Request>> {
    let mut words = vec![std::ffi::OsString::from(cmd)];
    words.extend(st.inv.args.iter().cloned());
    use crate::plan::command::Command;
    let (op, vsn) = match Command::parse(&words) {
        Command::Upgrade { op, vsn, .. } => {
            if op != crate::upgrade::Op::Versions {
                crate::upgrade::package::check_version(&vsn)
                    .map_err(|e| Error::message(1, format!("ERROR: {e}")))?;
            }
            (op, vsn)
        }
        Command::CheckUpgrade { args } => {
            let (vsn, json) = crate::plan::upgrade::check_args(&args, &st.vars.env)
                .map_err(|e| Error::message(1, e))?;
            crate::plan::upgrade::version_of(&st.vars.rel_name, "check --upgrade", &vsn)?;
            (crate::upgrade::Op::Check { json }, vsn)
        }
        _ => return Ok(None),
    };
    Ok(Some(crate::upgrade::Request {
        op,
        vsn,
        root: st.vars.root.clone(),
        name: st.vars.rel_name.clone(),
        kind: crate::upgrade::Kind::Relx,
        target: crate::upgrade::Target::of(&r.cfg),
        timeout: st.switches.upgrade_timeout,
        tmp: st.vars.root.join("tmp"),
    }))
}

/// beamrc's `ready` / `wait` probes, the same command as for Mix (`probe::command`) without
/// a hidden-VM route; `wait` bounded by `--timeout S` or `BEAMRC_START_TIMEOUT`.
fn probe(st: &State, r: &Remote, wait: bool) -> Result<i32> {
    let word = if wait { "wait" } else { "ready" };
    let parsed = crate::probe::ready::parse_args(word, &st.inv.args, wait)?;
    let timeout = wait
        .then(|| crate::plan::remote::wait_timeout(&parsed, st.switches.start_timeout))
        .transpose()?;
    let mut out = std::io::stdout().lock();
    match crate::probe::command(&r.cfg, &parsed.check, timeout, None, &mut out)? {
        crate::probe::Outcome::Exit(code) => Ok(code),
        crate::probe::Outcome::FallBack(e) => Err(Error::message(4, e.to_string())),
    }
}

/// `install_upgrade.escript CMD …` as a child (its output and exit code are passed on).
fn escript(st: &State, cmd: &str, args: &[std::ffi::OsString]) -> Result<i32> {
    let cookie = st.cookie.as_deref().unwrap_or_default();
    let spec = tools::install_upgrade(&st.ctx(), cmd, cookie, args);
    let status = crate::process::exec::command(&spec)
        .and_then(|mut c| c.status())
        .map_err(|e| crate::process::exec::exec_error(&spec, e))?;
    Ok(crate::process::exit_code(status))
}

/// pre_stop hooks; `init:stop()`; wait (bounded) until the OS process and the node are
/// gone; post_stop hooks. Not running: exit 1, silently (after pre_stop, as relx).
fn stop(st: &State, r: &Remote) -> Result<i32> {
    let hooks = &st.launch.script.hooks;
    st.hooks(&hooks.pre_stop)?;
    let wait = st.switches.stop_timeout;
    match r.stop(wait) {
        None => return Ok(1),
        Some(Gone::Late) => {
            return Err(Error::Lifecycle(format!(
                "{} is still running {}s after init:stop() (BEAMRC_STOP_TIMEOUT)",
                st.node,
                wait.as_secs_f64()
            )));
        }
        Some(Gone::Yes) => {}
    }
    st.hooks(&hooks.post_stop)?;
    Ok(0)
}

/// `init:restart()`, then wait (bounded) until the applications are back, so a `stop`
/// right after it is not lost while init restarts.
fn restart(st: &State, r: &Remote) -> Result<i32> {
    let wait = st.switches.start_timeout;
    match r.restart(wait) {
        None => Ok(1),
        Some(Gone::Yes) => Ok(0),
        Some(Gone::Late) => Err(Error::Lifecycle(format!(
            "{} did not come back within {}s after init:restart() (BEAMRC_START_TIMEOUT)",
            st.node,
            wait.as_secs_f64()
        ))),
    }
}

/// The escript's "permafy" copies `bin/NAME-VSN` over `bin/NAME`: that is beamrc, busy
/// while it waits for the escript (ETXTBSY), so the copy fails and beamrc stays. What the
/// copy means — the new version's script becomes the release's — is done to the kept
/// `bin/NAME.sh` instead (temp + rename), so the next command reads the new `REL_VSN`.
fn keep_new_script(st: &State, cmd: &str) -> Result<()> {
    let permanent = !st.inv.args.iter().any(|a| a == "--no-permanent");
    if !matches!(cmd, "install" | "upgrade" | "downgrade") || !permanent {
        return Ok(());
    }
    let Some(vsn) = st
        .inv
        .args
        .first()
        .map(|v| v.to_string_lossy().into_owned())
    else {
        return Ok(());
    };
    let bin = st.vars.root.join("bin");
    let new = bin.join(format!("{}-{vsn}", st.vars.rel_name));
    let Ok(text) = std::fs::read_to_string(&new) else {
        return Ok(());
    };
    if super::script::RelxScript::parse(&text).is_none() {
        return Ok(());
    }
    let kept = st.launch.kept;
    if std::fs::read(kept).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    crate::config::render::write_fresh(kept, text.as_bytes(), 0o755)
}
