//! Process control at the edge: exec, daemon (run_erl), PID 1 supervision, systemd notify.
//!
//! * [`exec`]: replace this process with the VM (or spawn it), with a clean signal state;
//! * [`init`]: PID 1 / init mode: spawn, forward signals to the VM only, reap orphans;
//! * [`notify`]: systemd `sd_notify` without libsystemd, and a detached watcher process;
//! * [`watch`]: pid liveness, waiting, finding `run_erl`, log tails, run to completion.
pub mod exec;
pub mod init;
pub mod notify;
pub mod watch;

pub use exec::{exec, spawn};
pub use init::{InitOptions, is_pid1, supervise};
pub use notify::{detach_watcher, notify};
pub use watch::{find_run_erl, log_tail, pid_alive, run, wait_pid_gone};
