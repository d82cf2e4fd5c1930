//! Process control at the edge: exec, daemon (run_erl), PID 1 supervision, systemd notify.
//!
//! * [`exec`]: replace this process with the VM (or spawn it), with a clean signal state;
//! * [`group`]: a child in its own process group that gets the signals we are sent (env.sh);
//! * [`signals`]: the forwarded set, taken synchronously from a signalfd;
//! * [`init`]: PID 1 / init mode: spawn, forward signals to the VM only, reap orphans;
//! * [`notify`]: systemd `sd_notify` without libsystemd, and a detached watcher process;
//! * [`watch`]: pid liveness, finding `run_erl`, log tails, run to completion.
pub mod exec;
pub(crate) mod group;
pub mod init;
pub mod notify;
pub(crate) mod signals;
pub mod watch;

/// An exit status as a shell reports it: the code, or 128 + the signal.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}
