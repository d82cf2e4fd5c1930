//! `bin/NAME …`: find the release, compute the variables (running env.sh only when it has
//! commands), plan the command, then act — or print the plan on a dry run.
use super::{act, gather};
use crate::environment::EnvMap;
use crate::environment::env_sh::{self, Outcome};
use crate::environment::vars::{self, ReleaseVars};
use crate::plan::command::Command;
use crate::plan::{Inputs, commands, dry_run, elixir_cli, escape};
use crate::release::{ElixirScript, Release, layout::version_tuple, locate};
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

pub fn main(argv0: &OsStr, args: &[OsString]) -> Result<i32> {
    let exe = locate::current_exe(argv0, std::env::var_os("PATH").as_deref())
        .ok_or_else(|| Error::Release("cannot find the path of this executable".into()))?;
    main_at(&exe, argv0, args)
}

/// The release face for the executable at `exe` (a packed release runs as its extracted
/// `bin/NAME` without exec-ing it).
pub fn main_at(exe: &Path, argv0: &OsStr, args: &[OsString]) -> Result<i32> {
    let os_env = EnvMap::from_os();
    let command = Command::parse(args);
    let exe = exe.to_path_buf();
    let root = locate::locate_root(&exe).ok_or_else(|| {
        Error::Release(format!("{} is not inside a release's bin/", exe.display()))
    })?;
    let fallback_name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let release = Release::open(root, &fallback_name);

    let word = args.first().cloned().unwrap_or_default();
    // The caller's environment, with the env files' variables under it.
    let caller = with_env_files(&release, &os_env)?;
    let prelude = vars::prelude(&release, &caller, argv0, &word)?;
    let vsn_dir = vars::vsn_dir(&release, &prelude);
    let env = source_env_sh(&vsn_dir, &exe, prelude, argv0, args)?;
    let vars = vars::finish(env, &vsn_dir);

    match &command {
        Command::Help => {
            return Err(Error::Usage {
                prog: locate::prog_name(argv0),
                unknown: None,
            });
        }
        Command::Unknown(word) => {
            return Err(Error::Usage {
                prog: locate::prog_name(argv0),
                unknown: Some(word.clone()),
            });
        }
        _ => {}
    }

    let inputs = gather_inputs(&release, vars, &command)?;
    let dry_run = dry_run_requested(&caller);
    if is_remote(&command) {
        return super::remote::run(&command, &inputs, &os_env, dry_run);
    }
    let mut plan = commands::plan(&command, &inputs)?;
    plan.prepare.splice(0..0, inputs.rendered.iter().cloned());
    if dry_run {
        print!(
            "{}",
            dry_run::render(&plan, &os_env, inputs.cookie.as_deref())
        );
        return Ok(0);
    }
    if command == Command::Attach {
        eprintln!(
            "Attaching to {} through {}/pipe: press Ctrl+D to detach (Ctrl+C would stop the node).",
            inputs.vars.node.to_string_lossy(),
            inputs.vars.tmp.display()
        );
    }
    if matches!(plan.action, crate::plan::Action::Daemon(_)) {
        super::daemon::preflight(&inputs)?;
    }
    act::prepare(&plan.prepare).map_err(|e| runtime_config_error(&plan, e))?;
    match plan.action {
        crate::plan::Action::Exec(spec)
            if matches!(command, Command::Start | Command::StartIex) =>
        {
            super::service::start(spec, &inputs)
        }
        _ => act::run(plan, &inputs),
    }
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

fn is_remote(command: &Command) -> bool {
    command.rpc_expression().is_some() || matches!(command, Command::Ping | Command::Status)
}

fn dry_run_requested(env: &EnvMap) -> bool {
    matches!(env.non_empty_str("BEAMRC_DRY_RUN"), Some(v) if v != "0")
}

/// The script's text when the runtime sys.config copy cannot be written (exit 1).
fn runtime_config_error(plan: &crate::plan::Plan, err: Error) -> Error {
    let config = plan.prepare.iter().find_map(|p| match p {
        crate::plan::Prepare::WriteFile { path, .. } => Some(path.clone()),
        _ => None,
    });
    match (config, &err) {
        (Some(path), Error::Io { source, .. }) => Error::message(
            1,
            format!(
                "ERROR: Cannot start release because it could not write {} ({source})",
                path.display()
            ),
        ),
        _ => err,
    }
}

/// The environment after env.sh; env.sh ending the launch itself becomes `Error::Exit`.
fn source_env_sh(
    vsn_dir: &Path,
    exe: &Path,
    prelude: EnvMap,
    argv0: &OsStr,
    args: &[OsString],
) -> Result<EnvMap> {
    let path = vsn_dir.join("env.sh");
    let text = std::fs::read(&path)
        .map_err(|e| Error::Release(format!("cannot read {}: {e}", path.display())))?;
    if env_sh::is_inert(&text) {
        return Ok(prelude);
    }
    match env_sh::source(&path, exe, &prelude, argv0, args)? {
        Outcome::Sourced(s) => Ok(s.effective()),
        Outcome::Exited(code) => Err(Error::Exit(code)),
    }
}

fn gather_inputs(release: &Release, mut vars: ReleaseVars, command: &Command) -> Result<Inputs> {
    let script = ElixirScript::read(&vars.vsn_dir.join("elixir"));
    let version = script.version.clone().unwrap_or_default();
    let erts_bin = release.erts_bin(&vars.vsn_dir, &script);
    let bindir = erts_bin
        .as_ref()
        .and_then(|b| std::fs::canonicalize(b).ok());
    let configured = super::configure::configure(&mut vars, &release.root, command)?;
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
    let env = &vars.env;
    let cli = elixir_cli::Context {
        elixir_erl_options: env.non_empty("ELIXIR_ERL_OPTIONS").map(OsStr::to_os_string),
        ansi_tty: env.non_empty("NO_COLOR").is_none()
            && env.get_str("OS") != Some("Windows_NT")
            && gather::isatty(1)
            && gather::isatty(2),
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
        remote_flags: configured.remote_flags.clone(),
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
        rand: gather::random_words(),
        timestamp: gather::timestamp(),
        reboot_release,
        baked_mode_flag,
        sys_config,
        vars,
    })
}
