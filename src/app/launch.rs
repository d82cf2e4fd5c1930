//! `bin/NAME …`: find the release, compute the variables (running env.sh only when it has
//! commands), plan the command, then act — or print the plan on a dry run.
use super::execute;
use super::gather::{self, Host};
use crate::environment::EnvMap;
use crate::environment::env_sh::{self, Outcome};
use crate::environment::vars::{self, ReleaseVars};
use crate::plan::command::Command;
use crate::plan::switches::Switches;
use crate::plan::{Inputs, commands, dry_run, elixir_cli, escape};
use crate::release::{ElixirScript, Release, layout::version_tuple, locate};
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn main(argv0: &OsStr, args: &[OsString]) -> Result<i32> {
    run(&gather::OsHost::default(), argv0, args)
}

/// The release face for an executable path given by the caller instead of read from
/// `/proc/self/exe` (a packed release runs its extracted `bin/NAME` in-process).
pub(crate) fn main_at(exe: &Path, argv0: &OsStr, args: &[OsString]) -> Result<i32> {
    let host = gather::OsHost {
        exe: Some(exe.to_path_buf()),
    };
    run(&host, argv0, args)
}

/// One launch of `bin/NAME ARGS…` against a process handle.
pub(crate) fn run(host: &dyn Host, argv0: &OsStr, args: &[OsString]) -> Result<i32> {
    let os_env = host.env();
    let command = Command::parse(args);
    let release = {
        let _span = tracing::debug_span!("locate").entered();
        let exe = host
            .current_exe(argv0, os_env.get("PATH"))
            .ok_or_else(|| Error::Release("cannot find the path of this executable".into()))?;
        let root = locate::locate_root(&exe).ok_or_else(|| {
            Error::Release(format!("{} is not inside a release's bin/", exe.display()))
        })?;
        let fallback_name = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracing::debug!(root = %root.display(), "release located");
        (Release::open(root, &fallback_name), exe)
    };
    let (release, exe) = release;
    if let Some(result) = crate::relx::run::try_main(host, &release, argv0, args, &exe, &os_env) {
        return result;
    }

    let word = args.first().cloned().unwrap_or_default();
    // The caller's environment, with the env files' variables under it.
    let caller = {
        let _span = tracing::debug_span!("env_files").entered();
        with_env_files(&release, &os_env)?
    };
    let prelude = vars::prelude(&release, &caller, argv0, &word)?;
    let vsn_dir = vars::vsn_dir(&release, &prelude);
    let (env, sourced) = {
        let _span = tracing::debug_span!("env_sh").entered();
        source_env_sh(&vsn_dir, &exe, prelude, argv0, args)?
    };
    let vars = vars::finish(env, &vsn_dir);
    // `check --upgrade VSN` (issue 12) asks the node: it is planned as an upgrade command.
    if word == "check" && !args.iter().any(|a| a == "--upgrade") {
        // issue 11: the preflight (no VM); after env.sh, so its settings count.
        let substitute = super::configure::substitution_requested(&vars);
        let args = args.get(1..).unwrap_or_default();
        return crate::check::command::release_face(&vars, substitute, host.hostname(), args);
    }

    if let Command::Unknown(word) = &command
        && let Some(code) = crate::relx::mix_hooks::custom_command(&vars, word, &args[1..])?
    {
        return Ok(code);
    }
    if let Command::Help | Command::Unknown(_) = &command {
        return Err(Error::Usage {
            prog: locate::prog_name(argv0),
            unknown: match command {
                Command::Unknown(word) => Some(word),
                _ => None,
            },
        });
    }
    // beamrc's switches, once, from the environment the VM would get; nothing has been
    // sent or written yet.
    let switches = Switches::read(&vars.env)?;
    crate::log::init_late(switches.log.as_deref());
    tracing::debug!(?command, ?switches, "switches read");
    let dry_run = switches.dry_run;
    let hooks = crate::relx::mix_hooks::MixHooks::for_command(&vars, &command, !dry_run);

    // `version` needs nothing beyond the variables: no ERTS, config or cookie discovery.
    let mut guard = None;
    let (plan, cookie) = if command == Command::Version {
        (commands::version(&vars), None)
    } else {
        let preflight = switches.preflight;
        let inputs = gather_inputs(host, &release, vars, &command, switches)?;
        let plan = {
            let _span = tracing::debug_span!("plan").entered();
            commands::plan(&command, &inputs)?
        };
        // issue 11: the start preflight, and readable errors when the boot fails.
        let substitute = super::configure::substitution_requested(&inputs.vars);
        guard = crate::check::boot::BootGuard::for_action(
            &plan.action,
            &inputs.vars,
            substitute,
            host.hostname(),
            preflight,
        );
        if command == Command::Attach && !dry_run {
            eprintln!(
                "Attaching to {} through {}/pipe: press Ctrl+D to detach (Ctrl+C would stop the node).",
                inputs.vars.node.to_string_lossy(),
                inputs.vars.tmp.display()
            );
        }
        (plan, inputs.cookie)
    };
    if dry_run {
        let mut text = String::new();
        if let Some(path) = &sourced {
            // Not a side effect beamrc can hold back: what env.sh sets is part of the plan.
            text.push_str(&format!(
                "note: {} was run (a dry run sources it, as the real run does)\n",
                path.display()
            ));
        }
        text.push_str(&dry_run::render(&plan, &os_env, cookie.as_deref()));
        let _ = host.out().write_all(text.as_bytes());
        return Ok(0);
    }
    hooks.before()?;
    hooks.after(match guard {
        Some(g) if !dry_run => {
            g.before()?;
            g.after(execute::run(host, plan))
        }
        _ => execute::run(host, plan),
    })
}

