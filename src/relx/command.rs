//! The commands of relx's extended script, parsed from `bin/NAME`'s arguments (its
//! `case "$1" in`), without side effects.
use std::ffi::OsString;

use super::script::RelxScript;

/// Which console-like VM start (the script's `console|console_clean|console_boot|foreground`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Foreground,
    /// `console`
    Interactive,
    Clean,
    /// `console_boot FILE`: the boot file is the first argument.
    Boot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelxCommand {
    /// Starts a VM in this process; `args` is `"$@"` as erlexec gets it after `--`.
    Console(Console),
    /// `daemon` / `daemon_boot FILE` (and the deprecated `start`).
    Daemon {
        boot: bool,
        deprecated_start: bool,
    },
    /// `daemon_attach` / the deprecated `attach`.
    Attach {
        deprecated: bool,
    },
    /// `remote_console`, `remote`, `remsh`.
    Remote,
    Ping,
    Pid,
    Stop,
    Restart,
    Reboot,
    Rpc,
    Eval,
    Status,
    Escript,
    Versions,
    /// `upgrade`, `downgrade`, `install`, `unpack`, `uninstall`.
    Upgrade(String),
    /// `help [TOPIC]`.
    Help,
    /// A declared extension.
    Extension(String),
    /// `check [--json] [--crash-dump [FILE]]`: beamrc's preflight (not a relx command;
    /// an extension named `check` wins).
    Check,
    /// `ready [--app APP]… [--process NAME]…` / `wait [--timeout S] …`: beamrc's probes
    /// (not relx commands; an extension of that name wins).
    Ready,
    Wait,
    /// No argument or an unknown word: the usage (of that word, if it has one), exit 1.
    Usage,
}

/// A parsed invocation: the command, the word as given, and the arguments after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: RelxCommand,
    pub word: String,
    pub args: Vec<OsString>,
    /// `--relx-disable-hooks` is among the arguments (it stays in them, as in relx).
    pub hooks_disabled: bool,
}

impl Invocation {
    pub fn parse(args: &[OsString], script: &RelxScript) -> Invocation {
        let word = args
            .first()
            .map(|w| w.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rest = args.get(1..).unwrap_or(&[]).to_vec();
        let hooks_disabled = args.iter().any(|a| a == "--relx-disable-hooks");
        use RelxCommand as C;
        let command = match word.as_str() {
            "foreground" => C::Console(Console::Foreground),
            "console" => C::Console(Console::Interactive),
            "console_clean" => C::Console(Console::Clean),
            "console_boot" => C::Console(Console::Boot),
            "daemon" => C::Daemon {
                boot: false,
                deprecated_start: false,
            },
            "start" => C::Daemon {
                boot: false,
                deprecated_start: true,
            },
            "daemon_boot" => C::Daemon {
                boot: true,
                deprecated_start: false,
            },
            "daemon_attach" => C::Attach { deprecated: false },
            "attach" => C::Attach { deprecated: true },
            "remote_console" | "remote" | "remsh" => C::Remote,
            "ping" => C::Ping,
            "pid" => C::Pid,
            "stop" => C::Stop,
            "restart" => C::Restart,
            "reboot" => C::Reboot,
            "rpc" => C::Rpc,
            "eval" => C::Eval,
            "status" => C::Status,
            "escript" => C::Escript,
            "versions" => C::Versions,
            "upgrade" | "downgrade" | "install" | "unpack" | "uninstall" => {
                C::Upgrade(word.clone())
            }
            // beamrc's `check --upgrade VSN [--json]`: the upgrade's checks alone
            "check" if rest.iter().any(|a| a == "--upgrade") => C::Upgrade(word.clone()),
            "help" => C::Help,
            // relx treats the literal name `undefined` as an extension without a script.
            w if script.extension(w).is_some() || w == "undefined" => C::Extension(w.into()),
            "check" => C::Check,
            "ready" => C::Ready,
            "wait" => C::Wait,
            _ => C::Usage,
        };
        Invocation {
            command,
            word,
            args: rest,
            hooks_disabled,
        }
    }
}

impl RelxCommand {
    /// Commands that boot the release's VM here or under run_erl (and so need the
    /// generated vm.args / sys.config on disk). Everything else reads them in memory.
    pub fn writes_config(&self) -> bool {
        matches!(self, RelxCommand::Console(_) | RelxCommand::Daemon { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relx::script::tests_support::EXTENDED;

    fn p(args: &[&str]) -> Invocation {
        let script = RelxScript::parse(EXTENDED).unwrap();
        Invocation::parse(
            &args.iter().map(OsString::from).collect::<Vec<_>>(),
            &script,
        )
    }

    #[test]
    fn parses_like_the_case_statement() {
        assert_eq!(p(&[]).command, RelxCommand::Usage);
        assert_eq!(p(&["remsh"]).command, RelxCommand::Remote);
        assert_eq!(
            p(&["start", "x"]).command,
            RelxCommand::Daemon {
                boot: false,
                deprecated_start: true
            }
        );
        assert_eq!(p(&["start", "x"]).args, vec![OsString::from("x")]);
        assert_eq!(
            p(&["bar", "a"]).command,
            RelxCommand::Extension("bar".into())
        );
        assert_eq!(
            p(&["undefined"]).command,
            RelxCommand::Extension("undefined".into())
        );
        assert_eq!(p(&["nope"]).command, RelxCommand::Usage);
        assert_eq!(
            p(&["unpack", "0.2"]).command,
            RelxCommand::Upgrade("unpack".into())
        );
        let inner = p(&["console", "--relx-disable-hooks"]);
        assert!(inner.hooks_disabled);
        assert_eq!(inner.args.len(), 1);
        assert!(p(&["daemon"]).command.writes_config());
        assert!(!p(&["ping"]).command.writes_config());
    }
}
