//! PID 1 / init mode: run the VM as our child, forward signals to it (and only to it), reap
//! every orphan, and exit with the VM's status.
//!
//! The shape follows erlinit and tini:
//! * the parent blocks every signal it forwards, and `SIGCHLD`, and reads them from a signalfd
//!   ([`crate::process::signals`]: no handlers, no busy loop), so no signal can kill it while
//!   the VM runs, PID 1 or not; `SIGCHLD` is never `SIG_IGN`, because that would make our own
//!   child's status unobtainable;
//! * forwarded is everything tini forwards: all signals but the synchronous ones, SIGCHLD,
//!   SIGTTIN/SIGTTOU, SIGPIPE (about our own writes) and the uncatchable two;
//! * the child gets its own process group and, when our stdin is a terminal we own, the
//!   terminal's foreground (so a Ctrl-C reaches the VM once, not twice); the parent ignores
//!   `SIGTTIN`/`SIGTTOU` as a background process. The child restores those, resets `SIGPIPE`
//!   and unblocks every signal before `execve`. Signals that *our* parent set to `SIG_IGN`
//!   stay ignored in the VM, as with `exec` (a background job of a non-interactive shell,
//!   for example, starts with SIGINT/SIGQUIT ignored; SIGINT is then never delivered to us);
//! * signals go to the VM's pid only: `erl_child_setup`, port programs and `epmd` are left
//!   alone (OTP's own termination logic depends on that), we only reap them when they are
//!   orphaned to us;
//! * when the VM is gone we return at once, without waiting for other orphans.
//!
//! Socket activation and the watchdog check their PID variables against `getpid()`, so
//! `LISTEN_PID`/`WATCHDOG_PID` equal to *our* pid are rewritten to the child's pid in the
//! child itself, between `fork` and `execve` (as catatonit does). That is why this module
//! forks by hand instead of using `std::process::Command`: std builds the environment block
//! before forking, when the child's pid is not known yet. Between `fork` and `execve` the
//! child makes raw calls on memory prepared before the fork; everything else goes through
//! `nix`.
use crate::plan::ExecSpec;
use crate::process::exec::{exec_error, resolve};
use crate::process::group::owns_foreground_tty;
use crate::process::signals::{self, Inbox, Wake};
use crate::process::user::Credentials;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};
use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::raw::c_char;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::{Duration, Instant};

/// Environment variables rewritten to the child's pid when they name ours.
const PID_VARS: [&str; 2] = ["LISTEN_PID", "WATCHDOG_PID"];

#[derive(Default)]
pub struct InitOptions {
    /// After the first forwarded SIGTERM, SIGKILL the VM when it is still alive after this
    /// long. `None` waits forever.
    pub shutdown_timeout: Option<Duration>,
    /// Called once, in a new thread, with the VM's pid right after it was spawned.
    pub on_spawn: Option<Box<dyn FnOnce(u32) + Send>>,
    /// Called (on the supervisor's thread) each time SIGTERM or SIGINT is forwarded (or a
    /// SIGTERM is held for the stop delay).
    pub on_stop_signal: Option<Box<dyn Fn() + Send + Sync>>,
    /// `BEAMRC_STOP_DELAY`: hold the first SIGTERM this long before forwarding it, so a load
    /// balancer can drain traffic first (a second SIGTERM is forwarded at once).
    pub stop_delay: Option<Duration>,
    /// `BEAMRC_USER`: the child drops to these credentials before `execve`.
    pub credentials: Option<Credentials>,
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
        stop_delay,
        credentials,
    } = opts;
    if !is_pid1() {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            eprintln!(
                "beamrc: warning: cannot become a child subreaper ({e}); processes orphaned by the VM will not be reaped"
            );
        }
    }
    let signals = match SignalState::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR: cannot take signals for the VM: {e}");
            return 1;
        }
    };
    let child = match Prepared::new(spec, credentials)
        .and_then(|p| p.spawn(&signals, owns_foreground_tty()))
    {
        Ok(pid) => pid,
        Err(e) => {
            let err = exec_error(spec, e);
            eprintln!("{}", err.line());
            return err.code();
        }
    };
    if let Some(f) = on_spawn {
        let pid = child.as_raw() as u32;
        if let Err(e) = std::thread::Builder::new()
            .name("beamrc-on-spawn".into())
            .spawn(move || f(pid))
        {
            eprintln!("beamrc: warning: cannot start a thread: {e}");
        }
    }
    Supervisor {
        child,
        inbox: signals.inbox,
        shutdown_timeout,
        on_stop_signal,
        deadline: None,
        term_seen: false,
        stop_delay,
        held: None,
    }
    .run()
}

/// The parent's signal setup, kept so the child can undo it.
struct SignalState {
    inbox: Inbox,
    old_ttin: SigAction,
    old_ttou: SigAction,
}

impl SignalState {
    fn install() -> io::Result<Self> {
        let mut set = signals::forwarded();
        set.add(Signal::SIGCHLD);
        let inbox = Inbox::open(&set)?;
        let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        let ign = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: only SIG_DFL/SIG_IGN dispositions, no handlers.
        unsafe {
            // SIGCHLD must not be SIG_IGN (inherited from whoever started us), or the kernel
            // reaps our child behind our back and waitpid reports ECHILD.
            sigaction(Signal::SIGCHLD, &dfl)?;
            let old_ttin = sigaction(Signal::SIGTTIN, &ign)?;
            let old_ttou = sigaction(Signal::SIGTTOU, &ign)?;
            Ok(SignalState {
                inbox,
                old_ttin,
                old_ttou,
            })
        }
    }
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
    credentials: Option<Credentials>,
}

