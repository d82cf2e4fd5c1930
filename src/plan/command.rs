//! The release commands, parsed from `bin/NAME`'s arguments without side effects.
use std::ffi::OsString;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// No argument: usage on stderr, exit 0 (as the script).
    Help,
    Start,
    StartIex,
    Daemon,
    DaemonIex,
    Eval {
        expr: OsString,
        args: Vec<OsString>,
    },
    Rpc {
        expr: OsString,
    },
    Remote,
    Restart,
    Stop,
    Pid,
    Version,
    Ping,
    Status,
    /// `ready [--app APP]… [--process NAME]…`: succeeds only when the node has booted.
    Ready {
        args: Vec<OsString>,
    },
    /// `wait [--timeout S] [--app APP]… [--process NAME]…`: blocks until ready.
    Wait {
        args: Vec<OsString>,
    },
    Attach,
    Unknown(String),
}

/// What the script says when `eval`/`rpc` get no (or an empty) expression.
pub const EVAL_EXPECTS: &str = "ERROR: EVAL expects an expression as argument";
pub const RPC_EXPECTS: &str = "ERROR: RPC expects an expression as argument";

impl Command {
    /// Parses `$1 $2 …`. An empty expression is reported by the caller (after env.sh ran,
    /// as in the script).
    pub fn parse(args: &[OsString]) -> Command {
        let Some(first) = args.first() else {
            return Command::Help;
        };
        let expr = || args.get(1).cloned().unwrap_or_default();
        match first.to_str().unwrap_or("") {
            "" if first.is_empty() => Command::Help,
            "start" => Command::Start,
            "start_iex" => Command::StartIex,
            "daemon" => Command::Daemon,
            "daemon_iex" => Command::DaemonIex,
            "eval" => Command::Eval {
                expr: expr(),
                args: args.iter().skip(2).cloned().collect(),
            },
            "rpc" => Command::Rpc { expr: expr() },
            "remote" => Command::Remote,
            "restart" => Command::Restart,
            "stop" => Command::Stop,
            "pid" => Command::Pid,
            "version" => Command::Version,
            "ping" => Command::Ping,
            "status" => Command::Status,
            "attach" => Command::Attach,
            "ready" => Command::Ready {
                args: args[1..].to_vec(),
            },
            "wait" => Command::Wait {
                args: args[1..].to_vec(),
            },
            _ => Command::Unknown(first.to_string_lossy().into_owned()),
        }
    }

    /// Commands that need no cookie (beamrc never reads one for them).
    pub fn needs_cookie(&self) -> bool {
        !matches!(
            self,
            Command::Help | Command::Version | Command::Unknown(_) | Command::Attach
        )
    }

    /// Commands that boot a VM of the release (and so read vm.args and sys.config).
    pub fn starts_vm(&self) -> bool {
        self.is_start() || matches!(self, Command::Eval { .. })
    }

    /// Probes (ping, status, ready, wait): they never write a file, so they render nothing.
    pub fn is_probe(&self) -> bool {
        matches!(
            self,
            Command::Ping | Command::Status | Command::Ready { .. } | Command::Wait { .. }
        )
    }

    /// The start family: start, start_iex, daemon, daemon_iex.
    pub fn is_start(&self) -> bool {
        matches!(
            self,
            Command::Start | Command::StartIex | Command::Daemon | Command::DaemonIex
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Command {
        Command::parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_like_the_case_statement() {
        assert_eq!(p(&[]), Command::Help);
        assert_eq!(p(&[""]), Command::Help);
        assert_eq!(p(&["start", "ignored"]), Command::Start);
        assert_eq!(
            p(&["eval", "IO.puts 1", "a", "b"]),
            Command::Eval {
                expr: "IO.puts 1".into(),
                args: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(p(&["rpc"]), Command::Rpc { expr: "".into() });
        assert_eq!(p(&["Start"]), Command::Unknown("Start".into()));
        assert!(!p(&["version"]).needs_cookie());
        assert_eq!(
            p(&["wait", "--timeout", "3"]),
            Command::Wait {
                args: vec!["--timeout".into(), "3".into()]
            }
        );
        assert!(p(&["ready"]).is_probe() && !p(&["pid"]).is_probe());
    }
}
