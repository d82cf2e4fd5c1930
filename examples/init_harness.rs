//! Test harness for `beamrc::process::supervise`: `init_harness -- PROG ARGS...`.
//!
//! Runs PROG under the init supervisor with the current environment and exits with the status
//! `supervise` returns. Knobs (environment, removed before PROG sees it):
//! * `BEAMRC_SHUTDOWN_TIMEOUT`: kill the child this long after the first forwarded SIGTERM;
//!   `500ms`, `2s`, or a bare number of seconds;
//! * `BEAMRC_STOP_DELAY`: hold the first SIGTERM this long (same forms);
//! * `on_spawn` prints `init_harness: spawned PID` and `on_stop_signal` prints
//!   `init_harness: stop signal` on stderr, so tests can see the callbacks.
use beamrc::environment::EnvMap;
use beamrc::plan::ExecSpec;
use beamrc::process::init::{InitOptions, supervise};
use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    let secs = text.strip_suffix('s').unwrap_or(text);
    secs.parse::<f64>().ok().map(Duration::from_secs_f64)
}

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--") {
        args.remove(0);
    }
    if args.is_empty() {
        eprintln!("usage: init_harness -- PROG ARGS...");
        std::process::exit(2);
    }
    let mut env = EnvMap::from_os();
    let shutdown_timeout = env.remove("BEAMRC_SHUTDOWN_TIMEOUT").map(|v| {
        parse_timeout(&v.to_string_lossy()).unwrap_or_else(|| {
            eprintln!("init_harness: bad BEAMRC_SHUTDOWN_TIMEOUT {v:?}");
            std::process::exit(2)
        })
    });
    let stop_delay = env
        .remove("BEAMRC_STOP_DELAY")
        .and_then(|v| parse_timeout(&v.to_string_lossy()));
    let spec = ExecSpec {
        program: args[0].clone().into(),
        argv: args,
        env,
    };
    // on_spawn runs in its own thread; a child that exits at once could otherwise end the
    // harness before the line is written, so the harness waits for it before exiting.
    let (spawned_tx, spawned_rx) = std::sync::mpsc::channel();
    let opts = InitOptions {
        shutdown_timeout,
        on_spawn: Some(Box::new(move |pid| {
            // One write(2): under a pty this line shares the terminal with the child's output.
            let line = format!("init_harness: spawned {pid}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            let _ = spawned_tx.send(());
        })),
        on_stop_signal: Some(Box::new(|| {
            let _ = writeln!(std::io::stderr(), "init_harness: stop signal");
        })),
        stop_delay,
        credentials: None,
    };
    let code = supervise(&spec, opts);
    let _ = spawned_rx.recv_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
