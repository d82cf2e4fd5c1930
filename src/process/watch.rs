//! Inspection helpers for `daemon`, `stop`, `pid` and `status`: is a pid alive, wait for it
//! to go, find the `run_erl` daemon of a release, tail its log, run a program to completion.
use crate::plan::ExecSpec;
use crate::process::exec::{command, exec_error};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime};

/// Whether `pid` names a live process: `kill(pid, 0)` succeeds (or fails with EPERM) and the
/// process is not a zombie. Pid 0 and pids that do not fit a `pid_t` are never alive.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    if unsafe { libc::kill(raw, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM)
    {
        return false;
    }
    // A zombie has exited; without /proc we trust kill.
    !matches!(proc_state(pid), Some('Z' | 'X'))
}

/// Wait until `pid` is gone (see [`pid_alive`]), polling with a backoff from 1 ms to 50 ms.
/// Returns false when `timeout` expired first; `None` waits forever.
pub fn wait_pid_gone(pid: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut step = Duration::from_millis(1);
    loop {
        if !pid_alive(pid) {
            return true;
        }
        let mut sleep = step;
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            sleep = sleep.min(deadline - now);
        }
        std::thread::sleep(sleep);
        step = (step * 2).min(Duration::from_millis(50));
    }
}

/// The pid of a running `run_erl -daemon PIPE_DIR/ LOG_DIR/ CMD`, found by scanning
/// `/proc/*/cmdline` for an argv whose program is named `run_erl`, followed by `-daemon` and
/// exactly `pipe_dir_with_slash`. A script interpreter in front (`/bin/sh …/run_erl -daemon …`)
/// is accepted too. Zombies are skipped; when several match (the moment `run_erl` forks),
/// the one started first wins (ties: the lowest pid). Our own pid is never returned.
pub fn find_run_erl(pipe_dir_with_slash: &OsStr) -> Option<u32> {
    let me = std::process::id();
    let mut best: Option<(u64, u32)> = None;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if !is_run_erl_daemon(&cmdline, pipe_dir_with_slash.as_bytes()) {
            continue;
        }
        let Some((state, start)) = proc_stat(pid) else {
            continue;
        };
        if matches!(state, 'Z' | 'X') {
            continue;
        }
        if best.is_none_or(|b| (start, pid) < b) {
            best = Some((start, pid));
        }
    }
    best.map(|(_, pid)| pid)
}

fn is_run_erl_daemon(cmdline: &[u8], pipe_dir: &[u8]) -> bool {
    let argv: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    (0..2).any(|i| {
        argv.len() > i + 2
            && basename(argv[i]) == b"run_erl"
            && argv[i + 1] == b"-daemon"
            && argv[i + 2] == pipe_dir
    })
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// State letter and start time (clock ticks since boot) from `/proc/PID/stat`.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid …": comm may contain spaces and parens, so split after the last ')'.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 22 (starttime) is the 20th after the state.
    let start = fields.nth(18).and_then(|s| s.parse().ok()).unwrap_or(0);
    Some((state, start))
}

fn proc_state(pid: u32) -> Option<char> {
    proc_stat(pid).map(|(state, _)| state)
}

/// The last `n` lines of the newest `erlang.log.N` (by modification time; ties: the higher N)
/// in a `run_erl` log directory, banner lines included. `None` when there is no such file.
/// Only the last 1 MiB of the file is read.
pub fn log_tail(log_dir: &Path, n: usize) -> Option<String> {
    let newest = newest_log(log_dir)?;
    let mut file = fs::File::open(newest).ok()?;
    let len = file.metadata().ok()?.len();
    const MAX: u64 = 1 << 20;
    if len > MAX {
        file.seek(SeekFrom::Start(len - MAX)).ok()?;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    if len > MAX {
        // Drop the partial first line.
        let first_nl = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| p + 1);
        bytes.drain(..first_nl);
    }
    let text = String::from_utf8_lossy(&bytes);
    if n == 0 {
        return Some(String::new());
    }
    // Start of the last n lines (a trailing newline does not start another line).
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let start = body
        .rmatch_indices('\n')
        .nth(n - 1)
        .map_or(0, |(i, _)| i + 1);
    Some(text[start..].to_string())
}

fn newest_log(log_dir: &Path) -> Option<PathBuf> {
    let mut best: Option<(SystemTime, u64, PathBuf)> = None;
    for entry in fs::read_dir(log_dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(num) = name
            .to_str()
            .and_then(|s| s.strip_prefix("erlang.log."))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if best
            .as_ref()
            .is_none_or(|(t, k, _)| (mtime, num) > (*t, *k))
        {
            best = Some((mtime, num, entry.path()));
        }
    }
    best.map(|(_, _, path)| path)
}

