//! Dispatch of a relx command once [`super::run`] has computed everything.
use std::path::Path;

use super::command::RelxCommand;
use super::run::{State, ping_or_exit, writable};
use super::{argv, tools};
use crate::Result;
use crate::environment::EnvMap;

pub(super) fn dispatch(st: &State) -> Result<i32> {
    use RelxCommand as C;
    let hooks = &st.launch.script.hooks;
    match &st.inv.command {
        C::Usage => {
            print!("{}", st.usage(Some(st.word())));
            Ok(1)
        }
        C::Help => match st
            .inv
            .args
            .first()
            .map(|a| a.to_string_lossy().into_owned())
        {
            None => {
                print!("{}", st.usage(None));
                Ok(1)
            }
            Some(t) if st.launch.script.extension(&t).is_some() => {
                st.extension(&t, &["help".to_string()])
            }
            Some(t) => {
                print!("{}", st.usage(Some(&t)));
                Ok(0)
            }
        },
        C::Extension(name) => st.extension(name, &st.text_args()),
        C::Check => super::check::release_face(st),
        C::Console(kind) => {
            let start = argv::console(&st.ctx(), *kind, st.word(), &st.inv.args)?;
            for line in &start.banner {
                println!("{line}");
            }
            if st.launch.script.echoes_root {
                println!("{}", st.vars.root.display());
            }
            starting_up(&st.vars.rel_name, &st.vars.env);
            st.hooks(&hooks.pre_start)?;
            Err(crate::process::exec::exec(&start.exec))
        }
        C::Daemon {
            boot,
            deprecated_start,
        } => {
            if *deprecated_start {
                println!(
                    "'start' has been deprecated, replaced by 'daemon' and will be removed in the short-term, please consult rebar3.org on why you should be using 'foreground' and an init tool such as 'systemd'"
                );
            }
            super::lifecycle::daemon(st, *boot)
        }
        C::Attach { deprecated } => {
            if *deprecated {
                println!(
                    "'attach' has been deprecated, replaced by 'daemon_attach' and will be removed in the short-term, please consult rebar3.org on why you should be using 'foreground' and an init tool such as 'systemd'"
                );
            }
            let Some(remote) = st.remote()? else {
                return st.script_route();
            };
            ping_or_exit(&remote)?;
            let pipe = st.vars.pipe_dir(&st.node).0;
            if !writable(&pipe) {
                println!(
                    "failed to attach, user '{}' does not have sufficient privileges on '{}', please run node as a different user",
                    st.vars.env.get_str("USER").unwrap_or(""),
                    pipe.display()
                );
                return Ok(1);
            }
            Err(crate::process::exec::exec(&tools::attach(&st.ctx())))
        }
        C::Escript => {
            let spec = tools::escript(&st.ctx(), &st.inv.args);
            let status = crate::process::exec::command(&spec)
                .and_then(|mut c| c.status())
                .map_err(|e| crate::process::exec::exec_error(&spec, e))?;
            Ok(if status.success() { 0 } else { 1 })
        }
        other => {
            let Some(remote) = st.remote()? else {
                return st.script_route();
            };
            super::lifecycle::remote_command(st, other, &remote)
        }
    }
}

/// `logger -t NAME[pid] "Starting up"`, or the echo relx uses without `logger`.
fn starting_up(rel_name: &str, env: &EnvMap) {
    let tag = format!("{rel_name}[{}]", std::process::id());
    let logger = crate::process::exec::resolve(Path::new("logger"), env);
    let logged = logger.ok().is_some_and(|l| {
        std::process::Command::new(l)
            .args(["-t", &tag, "Starting up"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !logged {
        println!("{tag} Starting up");
    }
}
