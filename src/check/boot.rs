//! Around a real boot: the fatal runtime checks before `start` execs or spawns the VM, and
//! the explanation of a boot that failed where beamrc sees it (a daemon's run_erl log, an
//! init-mode VM's exit and crash dump).
use super::command::explain_boot_failure;
use super::report::{self, Finding, Level};
use super::{Host, Subject, crash_dump};
use crate::environment::vars::ReleaseVars;
use crate::plan::Action;
use crate::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How much of the run_erl log is read.
const LOG_LINES: usize = 200;
/// How long after its start a VM's exit counts as a boot failure.
const BOOT_WINDOW: Duration = Duration::from_secs(60);

enum Watched {
    /// Plain `start`: exec, nothing to see afterwards.
    Exec,
    /// `start` under the init supervisor.
    Supervised,
    /// `daemon`: the run_erl log directory.
    Daemon(PathBuf),
}

/// What a start command's boot is checked and explained with.
pub(crate) struct BootGuard {
    subject: Subject,
    hostname: String,
    watched: Watched,
    preflight: bool,
    started: SystemTime,
}

impl BootGuard {
    /// A guard for the actions that boot a VM (`start`, `daemon`); `None` for the others.
    pub(crate) fn for_action(
        action: &Action,
        vars: &ReleaseVars,
        substitute: bool,
        hostname: String,
        preflight: bool,
    ) -> Option<BootGuard> {
        let watched = match action {
            Action::Start(s) if s.supervise.is_some() => Watched::Supervised,
            Action::Start(_) => Watched::Exec,
            Action::Daemon(d) => Watched::Daemon(d.log_dir.clone()),
            _ => return None,
        };
        let _span = tracing::debug_span!("subject").entered();
        Some(BootGuard {
            subject: Subject::from_vars(vars, substitute),
            hostname,
            watched,
            preflight,
            started: SystemTime::now(),
        })
    }

    fn host(&self) -> Host {
        Host::detect(&self.subject.env, self.hostname.clone())
    }

    /// Before `start` execs or spawns the VM: erlexec and beam.smp can run on this host
    /// (format, interpreter, libraries, symbol versions), or one `ERROR:` line each, exit 126.
    pub(crate) fn before(&self) -> Result<()> {
        if !self.preflight || matches!(self.watched, Watched::Daemon(_)) {
            return Ok(());
        }
        let _span = tracing::debug_span!("preflight").entered();
        let host = {
            let _span = tracing::debug_span!("host").entered();
            self.host()
        };
        let fatal = super::runtime::fatal(&self.subject, &host);
        if fatal.is_empty() {
            return Ok(());
        }
        Err(Error::message(
            126,
            format!(
                "{}\n(checked before starting the VM; BEAMRC_PREFLIGHT=0 skips this check)",
                report::text(&fatal).trim_end()
            ),
        ))
    }

    /// The result of the executor, with the boot failure explained.
    pub(crate) fn after(&self, result: Result<i32>) -> Result<i32> {
        match (&self.watched, result) {
            (Watched::Daemon(log_dir), Err(e)) => Err(explain_daemon_failure(
                e,
                log_dir,
                &self.subject,
                &self.hostname,
            )),
            (Watched::Supervised, Ok(code)) if code != 0 && code < 128 => {
                eprint!("{}", self.explain_exit());
                Ok(code)
            }
            (_, result) => result,
        }
    }

    fn explain(&self, output: &str) -> String {
        explain_boot_failure(output, Some(&self.subject), Some(&self.host()))
    }

    /// A supervised VM that exited with a failure soon after the start: the slogan of the
    /// crash dump it wrote (`ERL_CRASH_DUMP`, the cwd or the release root, newer than the
    /// start), explained; without a dump (a name clash writes none), the errors `check` finds.
    fn explain_exit(&self) -> String {
        if self.started.elapsed().is_ok_and(|d| d > BOOT_WINDOW) {
            return String::new();
        }
        let env_dump = self.subject.env.get("ERL_CRASH_DUMP").map(PathBuf::from);
        let candidates = [
            env_dump,
            Some(PathBuf::from("erl_crash.dump")),
            Some(self.subject.root.join("erl_crash.dump")),
        ];
        let fresh = candidates.into_iter().flatten().find(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= self.started)
        });
        let slogan = fresh.and_then(|dump| {
            let mut head = Vec::new();
            std::fs::File::open(&dump)
                .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
                .ok()?;
            crash_dump::slogan(&String::from_utf8_lossy(&head)).map(|(s, _)| (dump, s))
        });
        if let Some((dump, slogan)) = slogan {
            let text = self.explain(&slogan);
            if !text.is_empty() {
                return format!("(from the slogan of {})\n{text}", dump.display());
            }
        }
        let errors: Vec<Finding> = super::run(&self.subject, &self.host())
            .into_iter()
            .filter(|f| f.level == Level::Error)
            .collect();
        if errors.is_empty() {
            return String::new();
        }
        format!(
            "the VM exited while booting; check finds:\n{}",
            report::text(&errors)
        )
    }
}

/// A daemon whose boot failed (`err`, a lifecycle error with the run_erl log tail): the
/// recognised errors of this boot's log, and the findings of the checks that cover them,
/// appended. Other errors pass through.
pub(crate) fn explain_daemon_failure(
    err: Error,
    log_dir: &Path,
    subject: &Subject,
    hostname: &str,
) -> Error {
    let Error::Lifecycle(mut text) = err else {
        return err;
    };
    let tail = crate::process::watch::log_tail(log_dir, LOG_LINES);
    let why = tail.map_or(String::new(), |(_, t)| {
        let host = Host::detect(&subject.env, hostname.to_string());
        explain_boot_failure(this_boot(&t), Some(subject), Some(&host))
    });
    if !why.is_empty() {
        text.push('\n');
        text.push_str(why.trim_end());
    }
    Error::Lifecycle(text)
}

/// The part of a run_erl log written since run_erl last opened it (one per daemon start),
/// so an earlier boot's failure is not explained again.
fn this_boot(log: &str) -> &str {
    match log.rfind("===== LOGGING STARTED") {
        Some(at) => &log[at..],
        None => log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_boot_of_a_log_counts() {
        let log = "===== LOGGING STARTED a\nCan't set long node name!\n===== LOGGING STARTED b\nepmd: register/listen error: econnrefused\n";
        let text = explain_boot_failure(this_boot(log), None, None);
        assert!(
            text.contains("epmd is not running") && !text.contains("long node name"),
            "{text}"
        );
    }
}