/// Run a program to completion with inherited stdio and a clean signal state (for
/// `run_erl -daemon`, which forks and exits 0).
pub fn run(spec: &ExecSpec) -> Result<ExitStatus, crate::Error> {
    let mut child = command(spec)
        .and_then(|mut c| c.spawn())
        .map_err(|e| exec_error(spec, e))?;
    child
        .wait()
        .map_err(|e| crate::Error::io(format!("waiting for {}", spec.program.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn alive_self_child_dead() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let pid = child.id();
        assert!(pid_alive(pid));
        assert!(!wait_pid_gone(pid, Some(Duration::from_millis(30))));
        child.kill().unwrap();
        // Not reaped yet: a zombie counts as gone.
        assert!(wait_pid_gone(pid, Some(Duration::from_secs(5))));
        assert!(!pid_alive(pid));
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }

    #[test]
    fn cmdline_matching() {
        let p = b"/x/pipe/";
        assert!(is_run_erl_daemon(
            b"/erts/bin/run_erl\0-daemon\0/x/pipe/\0/x/log/\0exec erl\0",
            p
        ));
        assert!(is_run_erl_daemon(
            b"run_erl\0-daemon\0/x/pipe/\0/x/log/\0cmd\0",
            p
        ));
        assert!(is_run_erl_daemon(
            b"/bin/sh\0/tmp/run_erl\0-daemon\0/x/pipe/\0/l/\0c\0",
            p
        ));
        assert!(!is_run_erl_daemon(
            b"run_erl\0-daemon\0/x/pipe\0/x/log/\0cmd\0",
            p
        ));
        assert!(!is_run_erl_daemon(b"to_erl\0/x/pipe/\0", p));
        assert!(!is_run_erl_daemon(b"run_erl\0/x/pipe/\0/x/log/\0cmd\0", p));
        assert!(!is_run_erl_daemon(b"", p));
    }

    #[test]
    fn finds_a_fake_run_erl() {
        let dir = std::env::temp_dir().join(format!("beamrc-watch-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let script = dir.join("run_erl");
        fs::write(&script, "sleep 5\n").unwrap();
        let pipe = format!("{}/pipe/", dir.display());
        let mut child = Command::new("/bin/sh")
            .arg(&script)
            .args(["-daemon", &pipe, "/x/log/", "exec erl"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let found = loop {
            if let Some(pid) = find_run_erl(OsStr::new(&pipe)) {
                break Some(pid);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(find_run_erl(OsStr::new(&format!("{}/other/", dir.display()))).is_none());
        assert!(find_run_erl(OsStr::new(pipe.trim_end_matches('/'))).is_none());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, Some(child.id()));
        assert!(find_run_erl(OsStr::new(&pipe)).is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tails_the_newest_log() {
        let dir = std::env::temp_dir().join(format!("beamrc-logs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(log_tail(&dir, 3), None);
        fs::write(dir.join("erlang.log.2"), "old\n").unwrap();
        let f = fs::File::options()
            .write(true)
            .open(dir.join("erlang.log.2"))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        fs::write(
            dir.join("erlang.log.1"),
            "=====\n===== LOGGING STARTED\na\nb\nc\n",
        )
        .unwrap();
        fs::write(dir.join("erlang.log.x"), "ignored\n").unwrap();
        fs::write(dir.join("run_erl.log"), "ignored\n").unwrap();
        assert_eq!(log_tail(&dir, 2).as_deref(), Some("b\nc\n"));
        assert_eq!(
            log_tail(&dir, 100).as_deref(),
            Some("=====\n===== LOGGING STARTED\na\nb\nc\n")
        );
        assert_eq!(log_tail(&dir, 0).as_deref(), Some(""));
        fs::write(dir.join("erlang.log.1"), "no newline at end\nlast").unwrap();
        assert_eq!(log_tail(&dir, 1).as_deref(), Some("last"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn run_reports_status_and_exec_errors() {
        let spec = |program: &str, args: &[&str]| ExecSpec {
            program: program.into(),
            argv: args.iter().map(Into::into).collect(),
            env: [("PATH", "/usr/bin:/bin")].into_iter().collect(),
        };
        assert_eq!(
            run(&spec("sh", &["sh", "-c", "exit 3"])).unwrap().code(),
            Some(3)
        );
        assert_eq!(
            run(&spec("no-such-prog-xyz", &["x"])).unwrap_err().code(),
            127
        );
    }
}
