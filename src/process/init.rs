//! PID 1 / init mode: run the VM as our child, forward signals to it (and only to it), reap
//! every orphan, and exit with the VM's status.
//!
//! The shape follows erlinit and tini:
//! * the parent blocks the forwarded signals and `SIGCHLD` and takes them synchronously with
//!   `sigwaitinfo`/`sigtimedwait` (no handlers, no busy loop); `SIGCHLD` is never `SIG_IGN`,
//!   because that would make our own child's status unobtainable;
//! * the child gets its own process group and, when our stdin is a terminal we own, the
//!   terminal's foreground (so a Ctrl-C reaches the VM once, not twice); the parent ignores
//!   `SIGTTIN`/`SIGTTOU` as a background process. The child restores those, resets `SIGPIPE`
//!   and unblocks every signal before `execve`. Signals that *our* parent set to `SIG_IGN`
//!   stay ignored in the VM, as with `exec` (a background job of a non-interactive shell,
//!   for example, starts with SIGINT/SIGQUIT ignored; SIGINT is then forwarded but ignored);
//! * signals go to the VM's pid only: `erl_child_setup`, port programs and `epmd` are left
//!   alone (OTP's own termination logic depends on that), we only reap them when they are
//!   orphaned to us;
//! * when the VM is gone we return at once, without waiting for other orphans.
//!
//! Socket activation and the watchdog check their PID variables against `getpid()`, so
//! `LISTEN_PID`/`WATCHDOG_PID` equal to *our* pid are rewritten to the child's pid in the
//! child itself, between `fork` and `execve` (as catatonit does). That is why this module
//! forks by hand instead of using `std::process::Command`: std builds the environment block
//! before forking, when the child's pid is not known yet.
use crate::plan::ExecSpec;
use crate::process::exec::{exec_error, resolve};
use std::ffi::CString;
use std::io;
use std::os::raw::c_char;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

/// Signals forwarded to the VM.
pub const FORWARDED_SIGNALS: [libc::c_int; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Environment variables rewritten to the child's pid when they name ours.
const PID_VARS: [&str; 2] = ["LISTEN_PID", "WATCHDOG_PID"];

#[derive(Default)]
pub struct InitOptions {
    /// After the first forwarded SIGTERM, SIGKILL the VM when it is still alive after this
    /// long. `None` waits forever.
    pub shutdown_timeout: Option<Duration>,
    /// Called once, in a new thread, with the VM's pid right after it was spawned.
    pub on_spawn: Option<Box<dyn FnOnce(u32) + Send>>,
    /// Called (on the supervisor's thread) each time SIGTERM or SIGINT is forwarded.
    pub on_stop_signal: Option<Box<dyn Fn() + Send + Sync>>,
}

/// Whether we are the init process of our PID namespace.
pub fn is_pid1() -> bool {
    std::process::id() == 1
}

/// Spawn the VM and supervise it until it exits; returns the exit status for our own exit:
/// the VM's exit code, or 128 + N when a signal N killed it (126/127 when it could not be
/// started; the reason is printed on stderr).
///
/// Call this before starting any other thread: the forwarded signals are blocked only in the
/// calling thread (and the threads it starts later), and a process-directed signal delivered
/// to an older thread would take its default action. The signals stay blocked when this
/// returns, so a late SIGTERM cannot kill us before we exit with the VM's status: exit right
/// away with the returned code.
pub fn supervise(spec: &ExecSpec, opts: InitOptions) -> i32 {
    let InitOptions {
        shutdown_timeout,
        on_spawn,
        on_stop_signal,
    } = opts;
    if !is_pid1() {
        // SAFETY: plain prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            eprintln!(
                "beamrc: warning: cannot become a child subreaper ({}); processes orphaned by the VM will not be reaped",
                io::Error::last_os_error()
            );
        }
    }
    let signals = SignalState::install();
    let child = match Prepared::new(spec).and_then(|p| p.spawn(&signals, owns_foreground_tty())) {
        Ok(pid) => pid,
        Err(e) => {
            let err = exec_error(spec, e);
            eprintln!("{}", err.line());
            return err.code();
        }
    };
    if let Some(f) = on_spawn {
        let pid = child as u32;
        if let Err(e) = std::thread::Builder::new()
            .name("beamrc-on-spawn".into())
            .spawn(move || f(pid))
        {
            eprintln!("beamrc: warning: cannot start a thread: {e}");
        }
    }
    Supervisor {
        child,
        set: signals.set,
        shutdown_timeout,
        on_stop_signal,
        deadline: None,
        term_seen: false,
    }
    .run()
}

