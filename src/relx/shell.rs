//! The effectful half of [`super::hooks`]: run a hook program in `/bin/sh`, handing it the
//! text through fd 3 (`sh /dev/fd/3`) and watching fd 4 for the completion byte.
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::environment::EnvMap;
use crate::{Error, Result};

/// How the hook shell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Everything was sourced and returned.
    Completed,
    /// A hook/extension ended the shell (`exit N`, or a failing command under `set -e`).
    Exited(i32),
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints; pipe2 fills both on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::io(
            "cannot create a pipe",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Runs `program` in `/bin/sh` with `env`, cwd `dir`, `$0` = `name`.
pub fn run(program: &str, env: &EnvMap, dir: &std::path::Path, name: &str) -> Result<Ended> {
    let (script_r, script_w) = pipe()?;
    let (done_r, done_w) = pipe()?;
    let (sr, dw) = (script_r.as_raw_fd(), done_w.as_raw_fd());
    let mut cmd = Command::new("/bin/sh");
    cmd.arg0(name)
        .arg("/dev/fd/3")
        .env_clear()
        .envs(env.iter())
        .current_dir(dir);
    // SAFETY: only async-signal-safe calls (dup2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Move both above 9 first: either may already be 3 or 4 (then dup2 would be a
            // no-op leaving close-on-exec set, or would clobber the other one).
            let s = libc::fcntl(sr, libc::F_DUPFD_CLOEXEC, 10);
            let d = libc::fcntl(dw, libc::F_DUPFD_CLOEXEC, 10);
            if s < 0 || d < 0 || libc::dup2(s, 3) < 0 || libc::dup2(d, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("cannot start /bin/sh for the hooks", e))?;
    drop(script_r);
    drop(done_w);
    {
        let mut w = std::fs::File::from(script_w);
        let _ = w.write_all(program.as_bytes());
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("cannot wait for the hook shell", e))?;
    // Non-blocking: a background process started by a hook may still hold fd 4 open.
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(done_r.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut marker = [0u8; 1];
    let got = std::fs::File::from(done_r).read(&mut marker).unwrap_or(0);
    Ok(if got == 1 && marker[0] == b'x' {
        Ended::Completed
    } else {
        Ended::Exited(crate::process::exit_code(status))
    })
}
