//! Peak memory of a command, measured so that it cannot inherit the parent's figure.
//!
//! `ru_maxrss` from `wait4` is the high-water mark of every memory image the process had,
//! including the one before `execve`: a child started by `posix_spawn`/`vfork` shares the
//! bench's image until it execs, and a forked one starts with a copy of it, so a small
//! program reports the bench's size. Instead the command runs under ptrace with
//! `PTRACE_O_TRACEEXIT`: every process of its tree stops right before it exits, while its
//! (post-exec) image is still there, and we read `VmHWM` from `/proc/PID/status`. The result
//! is the largest `VmHWM` of any process in the tree (the hidden VM, for the script's `rpc`).
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Runs `program args` (stdio on /dev/null) to completion; the largest VmHWM in KiB of any
/// process it started, itself included.
pub fn peak_rss_kib(program: &Path, args: &[&str]) -> u64 {
    let path = CString::new(program.as_os_str().as_bytes()).unwrap();
    let argv: Vec<CString> = std::iter::once(path.clone())
        .chain(args.iter().map(|a| CString::new(*a).unwrap()))
        .collect();
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    // SAFETY: the bench is single-threaded here; the child only calls ptrace, dup2, execv.
    let root = match unsafe { nix::unistd::fork() }.expect("fork") {
        ForkResult::Child => {
            let fd = null.as_raw_fd();
            // SAFETY: dup2 and _exit on integers.
            unsafe {
                libc::dup2(fd, 0);
                libc::dup2(fd, 1);
                libc::dup2(fd, 2);
            }
            let _ = ptrace::traceme();
            let _ = nix::unistd::execv(&path, &argv);
            unsafe { libc::_exit(127) }
        }
        ForkResult::Parent { child } => child,
    };
    // The exec stop.
    match waitpid(root, None) {
        Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {}
        other => panic!("{}: no exec stop: {other:?}", program.display()),
    }
    ptrace::setoptions(
        root,
        // TRACEEXEC: an exec in the tree is an event stop, not a SIGTRAP we would pass on.
        Options::PTRACE_O_TRACEEXIT
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_EXITKILL,
    )
    .expect("PTRACE_SETOPTIONS");
    ptrace::cont(root, None).expect("PTRACE_CONT");
    let mut peak = 0;
    let mut root_status = None;
    loop {
        let status = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::__WALL)) {
            Ok(s) => s,
            Err(nix::errno::Errno::ECHILD) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => panic!("waitpid: {e}"),
        };
        match status {
            WaitStatus::PtraceEvent(pid, _, event) => {
                if event == Event::PTRACE_EVENT_EXIT as i32 {
                    peak = peak.max(vm_hwm_kib(pid));
                }
                let _ = ptrace::cont(pid, None);
            }
            // A new tracee's first stop, and signal-delivery stops (pass the signal on).
            WaitStatus::Stopped(pid, Signal::SIGSTOP) => {
                let _ = ptrace::cont(pid, None);
            }
            WaitStatus::Stopped(pid, sig) => {
                let _ = ptrace::cont(pid, sig);
            }
            WaitStatus::Exited(pid, code) if pid == root => root_status = Some(code),
            WaitStatus::Signaled(pid, sig, _) if pid == root => {
                panic!("{} {args:?} killed by {sig}", program.display())
            }
            _ => {}
        }
    }
    assert_eq!(
        root_status,
        Some(0),
        "{} {args:?} failed under the memory probe",
        program.display()
    );
    peak
}

fn vm_hwm_kib(pid: Pid) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
