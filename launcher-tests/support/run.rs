//! Running programs with captured output and a timeout that kills by PID.

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Timeout used by [`TestRelease::run`](super::TestRelease::run).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for stdout/stderr EOF after the process exited. A daemonised grandchild
/// that kept our pipes open would otherwise block us forever.
const PIPE_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    pub stdout: String,
    pub stderr: String,
    /// Exit code, if the process exited normally.
    pub code: Option<i32>,
    /// Terminating signal, if it was killed by one.
    pub signal: Option<i32>,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the whole output unless the exit code was 0.
    #[track_caller]
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(self.success(), "{what} failed:\n{self}");
        self
    }

    /// Panics with the whole output unless the exit code was `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32, what: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: unexpected exit status:\n{self}"
        );
        self
    }

    fn from_parts(status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> RunOutput {
        RunOutput {
            stdout: String::from_utf8_lossy(stdout).into_owned(),
            stderr: String::from_utf8_lossy(stderr).into_owned(),
            code: status.code(),
            signal: status.signal(),
        }
    }
}

impl fmt::Display for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit code: {:?}, signal: {:?}", self.code, self.signal)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

type Buffer = Arc<Mutex<Vec<u8>>>;

/// A child process whose stdout/stderr are being collected by background threads.
/// Dropping it SIGKILLs the child (by PID) if it is still running, and reaps it.
pub struct Running {
    child: Child,
    description: String,
    stdout: Buffer,
    stderr: Buffer,
    pipes_done: Receiver<()>,
    status: Option<ExitStatus>,
}

/// Spawns `cmd` with stdout/stderr piped into buffers and stdin fed from `stdin`
/// (`None`: `/dev/null`).
pub fn spawn_captured(mut cmd: Command, stdin: Option<&[u8]>) -> Running {
    let description = format!("{cmd:?}");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {description}: {e}"));
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    let (tx, pipes_done) = channel();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers: [(Box<dyn Read + Send>, &Buffer); 2] = [
        (
            Box::new(child.stdout.take().expect("stdout piped")),
            &stdout,
        ),
        (
            Box::new(child.stderr.take().expect("stderr piped")),
            &stderr,
        ),
    ];
    for (mut pipe, buf) in readers {
        let buf = Arc::clone(buf);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
            let _ = tx.send(());
        });
    }
    Running {
        child,
        description,
        stdout,
        stderr,
        pipes_done,
        status: None,
    }
}

/// Runs `cmd` to completion; on timeout SIGKILLs it (by PID) and panics with the output so far.
#[track_caller]
pub fn run_command(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> RunOutput {
    spawn_captured(cmd, stdin).wait(timeout)
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Sends `sig` to the child's PID (no-op once it has been reaped).
    pub fn signal(&self, sig: i32) {
        if self.status.is_none() {
            // SAFETY: kill(2) on our own un-reaped child.
            unsafe { libc::kill(self.pid(), sig) };
        }
    }

    /// Non-blocking: `Some` once the child has exited.
    pub fn try_finish(&mut self) -> Option<RunOutput> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        let status = self.status?;
        // Both readers report EOF, or we give up after the grace period.
        let deadline = Instant::now() + PIPE_GRACE;
        let mut done = 0;
        while done < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.pipes_done.recv_timeout(left) {
                Ok(()) => done += 1,
                Err(_) => break,
            }
        }
        Some(RunOutput::from_parts(
            status,
            &self.stdout.lock().unwrap(),
            &self.stderr.lock().unwrap(),
        ))
    }

    /// Waits up to `timeout`; `None` if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<RunOutput> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(out) = self.try_finish() {
                return Some(out);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits up to `timeout`; on timeout SIGKILLs the child and panics with the output so far.
    #[track_caller]
    pub fn wait(mut self, timeout: Duration) -> RunOutput {
        if let Some(out) = self.wait_timeout(timeout) {
            return out;
        }
        self.kill();
        panic!(
            "timed out after {timeout:?}: {}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.description,
            self.stdout_so_far(),
            self.stderr_so_far()
        );
    }

    /// SIGKILL (by PID) and reap, if still running.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            self.signal(libc::SIGKILL);
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}