/// The parent's signal setup, kept so the child can undo it.
struct SignalState {
    set: libc::sigset_t,
    old_ttin: libc::sigaction,
    old_ttou: libc::sigaction,
}

impl SignalState {
    fn install() -> Self {
        // SAFETY: sigset/sigaction calls on properly initialised local structs.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in FORWARDED_SIGNALS.iter().chain(&[libc::SIGCHLD]) {
                libc::sigaddset(&mut set, *sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());

            // SIGCHLD must not be SIG_IGN (inherited from whoever started us), or the kernel
            // reaps our child behind our back and waitpid reports ECHILD.
            let mut chld: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut chld);
            if chld.sa_sigaction == libc::SIG_IGN {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGCHLD, &dfl, std::ptr::null_mut());
            }

            let mut ign: libc::sigaction = std::mem::zeroed();
            ign.sa_sigaction = libc::SIG_IGN;
            let mut old_ttin: libc::sigaction = std::mem::zeroed();
            let mut old_ttou: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGTTIN, &ign, &mut old_ttin);
            libc::sigaction(libc::SIGTTOU, &ign, &mut old_ttou);
            SignalState {
                set,
                old_ttin,
                old_ttou,
            }
        }
    }
}

/// Whether stdin is a terminal whose foreground process group is ours (then the child takes
/// the foreground). Never steal a terminal we are in the background of.
fn owns_foreground_tty() -> bool {
    // SAFETY: simple queries on fd 0.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Everything the child needs, allocated before `fork` (the child may only make
/// async-signal-safe calls: no allocation).
struct Prepared {
    path: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _env: Vec<Vec<u8>>,
    envp: Vec<*const c_char>,
    /// Where to write the child's pid in decimal (room for 20 digits and the NUL).
    pid_slots: Vec<*mut u8>,
}

const PID_SLOT_LEN: usize = 21;

impl Prepared {
    fn new(spec: &ExecSpec) -> io::Result<Self> {
        fn nul<E>(_: E) -> io::Error {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "argument or environment contains a NUL byte",
            )
        }
        let path = CString::new(
            resolve(&spec.program, &spec.env)?
                .into_os_string()
                .into_vec(),
        )
        .map_err(nul)?;
        let argv: Vec<CString> = if spec.argv.is_empty() {
            vec![CString::new(spec.program.as_os_str().as_bytes()).map_err(nul)?]
        } else {
            spec.argv
                .iter()
                .map(|a| CString::new(a.as_bytes()).map_err(nul))
                .collect::<io::Result<_>>()?
        };
        let argv_ptrs = argv
            .iter()
            .map(|a| a.as_ptr())
            .chain([std::ptr::null()])
            .collect();

        let our_pid = std::process::id().to_string();
        let mut env: Vec<Vec<u8>> = Vec::with_capacity(spec.env.len());
        let mut slot_offsets = Vec::new();
        for (k, v) in spec.env.iter() {
            let (k, v) = (k.as_bytes(), v.as_bytes());
            if k.contains(&0) || v.contains(&0) {
                return Err(nul(()));
            }
            let mut entry = Vec::with_capacity(k.len() + v.len() + PID_SLOT_LEN + 2);
            entry.extend_from_slice(k);
            entry.push(b'=');
            if PID_VARS.iter().any(|p| p.as_bytes() == k) && v == our_pid.as_bytes() {
                slot_offsets.push((env.len(), entry.len()));
                entry.extend_from_slice(&[0; PID_SLOT_LEN]);
            } else {
                entry.extend_from_slice(v);
                entry.push(0);
            }
            env.push(entry);
        }
        let pid_slots = slot_offsets
            .iter()
            // SAFETY: the offset is inside the entry, which has PID_SLOT_LEN bytes from there.
            .map(|&(i, off)| unsafe { env[i].as_mut_ptr().add(off) })
            .collect();
        let envp = env
            .iter()
            .map(|e| e.as_ptr().cast())
            .chain([std::ptr::null()])
            .collect();
        Ok(Prepared {
            path,
            _argv: argv,
            argv_ptrs,
            _env: env,
            envp,
            pid_slots,
        })
    }

    /// fork + exec; an exec failure comes back through a close-on-exec pipe.
    fn spawn(&self, signals: &SignalState, take_tty: bool) -> io::Result<libc::pid_t> {
        let mut fds = [0; 2];
        // SAFETY: fds is a valid 2-element array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let (rfd, wfd) = (fds[0], fds[1]);
        // SAFETY: the child only makes async-signal-safe calls on memory prepared above.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            let e = io::Error::last_os_error();
            // SAFETY: closing our own fds.
            unsafe {
                libc::close(rfd);
                libc::close(wfd);
            }
            return Err(e);
        }
        if pid == 0 {
            // SAFETY: we are the child of fork.
            unsafe { self.child_exec(signals, take_tty, wfd) }
        }
        // SAFETY: closing/reading our own fds into a local buffer.
        unsafe {
            libc::close(wfd);
            let mut errno = [0u8; 4];
            let mut got = 0;
            while got < 4 {
                let n = libc::read(rfd, errno[got..].as_mut_ptr().cast(), 4 - got);
                if n > 0 {
                    got += n as usize;
                } else if n == 0 || *libc::__errno_location() != libc::EINTR {
                    break;
                }
            }
            libc::close(rfd);
            if got == 4 {
                // exec failed: collect the child so it does not linger as a zombie.
                let mut status = 0;
                while libc::waitpid(pid, &mut status, 0) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
            }
        }
        Ok(pid)
    }

    /// In the child: new process group (foreground if we own the terminal), signal state
    /// back to defaults, pid variables filled in, execve.
    unsafe fn child_exec(&self, signals: &SignalState, take_tty: bool, wfd: libc::c_int) -> ! {
        unsafe {
            libc::setpgid(0, 0);
            if take_tty {
                // SIGTTOU is ignored (and blocked) here, so a background tcsetpgrp is allowed.
                libc::tcsetpgrp(0, libc::getpgrp());
            }
            libc::sigaction(libc::SIGTTIN, &signals.old_ttin, std::ptr::null_mut());
            libc::sigaction(libc::SIGTTOU, &signals.old_ttou, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);

            let pid = libc::getpid() as u64;
            for &slot in &self.pid_slots {
                write_decimal(slot, pid);
            }

            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp.as_ptr(),
            );
            let errno = (*libc::__errno_location()).to_ne_bytes();
            libc::write(wfd, errno.as_ptr().cast(), 4);
            libc::_exit(127)
        }
    }
}

