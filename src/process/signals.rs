//! Signals taken synchronously: a blocked set read through a `signalfd`, never a handler.
//!
//! Both places where beamrc stands between a signal and a process it started use this: the
//! init supervisor (the VM) and the env.sh runner (the shell's process group). Blocking instead
//! of handling means a signal can never kill us half-way, needs no async-signal-safe code, and
//! leaves every disposition as it was (so `exec` hands the VM the same state; see
//! [`crate::process::exec`]).
//!
//! What is forwarded follows tini: everything but
//! * the synchronous signals (SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS), which
//!   are about our own faults,
//! * the job-control ones we handle ourselves: SIGCHLD (reaping), SIGTTIN/SIGTTOU (ignored by a
//!   background supervisor), SIGKILL/SIGSTOP (cannot be caught),
//! * SIGPIPE, which the Rust runtime ignores: it would only ever be about our own writes.
//!
//! Real-time signals are forwarded too; `nix::sys::signal::Signal` cannot name them, so they
//! are sent by number.
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

/// Never forwarded (see the module documentation).
const NOT_FORWARDED: [Signal; 13] = [
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGCHLD,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGKILL,
    Signal::SIGSTOP,
    Signal::SIGPIPE,
];

/// Every signal we pass on to what we started.
pub(crate) fn forwarded() -> SigSet {
    let mut set = SigSet::all();
    for sig in NOT_FORWARDED {
        set.remove(sig);
    }
    set
}

/// Whether a signal's default action ends the process (so a launcher sent it was asked to
/// stop). SIGWINCH, SIGURG, SIGCONT, SIGCHLD are ignored by default, SIGTSTP/SIGSTOP and
/// SIGTTIN/SIGTTOU stop; everything else, real-time signals included, terminates.
pub(crate) fn terminates_by_default(signo: i32) -> bool {
    !matches!(
        Signal::try_from(signo),
        Ok(Signal::SIGWINCH
            | Signal::SIGURG
            | Signal::SIGCONT
            | Signal::SIGCHLD
            | Signal::SIGTSTP
            | Signal::SIGSTOP
            | Signal::SIGTTIN
            | Signal::SIGTTOU)
    )
}

/// Send `signo` to `pid` (a negative pid: to that process group).
pub(crate) fn send(pid: Pid, signo: i32) -> nix::Result<()> {
    match Signal::try_from(signo) {
        Ok(sig) => nix::sys::signal::kill(pid, sig),
        // SAFETY: kill(2) with integer arguments; nix has no type for real-time signals.
        Err(_) => Errno::result(unsafe { libc::kill(pid.as_raw(), signo) }).map(drop),
    }
}

/// Blocked signals, delivered through a close-on-exec signalfd.
pub(crate) struct Inbox {
    fd: SignalFd,
    old_mask: SigSet,
}

/// What [`Inbox::next`] woke up for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    Signal(i32),
    /// The extra descriptor is readable (or closed).
    Readable,
    Timeout,
}

impl Inbox {
    /// Block `set` in the calling thread (threads started later inherit it) and open a
    /// signalfd for it. Signals that were already pending are read first.
    ///
    /// Call before starting other threads: a process-directed signal is delivered to any thread
    /// that does not block it, and there it takes its default action.
    pub(crate) fn open(set: &SigSet) -> io::Result<Inbox> {
        let mut old_mask = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(set), Some(&mut old_mask))?;
        match SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => Ok(Inbox { fd, old_mask }),
            Err(e) => {
                let _ = old_mask.thread_set_mask();
                Err(e.into())
            }
        }
    }

    /// Wait for a signal, for `also` to become readable, or for `deadline`. EINTR (a stop and
    /// continue, for example) is a spurious wake-up reported as `Timeout` before the deadline.
    pub(crate) fn next(&self, deadline: Option<Instant>, also: Option<BorrowedFd<'_>>) -> Wake {
        if let Some(signo) = self.take() {
            return Wake::Signal(signo);
        }
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so we do not spin on a sub-millisecond remainder.
                let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
                PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = also {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(0) | Err(_) => Wake::Timeout,
            Ok(_) => {
                let extra = fds
                    .get(1)
                    .and_then(|f| f.revents())
                    .is_some_and(|r| !r.is_empty());
                match self.take() {
                    Some(signo) => Wake::Signal(signo),
                    None if extra => Wake::Readable,
                    None => Wake::Timeout,
                }
            }
        }
    }

    /// The mask before [`Inbox::open`] (for a child to start with).
    pub(crate) fn old_mask(&self) -> SigSet {
        self.old_mask
    }

    /// One pending signal, if any.
    fn take(&self) -> Option<i32> {
        match self.fd.read_signal() {
            Ok(Some(info)) => Some(info.ssi_signo as i32),
            _ => None,
        }
    }

    /// Close the signalfd and put the signal mask back as it was before [`Inbox::open`].
    /// Signals that arrived and were not read stay pending and are delivered now.
    pub(crate) fn close(self) {
        let _ = self.old_mask.thread_set_mask();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarded_set_is_tinis() {
        let set = forwarded();
        for sig in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGALRM,
            Signal::SIGUSR1,
            Signal::SIGPWR,
            Signal::SIGWINCH,
            Signal::SIGTSTP,
            Signal::SIGCONT,
        ] {
            assert!(set.contains(sig), "{sig}");
        }
        for sig in NOT_FORWARDED {
            assert!(!set.contains(sig), "{sig}");
        }
        // SigSet::all() includes the real-time signals.
        let raw = set.as_ref();
        // SAFETY: sigismember on an initialised set.
        assert_eq!(unsafe { libc::sigismember(raw, libc::SIGRTMAX()) }, 1);
    }

    #[test]
    fn default_actions() {
        assert!(terminates_by_default(libc::SIGTERM));
        assert!(terminates_by_default(libc::SIGALRM));
        assert!(terminates_by_default(libc::SIGRTMIN()));
        assert!(!terminates_by_default(libc::SIGWINCH));
        assert!(!terminates_by_default(libc::SIGTSTP));
    }

    /// Runs `inbox_probe` alone (signals are per process).
    #[test]
    fn inbox_in_a_clean_process() {
        crate::process::run_test_alone("process::signals::tests::inbox_probe");
    }

    #[test]
    #[ignore = "run by inbox_in_a_clean_process"]
    fn inbox_probe() {
        let inbox = Inbox::open(&forwarded()).unwrap();
        // Thread-directed (libtest may run this test in a thread of its own; a process-directed
        // signal could go to the main thread, which does not block it).
        // SAFETY: raise(3) with valid signal numbers.
        unsafe {
            assert_eq!(libc::raise(libc::SIGALRM), 0);
            assert_eq!(libc::raise(libc::SIGRTMIN() + 2), 0);
        }
        let soon = Some(Instant::now() + std::time::Duration::from_secs(5));
        let mut got = vec![];
        for _ in 0..2 {
            match inbox.next(soon, None) {
                Wake::Signal(s) => got.push(s),
                other => panic!("{other:?}"),
            }
        }
        got.sort();
        assert_eq!(got, [libc::SIGALRM, libc::SIGRTMIN() + 2]);
        let now = Some(Instant::now());
        assert_eq!(inbox.next(now, None), Wake::Timeout);
        inbox.close();
        assert!(!SigSet::thread_get_mask().unwrap().contains(Signal::SIGALRM));
    }
}
