//! `BEAMRC_DRY_RUN=1` for relx releases: the files that would be written and the program
//! that would run (cookie masked), through the same renderer as for Mix releases — for the
//! upgrade family, the native steps; nothing is written, started or sent.
use super::command::RelxCommand;
use super::run::State;
use super::{argv, tools};
use crate::Result;
use crate::plan::{Action, Plan, Prepare};

/// The upgrade family: the native steps (as for Mix releases) when the real run goes native,
/// else install_upgrade.escript's argv.
fn upgrade_action(st: &State, cmd: &str, cookie: &str) -> Result<Action> {
    if let Some(r) = st.remote()?
        && let Some(req) = super::lifecycle::upgrade_request(st, &r, cmd)?
    {
        return Ok(Action::Upgrade(req));
    }
    Ok(Action::Exec(tools::install_upgrade(
        &st.ctx(),
        cmd,
        cookie,
        &st.inv.args,
    )))
}

pub(super) fn run(st: &State) -> Result<i32> {
    let mut prepare = Vec::new();
    if st.inv.command.writes_config() {
        for f in [&st.vm, &st.sys] {
            let current = std::fs::read(&f.path).ok();
            if f.write && current.as_deref() != Some(f.text.as_bytes()) {
                prepare.push(Prepare::WriteFile {
                    path: f.path.clone(),
                    contents: f.text.clone().into_bytes(),
                    mode: 0o600,
                });
            }
        }
    }
    let ctx = st.ctx();
    let cookie = st.cookie.as_deref().unwrap_or_default();
    use RelxCommand as C;
    let action = match &st.inv.command {
        C::Console(kind) => {
            Action::Exec(argv::console(&ctx, *kind, &st.inv.word, &st.inv.args)?.exec)
        }
        C::Daemon { boot, .. } => Action::Daemon(argv::daemon(&ctx, *boot, &st.inv.args).0),
        C::Attach { .. } => Action::Exec(tools::attach(&ctx)),
        C::Escript => Action::Exec(tools::escript(&ctx, &st.inv.args)),
        C::Remote => Action::Exec(tools::remsh(&ctx, cookie, "TICKTIME", &st.helper_id())),
        C::Versions => upgrade_action(st, "versions", cookie)?,
        C::Upgrade(cmd) => upgrade_action(st, cmd, cookie)?,
        C::Help | C::Usage | C::Extension(_) => {
            Action::Print(format!("relx {}: no program to run\n", st.inv.word))
        }
        _ => Action::Print(match st.remote()? {
            Some(r) => format!(
                "native call to {} as hidden node {}\n",
                r.cfg.target, r.cfg.own_name
            ),
            None => format!("through the kept script {}\n", st.launch.kept.display()),
        }),
    };
    let plan = Plan { prepare, action };
    print!(
        "{}",
        crate::plan::dry_run::render(&plan, st.launch.os_env, st.cookie.as_deref())
    );
    Ok(0)
}