/// Write `n` in decimal followed by a NUL at `slot` (which has PID_SLOT_LEN bytes).
/// Async-signal-safe: no allocation.
unsafe fn write_decimal(slot: *mut u8, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        // SAFETY: len <= 20 < PID_SLOT_LEN.
        unsafe { *slot.add(i) = digits[len - 1 - i] };
    }
    // SAFETY: as above.
    unsafe { *slot.add(len) = 0 };
}

struct Supervisor {
    child: libc::pid_t,
    set: libc::sigset_t,
    shutdown_timeout: Option<Duration>,
    on_stop_signal: Option<Box<dyn Fn() + Send + Sync>>,
    deadline: Option<Instant>,
    term_seen: bool,
}

enum Wake {
    Signal(libc::c_int),
    Timeout,
    Interrupted,
}

impl Supervisor {
    fn run(mut self) -> i32 {
        loop {
            if let Some(code) = self.reap() {
                return code;
            }
            match self.wait() {
                Wake::Signal(libc::SIGCHLD) | Wake::Interrupted => {}
                Wake::Signal(sig) => self.forward(sig),
                Wake::Timeout => {}
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.deadline = None;
                // SAFETY: the child is not reaped yet, so its pid cannot have been reused.
                unsafe { libc::kill(self.child, libc::SIGKILL) };
                let secs = self.shutdown_timeout.unwrap_or_default().as_secs_f64();
                eprintln!("beamrc: the VM did not stop within {secs}s after SIGTERM; killed it");
            }
        }
    }

