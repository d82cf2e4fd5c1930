//! Usage texts: the release script's, verbatim, and beamrc's own.

/// The release script's usage (stderr), for `bin/NAME` with no or an unknown command.
pub fn text(prog: &str) -> String {
    format!(
        r#"Usage: {prog} COMMAND [ARGS]

The known commands are:

    start          Starts the system
    start_iex      Starts the system with IEx attached
    daemon         Starts the system as a daemon
    daemon_iex     Starts the system as a daemon with IEx attached
    eval "EXPR"    Executes the given expression on a new, non-booted system
    rpc "EXPR"     Executes the given expression remotely on the running system
    remote         Connects to the running system via a remote shell
    restart        Restarts the running system via a remote command
    stop           Stops the running system via a remote command
    pid            Prints the operating system PID of the running system via a remote command
    version        Prints the release name and version to be booted
"#
    )
}

/// `beamrc --help`.
pub fn tool_help() -> String {
    format!(
        "beamrc {} — a native run-control program for Erlang/Elixir releases

Usage:
    beamrc install RELEASE_DIR   Install beamrc into a built release as bin/NAME
                                 (the original script is kept as bin/NAME.sh)
    beamrc --version             Print beamrc's version
    beamrc --help                Print this help

Installed as bin/NAME, beamrc takes the release's commands:
    start, start_iex, daemon, daemon_iex, eval, rpc, remote, restart, stop, pid,
    version, and beamrc's own ping, status and attach.

beamrc is configured through BEAMRC_* environment variables; see the README.
",
        env!("CARGO_PKG_VERSION")
    )
}
