//! Temp dirs and PID-based cleanup of everything started from them.
//!
//! A process "belongs" to a test dir when its `/proc/PID/cmdline` or `/proc/PID/environ`
//! mentions `DIR/` or its cwd is inside `DIR`. Every command started through
//! [`TestRelease::cmd`](super::TestRelease::cmd) has `HOME=DIR/home` and cwd `DIR`, and the
//! VMs carry `RELEASE_ROOT=DIR/...`, so daemons (`run_erl`, `beam.smp`, `heart`, the `epmd
//! -daemon` erlexec spawns) are found even after they re-parent to init.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::pid_alive;

/// Prefix of the temp dirs made by [`TempDir::new`]: `beamrc_lt_<pid>_<n>`.
const PREFIX: &str = "beamrc_lt_";

/// A fresh directory under the system temp dir, removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/beamrc_lt_<pid>_<n>`. The first call in a process also sweeps
    /// leftovers of dead test processes (kills what runs under them, removes them).
    pub fn new() -> TempDir {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(sweep_stale);
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        let pid = std::process::id();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("{PREFIX}{pid}_{n}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// `rm -rf`, restoring write permission on directories a test may have made read-only.
pub fn remove_tree(path: &Path) {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+rwX"])
        .arg(path)
        .status();
    if let Err(e) = std::fs::remove_dir_all(path) {
        eprintln!("warning: could not remove {}: {e}", path.display());
    }
}

/// Kills dirs left behind by test processes that no longer exist (e.g. killed by SIGKILL).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let Some(Ok(owner)) = rest.split('_').next().map(str::parse::<i32>) else {
            continue;
        };
        if owner != std::process::id() as i32 && !pid_alive(owner) {
            kill_processes_under(&entry.path());
            remove_tree(&entry.path());
        }
    }
}

/// PIDs (other than ours) whose cmdline or environ mention `dir/`, or whose cwd is in `dir`.
pub fn processes_under(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut needle = dir.as_os_str().as_encoded_bytes().to_vec();
    needle.push(b'/');
    let mut out = Vec::new();
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me || !pid_alive(pid) {
            continue;
        }
        let mentions = |file: &str| {
            std::fs::read(format!("/proc/{pid}/{file}"))
                .map(|b| contains(&b, &needle))
                .unwrap_or(false)
        };
        let cwd_inside = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|c| c.starts_with(&dir))
            .unwrap_or(false);
        if cwd_inside || mentions("cmdline") || mentions("environ") {
            out.push(pid);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Kills, by PID, every process found by [`processes_under`]: SIGTERM, up to 2 s grace,
/// then SIGKILL; repeated a few rounds in case something respawned (heart).
/// Returns the PIDs it signalled.
pub fn kill_processes_under(dir: &Path) -> Vec<i32> {
    // Serialise: two concurrent sweeps would only race each other's signals.
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut signalled = Vec::new();
    for _round in 0..5 {
        let pids = processes_under(dir);
        if pids.is_empty() {
            break;
        }
        for &pid in &pids {
            // SAFETY: plain kill(2) on a PID we just found under our dir.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && pids.iter().any(|&p| pid_alive(p)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for &pid in &pids {
            if pid_alive(pid) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && pids.iter().any(|&p| pid_alive(p)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        signalled.extend(pids);
    }
    signalled
}
