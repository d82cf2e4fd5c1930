//! Process control at the edge: exec, daemon (run_erl), PID 1 supervision, systemd notify.
//!
//! * [`exec`]: replace this process with the VM (or spawn it), with a clean signal state;
//! * [`group`]: a child in its own process group that gets the signals we are sent (env.sh);
//! * [`signals`]: the forwarded set, taken synchronously from a signalfd;
//! * [`init`]: PID 1 / init mode: spawn, forward signals to the VM only, reap orphans;
//! * [`notify`]: systemd `sd_notify` without libsystemd, and a detached watcher process;
//! * [`user`]: `BEAMRC_USER`, the credentials `start` drops to before exec;
//! * [`watch`]: pid liveness, finding `run_erl`, log tails, run to completion.
pub mod exec;
pub(crate) mod group;
pub mod init;
pub mod notify;
pub(crate) mod signals;
pub mod user;
pub mod watch;

/// An exit status as a shell reports it: the code, or 128 + the signal.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs the `#[ignore]`d test `name` alone in a fresh copy of this test binary (signals and
/// children are per process, and the harness runs other tests in other threads) with the
/// probe variable `BEAMRC_PROBE=1`; panics with its output unless it passed.
#[cfg(test)]
pub(crate) fn run_test_alone(name: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BEAMRC_PROBE", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}