const PID_SLOT_LEN: usize = 21;

impl Prepared {
    fn new(spec: &ExecSpec, credentials: Option<Credentials>) -> io::Result<Self> {
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
            credentials,
        })
    }

    /// fork + exec; an exec failure comes back through a close-on-exec pipe.
    fn spawn(&self, signals: &SignalState, take_tty: bool) -> io::Result<Pid> {
        let (rfd, wfd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        // SAFETY: the child only makes async-signal-safe calls on memory prepared above.
        let pid = match unsafe { nix::unistd::fork() }? {
            ForkResult::Child => {
                // SAFETY: we are the child of fork.
                unsafe { self.child_exec(signals, take_tty, wfd.as_raw_fd()) }
            }
            ForkResult::Parent { child } => child,
        };
        drop(wfd);
        let mut errno = [0u8; 4];
        let mut reader = std::fs::File::from(rfd);
        if reader.read_exact(&mut errno).is_ok() {
            // exec failed: collect the child so it does not linger as a zombie.
            while waitpid(pid, None) == Err(nix::errno::Errno::EINTR) {}
            return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
        }
        Ok(pid)
    }

    /// In the child: new process group (foreground if we own the terminal), signal state
    /// back to defaults, pid variables filled in, execve. Raw calls only: no allocation, no
    /// locks.
    unsafe fn child_exec(&self, signals: &SignalState, take_tty: bool, wfd: libc::c_int) -> ! {
        unsafe {
            libc::setpgid(0, 0);
            if take_tty {
                // SIGTTOU is ignored (and blocked) here, so a background tcsetpgrp is allowed.
                libc::tcsetpgrp(0, libc::getpgrp());
            }
            let _ = sigaction(Signal::SIGTTIN, &signals.old_ttin);
            let _ = sigaction(Signal::SIGTTOU, &signals.old_ttou);
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);

            let pid = libc::getpid() as u64;
            for &slot in &self.pid_slots {
                write_decimal(slot, pid);
            }

            if let Some(c) = &self.credentials {
                let errno = c.apply();
                if errno != 0 {
                    libc::write(wfd, errno.to_ne_bytes().as_ptr().cast(), 4);
                    libc::_exit(126)
                }
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
    child: Pid,
    inbox: Inbox,
    shutdown_timeout: Option<Duration>,
    on_stop_signal: Option<Box<dyn Fn() + Send + Sync>>,
    deadline: Option<Instant>,
    term_seen: bool,
    stop_delay: Option<Duration>,
    /// A SIGTERM held for the stop delay: when to forward it.
    held: Option<Instant>,
}

impl Supervisor {
    fn run(mut self) -> i32 {
        loop {
            if let Some(code) = self.reap() {
                return code;
            }
            let wake_at = match (self.deadline, self.held) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match self.inbox.next(wake_at, None) {
                Wake::Signal(libc::SIGCHLD) | Wake::Timeout | Wake::Readable => {}
                Wake::Signal(sig) => self.forward(sig),
            }
            if self.held.is_some_and(|t| Instant::now() >= t) {
                self.held = None;
                self.deliver(libc::SIGTERM);
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.deadline = None;
                // The child is not reaped yet, so its pid cannot have been reused.
                let _ = nix::sys::signal::kill(self.child, Signal::SIGKILL);
                let secs = self.shutdown_timeout.unwrap_or_default().as_secs_f64();
                eprintln!("beamrc: the VM did not stop within {secs}s after SIGTERM; killed it");
            }
        }
    }

    /// Collect every exited child; the main child's exit status once it is among them.
    fn reap(&self) -> Option<i32> {
        let mut result = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return result,
                Ok(status) => {
                    if status.pid() == Some(self.child) {
                        result = Some(exit_code(status));
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                // ECHILD: no children at all.
                Err(_) => return result,
            }
        }
    }

    /// A signal for the VM: the first SIGTERM waits out the stop delay, the rest go now.
    fn forward(&mut self, sig: i32) {
        if sig == libc::SIGTERM && !self.term_seen {
            if self.held.take().is_some() {
                // A second SIGTERM during the delay: no more waiting.
            } else if let Some(delay) = self.stop_delay.filter(|d| !d.is_zero()) {
                eprintln!(
                    "beamrc: SIGTERM: forwarding it to the VM in {}s (BEAMRC_STOP_DELAY)",
                    delay.as_secs_f64()
                );
                self.held = Some(Instant::now() + delay);
                if let Some(f) = &self.on_stop_signal {
                    f();
                }
                return;
            }
        }
        self.deliver(sig);
    }

    fn deliver(&mut self, sig: i32) {
        // The child is not reaped yet, so its pid still names it.
        if signals::send(self.child, sig).is_err() {
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
fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => 1,
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
        let p = Prepared::new(&spec, None).unwrap();
        assert_eq!(p.pid_slots.len(), 1);
        assert_eq!(p.envp.len(), 4);
        assert!(p.envp.last().unwrap().is_null());
    }

    #[test]
    fn exit_codes() {
        let pid = Pid::from_raw(2);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 7)), 7);
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            137
        );
    }
}
