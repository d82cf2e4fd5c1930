//! Looking at processes and logs from outside: is a pid alive, which pid is our run_erl,
//! what did the VM last write.
use crate::Result;
use crate::plan::ExecSpec;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The process exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the last ')' (the command name may contain parentheses).
            let after = stat
                .iter()
                .rposition(|&b| b == b')')
                .map(|i| &stat[i + 1..]);
            !matches!(after, Some(rest) if rest.trim_ascii_start().starts_with(b"Z"))
        }
        Err(_) => false,
    }
}

/// The pid of the `run_erl -daemon PIPE/ …` serving `pipe_dir_with_slash`.
pub fn find_run_erl(pipe_dir_with_slash: &OsStr) -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            if pid == me {
                return None;
            }
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let mut args = cmdline.split(|&b| b == 0);
            let program = args.next()?;
            let is_run_erl = program.ends_with(b"run_erl");
            (is_run_erl
                && args.next()? == b"-daemon"
                && args.next()? == pipe_dir_with_slash.as_bytes())
            .then_some(pid)
        })
}

/// The newest `erlang.log.N` of a run_erl log directory and its last `n` lines.
pub fn log_tail(log_dir: &Path, n: usize) -> Option<(PathBuf, String)> {
    let newest = std::fs::read_dir(log_dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("erlang.log."))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?
        .path();
    let text = std::fs::read(&newest).ok()?;
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(n)..].join("\n");
    Some((newest, tail))
}

/// Runs a program to completion with our stdio (for `run_erl -daemon`, which forks and exits).
pub fn run(spec: &ExecSpec) -> Result<std::process::ExitStatus> {
    let mut cmd = std::process::Command::new(&spec.program);
    if let Some(a0) = spec.argv.first() {
        cmd.arg0(a0);
    }
    cmd.args(spec.argv.iter().skip(1))
        .env_clear()
        .envs(spec.env.iter())
        .status()
        .map_err(|e| crate::process::exec::exec_error(spec, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive_and_dead() {
        assert!(pid_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // exited but not reaped yet: a zombie counts as gone
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!pid_alive(pid));
        child.wait().unwrap();
        assert!(!pid_alive(pid));
    }

    #[test]
    fn tail_of_the_newest_log() {
        let dir = std::env::temp_dir().join(format!("beamrc-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("erlang.log.1"), "old\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("erlang.log.2"), "a\nb\nc\n").unwrap();
        let (path, tail) = log_tail(&dir, 2).unwrap();
        assert!(path.ends_with("erlang.log.2"));
        assert_eq!(tail, "b\nc");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
