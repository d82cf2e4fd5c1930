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
    /// `versions`, `unpack`, `install`/`upgrade`/`downgrade`, `uninstall` (hot upgrades);
    /// `word` as typed, `vsn` empty when missing.
    Upgrade {
        word: String,
        op: crate::upgrade::Op,
        vsn: String,
    },
    /// `check --upgrade VSN [--json]`: an upgrade's checks alone, reported as `check`
    /// reports (the arguments after `check`, parsed by the plan).
    CheckUpgrade {
        args: Vec<OsString>,
    },
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
            "check" if args.iter().any(|a| a == "--upgrade") => Command::CheckUpgrade {
                args: args[1..].to_vec(),
            },
            w @ ("versions" | "unpack" | "install" | "upgrade" | "downgrade" | "uninstall") => {
                upgrade(w, &args[1..])
            }
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

/// relx's argument rule: `--no-permanent` anywhere, the version is the other word (its
/// part before a `/`).
fn upgrade(word: &str, rest: &[OsString]) -> Command {
    use crate::upgrade::Op;
    let words: Vec<String> = rest
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let permanent = !words.iter().any(|w| w == "--no-permanent");
    let check = words.iter().any(|w| w == "--check");
    let vsn = words
        .iter()
        .find(|w| !matches!(w.as_str(), "--no-permanent" | "--check" | "--upgrade"))
        .map(|w| w.split('/').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let op = match word {
        "versions" => Op::Versions,
        "unpack" => Op::Unpack,
        "uninstall" => Op::Uninstall,
        _ if check => Op::Check { json: false },
        _ => Op::Install { permanent },
    };
    Command::Upgrade {
        word: word.to_string(),
        op,
        vsn,
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
            p(&["check", "--upgrade", "0.2.0"]),
            Command::CheckUpgrade {
                args: vec!["--upgrade".into(), "0.2.0".into()]
            }
        );
        assert_eq!(
            p(&["install", "0.2.0", "--check"]),
            Command::Upgrade {
                word: "install".into(),
                op: crate::upgrade::Op::Check { json: false },
                vsn: "0.2.0".into()
            }
        );
        assert_eq!(
            p(&["downgrade", "--no-permanent", "0.1.0"]),
            Command::Upgrade {
                word: "downgrade".into(),
                op: crate::upgrade::Op::Install { permanent: false },
                vsn: "0.1.0".into()
            }
        );
        assert_eq!(
            p(&["wait", "--timeout", "3"]),
            Command::Wait {
                args: vec!["--timeout".into(), "3".into()]
            }
        );
        assert!(p(&["ready"]).is_probe() && !p(&["pid"]).is_probe());
    }
}
