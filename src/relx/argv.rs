//! The programs relx's script starts the VM with, and the argv and environment it builds
//! (reference §1.9): erlexec for the console family, run_erl for daemon. The helper programs
//! (to_erl, remsh, escript, the host probe) are in [`super::tools`].
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::command::Console;
use super::node::NodeFacts;
use super::vars::RelxVars;
use crate::environment::EnvMap;
use crate::plan::{Daemon, ExecSpec};
use crate::{Error, Result};

/// What every program of a relx command is built from.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub vars: &'a RelxVars,
    pub facts: &'a NodeFacts,
    /// `NAME` with its host part.
    pub node: &'a str,
    /// `VMARGS_PATH` and `RELX_CONFIG_PATH` as finally chosen.
    pub vm_args: &'a Path,
    pub sys_config: &'a Path,
    /// `$0` as the script would see it (for `PROGNAME=${0#*/}`).
    pub argv0: &'a OsStr,
}

impl Ctx<'_> {
    /// The script's exported environment, with `NAME`.
    pub fn env(&self) -> EnvMap {
        let mut env = self.vars.env.clone();
        env.set("NAME", self.node);
        env
    }

    pub(super) fn erlexec(&self) -> PathBuf {
        self.vars.bindir().join("erlexec")
    }

    /// `EXTRA_DIST_ARGS` for `ERL_DIST_PORT`, and the warning old ERTS versions get.
    pub fn extra_dist_args(&self) -> (Vec<String>, Option<String>) {
        let Some(port) = &self.vars.dist_port else {
            return (Vec::new(), None);
        };
        if self.vars.erts_at_least(11, 1) {
            let mut args = vec!["-erl_epmd_port".to_string(), port.clone()];
            if self.facts.start_epmd.is_none() {
                args.extend(["-start_epmd".to_string(), "false".to_string()]);
            }
            return (args, None);
        }
        let args = [
            "-kernel",
            "inet_dist_listen_min",
            port,
            "-kernel",
            "inet_dist_listen_max",
            port,
        ]
        .map(str::to_string)
        .to_vec();
        let warning = format!(
            "ERL_DIST_PORT is set and used to set the port, but doing so on ERTS version {} means remsh/rpc will not work for this release",
            self.vars.erts_vsn
        );
        (args, Some(warning))
    }
}

/// A console-like start: the exec, and the lines the script prints first
/// (`Exec: …`, `Root: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleStart {
    pub exec: ExecSpec,
    pub banner: Vec<String>,
}

