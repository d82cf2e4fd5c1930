//! Return lag of `daemon` and `stop`: how long after the event they wait for do they return?
//!
//! - daemon: from the first moment `init:get_status()` is `{started, started}` to
//!   `bin/NAME daemon` returning. A poller thread, started before the command, connects as
//!   soon as the node registers and then asks `init:get_status()` on that one connection
//!   every millisecond; its timestamp is when the first `started` reply arrived, so the
//!   figure is low by at most one poll (~1 ms) plus a round trip.
//! - stop: from the VM's OS process exiting (a pidfd opened before the command becomes
//!   readable, seen by a thread blocked in poll) to `bin/NAME stop` returning.
use beamrc::dist::{ClientConfig, Session};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the bench's instances live and how to reach them.
pub struct Target<'a> {
    pub bin: &'a Path,
    pub host: &'a str,
    pub cookie: &'a str,
    pub epmd_port: u16,
}

/// `bin/NAME COMMAND` for another instance of the release (its own node and RELEASE_TMP,
/// removed after `stop`), which must succeed: when it returned, and its stdout.
pub fn instance(bin: &Path, node: &str, command: &str) -> (Instant, String) {
    let tmp = std::env::temp_dir().join(format!("beamrc-bench-{node}"));
    let out = Command::new(bin)
        .arg(command)
        .env("RELEASE_NODE", node)
        .env("RELEASE_TMP", &tmp)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let done = Instant::now();
    assert!(
        out.status.success(),
        "{command} of {node}: {:?}",
        out.status
    );
    if command == "stop" {
        let _ = std::fs::remove_dir_all(tmp);
    }
    (
        done,
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// When the poller first connected (the node registered a moment before), and the first
/// time `init:get_status()` answered `{started, started}`, polled every 1 ms.
fn first_started(cfg: &ClientConfig, until: Instant) -> Option<(Instant, Instant)> {
    let mut connected = None;
    while Instant::now() < until {
        if let Ok(mut s) = Session::connect(cfg) {
            let connected = *connected.get_or_insert_with(Instant::now);
            while let Ok(reply) = s.call("init", "get_status", vec![]) {
                let seen = Instant::now();
                if matches!(reply.as_tuple(), Some([a, b]) if a.is_atom("started") && b.is_atom("started"))
                {
                    return Some((connected, seen));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// When process `pid` exits (a pidfd, readable at the exit).
fn exit_watch(pid: i32) -> std::thread::JoinHandle<Instant> {
    // SAFETY: pidfd_open(2) on an integer; the descriptor is ours alone.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(
        raw >= 0,
        "pidfd_open({pid}): {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: just returned to us, closed only by this OwnedFd.
    let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    std::thread::spawn(move || {
        let mut entry = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        while unsafe { libc::poll(&mut entry, 1, 60_000) } <= 0 {}
        Instant::now()
    })
}

/// One daemon + stop cycle: the two lags, and how long the node was registered (reachable)
/// before its boot finished.
pub struct Cycle {
    pub daemon: Duration,
    pub stop: Duration,
    pub registered_before: Duration,
}

/// One daemon + stop cycle of instance `node`.
pub fn cycle(t: &Target, node: &str) -> Cycle {
    let mut cfg = ClientConfig::new(
        &format!("{node}@{}", t.host),
        &format!("bench_lag@{}", t.host),
        t.cookie,
    );
    cfg.epmd_port = t.epmd_port;
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.call_timeout = Some(Duration::from_secs(1));
    let until = Instant::now() + Duration::from_secs(60);
    let poller = std::thread::spawn(move || first_started(&cfg, until));
    let (returned, _) = instance(t.bin, node, "daemon");
    let (connected, started) = poller
        .join()
        .unwrap()
        .expect("the node never reported started");
    let daemon = returned.saturating_duration_since(started);
    let (_, pid) = instance(t.bin, node, "pid");
    let exited = exit_watch(pid.parse().expect("pid answered a number"));
    let (returned, _) = instance(t.bin, node, "stop");
    let stop = returned.saturating_duration_since(exited.join().unwrap());
    Cycle {
        daemon,
        stop,
        registered_before: started.saturating_duration_since(connected),
    }
}