/// `releases/VSN/release.env` and `RELEASE_ENV_FILE`, under the caller's own variables.
fn with_env_files(release: &Release, caller: &EnvMap) -> Result<EnvMap> {
    let vsn = match caller.non_empty_str("RELEASE_VSN") {
        Some(v) => v.to_string(),
        None => match release.start_erl_data() {
            Ok(d) => d.rel_vsn,
            Err(_) => return Ok(caller.clone()),
        },
    };
    let release_env = release.vsn_dir(&vsn).join("release.env");
    if !release_env.exists() && caller.non_empty("RELEASE_ENV_FILE").is_none() {
        return Ok(caller.clone());
    }
    crate::environment::dotenv::load_env_files(caller, &release_env)
}

/// The environment after env.sh, and env.sh's path when a shell ran it; env.sh ending the
/// launch itself becomes `Error::ScriptStatus`.
fn source_env_sh(
    vsn_dir: &Path,
    exe: &Path,
    prelude: EnvMap,
    argv0: &OsStr,
    args: &[OsString],
) -> Result<(EnvMap, Option<PathBuf>)> {
    let path = vsn_dir.join("env.sh");
    let text = std::fs::read(&path)
        .map_err(|e| Error::Release(format!("cannot read {}: {e}", path.display())))?;
    if env_sh::is_inert(&text) {
        return Ok((prelude, None));
    }
    match env_sh::source(&path, exe, &prelude, argv0, args)? {
        Outcome::Sourced(s) => Ok((s.effective(), Some(path))),
        Outcome::Exited(code) => Err(Error::ScriptStatus(code)),
    }
}

fn gather_inputs(
    host: &dyn Host,
    release: &Release,
    mut vars: ReleaseVars,
    command: &Command,
    switches: Switches,
) -> Result<Inputs> {
    let script = ElixirScript::read(&vars.vsn_dir.join("elixir"));
    let version = script.version.clone().unwrap_or_default();
    let erts_bin = release.erts_bin(&vars.vsn_dir, &script);
    let bindir = erts_bin
        .as_ref()
        .and_then(|b| std::fs::canonicalize(b).ok());
    let configured = {
        let _span = tracing::debug_span!("render").entered();
        super::configure::configure(&mut vars, &release.root, command, switches.subst_unset)?
    };
    let starts_vm = command.starts_vm();
    let read_config = |p: PathBuf| -> Option<Vec<u8>> { std::fs::read(p).ok() };
    let baked_mode_flag = if starts_vm {
        std::fs::read_to_string(
            release
                .root
                .join("bin")
                .join(format!("{}.sh", release.name)),
        )
        .ok()
        .and_then(|s| commands::baked_mode_flag(&s))
    } else {
        None
    };
    let (sys_config, reboot_release) = if starts_vm {
        // The release's own sys.config says whether it reboots; the one RELEASE_SYS_CONFIG
        // names (usually the same file, then read once) is what gets copied.
        let own_path = vars.vsn_dir.join("sys.config");
        let own = read_config(own_path.clone());
        let reboot = own
            .as_deref()
            .is_some_and(crate::config::sys_config::is_runtime_config);
        let chosen = crate::paths::with_suffix(&vars.default_sys_config(), ".config");
        let contents = match configured.sys_config.clone() {
            Some(rendered) => Some(rendered),
            None if chosen == own_path => own,
            None => read_config(chosen),
        };
        (contents, reboot)
    } else {
        (None, false)
    };
    // The route to a running node reads remote.vm.args: the rendered one, or the file.
    let remote_vm_args_words = match &configured.remote_flags {
        Some(flags) => flags.clone(),
        // Only commands that may talk to the node: remote operations, daemon, start.
        None if !command.needs_cookie()
            || matches!(command, Command::Eval { .. } | Command::Remote) =>
        {
            Vec::new()
        }
        None => std::fs::read_to_string(&vars.remote_vm_args)
            .map(|text| crate::plan::remote::words_of_args_file(&text))
            .unwrap_or_default(),
    };
    let env = &vars.env;
    let cli = elixir_cli::Context {
        elixir_erl_options: env.non_empty("ELIXIR_ERL_OPTIONS").map(OsStr::to_os_string),
        ansi_tty: env.non_empty("NO_COLOR").is_none()
            && env.get_str("OS") != Some("Windows_NT")
            && host.isatty(1)
            && host.isatty(2),
    };
    let locale = escape::Locale::from_env(
        env.get_str("LC_ALL"),
        env.get_str("LC_CTYPE"),
        env.get_str("LANG"),
    );
    Ok(Inputs {
        generation: script.generation(),
        elixir_version: version_tuple(&version),
        cookie: configured.cookie.as_ref().map(|c| c.value.clone()),
        cookie_in_vm_args: configured.cookie_in_vm_args(),
        dist_in_vm_args: configured.dist_in_vm_args,
        rendered: configured
            .files
            .into_iter()
            .map(|f| crate::plan::Prepare::WriteFile {
                path: f.target,
                contents: f.contents,
                mode: 0o600,
            })
            .collect(),
        erts_bin,
        bindir,
        cli,
        locale,
        rand: host.random_words(),
        // Only a reboot release's runtime sys.config copy is named after the clock (reading
        // local time reads the time-zone file).
        timestamp: if sys_config
            .as_deref()
            .is_some_and(crate::config::sys_config::is_runtime_config)
        {
            host.timestamp()
        } else {
            String::new()
        },
        reboot_release,
        baked_mode_flag,
        sys_config,
        switches,
        hostname: host.hostname(),
        pid1: host.pid1(),
        remote_vm_args_words,
        vars,
    })
}