/// `foreground`, `console`, `console_clean`, `console_boot FILE`. `word` and `args` are the
/// command word and the arguments after it.
pub fn console(ctx: &Ctx, kind: Console, word: &str, args: &[OsString]) -> Result<ConsoleStart> {
    let vars = ctx.vars;
    let mut plain: Vec<OsString> = Vec::new();
    let (boot, mode_default, options): (OsString, &str, &[&str]) = match kind {
        Console::Foreground => (
            vars.release_boot().into_os_string(),
            "embedded",
            &["-noinput", "+Bd"],
        ),
        Console::Interactive => (vars.release_boot().into_os_string(), "embedded", &[]),
        Console::Clean => (
            vars.rel_dir.join("start_clean").into_os_string(),
            "interactive",
            &[],
        ),
        Console::Boot => {
            let Some(file) = args.first() else {
                return Err(Error::message(
                    1,
                    format!("Usage: {} console_boot FILE", vars.rel_name),
                ));
            };
            plain.extend(args[1..].iter().cloned());
            (file.clone(), "embedded", &[])
        }
    };
    if kind != Console::Boot {
        plain.push(word.into());
        plain.extend(args.iter().cloned());
    }
    let mode = vars.code_loading_mode.as_deref().unwrap_or(mode_default);
    let mut argv: Vec<OsString> = vec![ctx.erlexec().into_os_string()];
    argv.extend(options.iter().map(OsString::from));
    argv.extend(["-boot".into(), boot]);
    argv.extend(["-mode".into(), mode.into()]);
    argv.extend([
        "-boot_var".into(),
        "SYSTEM_LIB_DIR".into(),
        vars.system_lib_dir().into_os_string(),
    ]);
    argv.extend(["-config".into(), ctx.sys_config.as_os_str().to_os_string()]);
    argv.extend(["-args_file".into(), ctx.vm_args.as_os_str().to_os_string()]);
    argv.extend(ctx.extra_dist_args().0.into_iter().map(OsString::from));
    argv.push("--".into());
    argv.extend(plain);

    let mut env = ctx.env();
    env.set("EMU", "beam");
    env.set("PROGNAME", progname(ctx.argv0));
    let shown: Vec<String> = argv[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let banner = vec![
        format!("Exec: {} {}", ctx.erlexec().display(), shown.join(" ")),
        format!("Root: {}", vars.root.display()),
    ];
    Ok(ConsoleStart {
        exec: ExecSpec {
            program: ctx.erlexec(),
            argv,
            env,
        },
        banner,
    })
}

/// `${0#*/}`: `$0` without everything up to its first `/`.
fn progname(argv0: &OsStr) -> OsString {
    let bytes = argv0.as_bytes();
    match bytes.iter().position(|&b| b == b'/') {
        Some(i) => OsStr::from_bytes(&bytes[i + 1..]).to_os_string(),
        None => argv0.to_os_string(),
    }
}

/// `printf "'%s' " "$@"` (with no arguments: `'' `), quoting embedded `'` correctly
/// (relx leaves them, which breaks the command).
pub fn quoted_args(args: &[OsString]) -> OsString {
    let mut out = OsString::new();
    let one = |out: &mut OsString, a: &OsStr| {
        let text = a.as_bytes();
        let mut quoted = Vec::with_capacity(text.len() + 3);
        quoted.push(b'\'');
        for &b in text {
            if b == b'\'' {
                quoted.extend_from_slice(b"'\\''");
            } else {
                quoted.push(b);
            }
        }
        quoted.extend_from_slice(b"' ");
        out.push(OsStr::from_bytes(&quoted));
    };
    if args.is_empty() {
        one(&mut out, OsStr::new(""));
    }
    for a in args {
        one(&mut out, a);
    }
    out
}

/// `daemon` / `daemon_boot FILE`: run_erl with the inner console, and `HEART_COMMAND`.
/// Returns the daemon and whether `/tmp/erl_pipes/` must be created (mode 1777).
pub fn daemon(ctx: &Ctx, boot: bool, args: &[OsString]) -> (Daemon, bool) {
    let vars = ctx.vars;
    let (start_option, heart_option) = if boot {
        ("console_boot", "daemon_boot")
    } else {
        ("console", "daemon")
    };
    let bin = vars.root.join("bin").join(&vars.rel_name);
    let quoted = quoted_args(args);
    let mut heart = OsString::from(format!("\"{}\" \"{heart_option}\" ", bin.display()));
    heart.push(&quoted);
    let mut inner = OsString::from(format!("exec \"{}\" \"{start_option}\" ", bin.display()));
    inner.push(&quoted);
    inner.push(" --relx-disable-hooks");
    let (pipe_dir, defaulted) = vars.pipe_dir(ctx.node);
    let mut env = ctx.env();
    env.set("HEART_COMMAND", heart);
    let run_erl = vars.bindir().join("run_erl");
    let argv = vec![
        run_erl.clone().into_os_string(),
        "-daemon".into(),
        pipe_dir.clone().into_os_string(),
        vars.log_dir.clone().into_os_string(),
        inner,
    ];
    (
        Daemon {
            run_erl: ExecSpec {
                program: run_erl,
                argv,
                env,
            },
            pipe_dir,
            log_dir: vars.log_dir.clone(),
            // relx's daemon waits itself (lifecycle::daemon), with its hooks after boot.
            boot: None,
        },
        defaulted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relx::node::NameType;
    use crate::relx::script::{RelxScript, tests_support::EXTENDED};
    use crate::relx::vars::{Erts, compute};

    fn vars(caller: &[(&str, &str)]) -> RelxVars {
        let mut env = EnvMap::new();
        for (k, v) in caller {
            env.set(*k, *v);
        }
        let script = RelxScript::parse(EXTENDED).unwrap();
        let erts = Erts {
            dir: PathBuf::from("/r/erts-13.1.5"),
            vsn: "13.1.5".into(),
            warning: None,
        };
        compute(
            &env,
            &script,
            Path::new("/r"),
            Path::new("/r/bin/hooked"),
            erts,
        )
        .unwrap()
    }

    fn facts() -> NodeFacts {
        NodeFacts {
            name_type: NameType::Short,
            name: "hooked".into(),
            dist_args: vec![],
            start_epmd: None,
            use_interface: None,
            cookie: Some("c".into()),
        }
    }

    fn strs(v: &[OsString]) -> Vec<String> {
        v.iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn foreground_argv_as_the_script() {
        let v = vars(&[("ERL_DIST_PORT", "8001")]);
        let f = facts();
        let ctx = Ctx {
            vars: &v,
            facts: &f,
            node: "hooked@box",
            vm_args: Path::new("/r/releases/0.1.0/vm.args"),
            sys_config: Path::new("/r/releases/0.1.0/sys.config"),
            argv0: OsStr::new("/r/bin/hooked"),
        };
        let s = console(&ctx, Console::Foreground, "foreground", &["x".into()]).unwrap();
        assert_eq!(
            strs(&s.exec.argv),
            [
                "/r/erts-13.1.5/bin/erlexec",
                "-noinput",
                "+Bd",
                "-boot",
                "/r/releases/0.1.0/start",
                "-mode",
                "embedded",
                "-boot_var",
                "SYSTEM_LIB_DIR",
                "/r/lib",
                "-config",
                "/r/releases/0.1.0/sys.config",
                "-args_file",
                "/r/releases/0.1.0/vm.args",
                "-erl_epmd_port",
                "8001",
                "-start_epmd",
                "false",
                "--",
                "foreground",
                "x"
            ]
        );
        assert_eq!(s.exec.env.get_str("PROGNAME"), Some("r/bin/hooked"));
        assert_eq!(s.exec.env.get_str("NAME"), Some("hooked@box"));
        assert!(s.banner[0].starts_with("Exec: /r/erts-13.1.5/bin/erlexec -noinput +Bd -boot"));
        let clean = console(&ctx, Console::Clean, "console_clean", &[]).unwrap();
        assert!(strs(&clean.exec.argv).contains(&"interactive".to_string()));
        let boot = console(
            &ctx,
            Console::Boot,
            "console_boot",
            &["/b".into(), "y".into()],
        )
        .unwrap();
        let argv = strs(&boot.exec.argv);
        assert_eq!(argv[2], "/b");
        assert_eq!(&argv[argv.len() - 2..], ["--", "y"]);
    }

    #[test]
    fn daemon_command_strings() {
        let v = vars(&[]);
        let f = facts();
        let ctx = Ctx {
            vars: &v,
            facts: &f,
            node: "hooked@box",
            vm_args: Path::new("/v"),
            sys_config: Path::new("/s"),
            argv0: OsStr::new("bin/hooked"),
        };
        let (d, defaulted) = daemon(&ctx, false, &[]);
        assert!(defaulted);
        assert_eq!(
            strs(&d.run_erl.argv),
            [
                "/r/erts-13.1.5/bin/run_erl",
                "-daemon",
                "/tmp/erl_pipes/hooked@box/",
                "/r/log",
                "exec \"/r/bin/hooked\" \"console\" ''  --relx-disable-hooks"
            ]
        );
        assert_eq!(
            d.run_erl.env.get_str("HEART_COMMAND"),
            Some("\"/r/bin/hooked\" \"daemon\" '' ")
        );
        assert_eq!(
            quoted_args(&["a b".into(), "it's".into()]),
            OsString::from("'a b' 'it'\\''s' ")
        );
    }
}