    /// Collect every exited child; the main child's exit status once it is among them.
    fn reap(&self) -> Option<i32> {
        let mut result = None;
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid > 0 {
                if pid == self.child {
                    result = Some(exit_code(status));
                }
            } else if pid == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // 0: children left but none exited; ECHILD: no children at all.
                return result;
            }
        }
    }

    fn wait(&self) -> Wake {
        // SAFETY: siginfo_t is plain data; set is initialised; the timespec is local.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            match self.deadline {
                None => libc::sigwaitinfo(&self.set, &mut info),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let ts = libc::timespec {
                        tv_sec: left.as_secs().min(i32::MAX as u64) as libc::time_t,
                        tv_nsec: left.subsec_nanos() as libc::c_long,
                    };
                    libc::sigtimedwait(&self.set, &mut info, &ts)
                }
            }
        };
        if r > 0 {
            Wake::Signal(r)
        } else if io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
            Wake::Timeout
        } else {
            Wake::Interrupted
        }
    }

    fn forward(&mut self, sig: libc::c_int) {
        // SAFETY: the child is not reaped yet, so its pid still names it.
        if unsafe { libc::kill(self.child, sig) } != 0 {
            return;
        }
        if sig == libc::SIGTERM || sig == libc::SIGINT {
            if let Some(f) = &self.on_stop_signal {
                f();
            }
        }
        if sig == libc::SIGTERM && !self.term_seen {
            self.term_seen = true;
            self.deadline = self.shutdown_timeout.map(|t| Instant::now() + t);
        }
    }
}

/// A wait status as a shell reports it: the exit code, or 128 + signal.
fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        let mut buf = [0xffu8; PID_SLOT_LEN];
        for (n, text) in [
            (0u64, "0"),
            (7, "7"),
            (4194304, "4194304"),
            (u64::MAX, "18446744073709551615"),
        ] {
            unsafe { write_decimal(buf.as_mut_ptr(), n) };
            let end = buf.iter().position(|&b| b == 0).unwrap();
            assert_eq!(&buf[..end], text.as_bytes());
        }
    }

    #[test]
    fn pid_vars_get_a_slot_only_when_they_name_us() {
        let me = std::process::id().to_string();
        let spec = ExecSpec {
            program: "/bin/true".into(),
            argv: vec!["true".into()],
            env: [
                ("LISTEN_PID", me.as_str()),
                ("WATCHDOG_PID", "1"),
                ("LISTEN_FDS", me.as_str()),
            ]
            .into_iter()
            .collect(),
        };
        let p = Prepared::new(&spec).unwrap();
        assert_eq!(p.pid_slots.len(), 1);
        assert_eq!(p.envp.len(), 4);
        assert!(p.envp.last().unwrap().is_null());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(7 << 8), 7);
        assert_eq!(exit_code(libc::SIGKILL), 137);
    }
}
