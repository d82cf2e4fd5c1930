//! The release script's usage text, verbatim (beamrc's own help is clap's, in `tool`).

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
