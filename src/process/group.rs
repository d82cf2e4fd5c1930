//! A child in a process group of its own that receives the signals we are sent, so nothing
//! it started outlives a launcher that was asked to stop (the env.sh shell and its children).
//!
//! * The child leads a new process group and, when our stdin is a terminal whose foreground
//!   we own, takes the foreground (so env.sh can still read a password from the terminal, and a
//!   Ctrl-C reaches the shell's group once); we take it back when it is done.
//! * While it runs we block every forwarded signal ([`signals::forwarded`]) and read them from a
//!   signalfd. A signal whose default action is to terminate (SIGTERM, SIGINT, SIGHUP, …) is
//!   sent to the whole group; we then wait up to [`GRACE`] for the group to be gone, SIGKILL
//!   what is left, and report 128 + N. Other signals (SIGWINCH, SIGCONT, SIGTSTP, …) are only
//!   passed on.
//! * When we are done with it the signal mask is restored, so later phases (and the program we
//!   exec) see the dispositions we were started with.
use crate::process::signals::{self, Inbox, Wake};
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long the group gets to go after the forwarded signal before it is SIGKILLed.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// Whether stdin is a terminal whose foreground process group is ours (then the child takes
/// the foreground). Never steal a terminal we are in the background of.
pub(crate) fn owns_foreground_tty() -> bool {
    let stdin = io::stdin();
    nix::unistd::isatty(stdin.as_raw_fd()).unwrap_or(false)
        && nix::unistd::tcgetpgrp(stdin.as_fd()) == Ok(nix::unistd::getpgrp())
}

pub(crate) struct Group {
    child: Child,
    pgid: Pid,
    inbox: Option<Inbox>,
    took_tty: bool,
    exited: bool,
}

/// What [`Group::next`] saw.
#[derive(Debug)]
pub(crate) enum Event {
    /// The descriptor passed in is readable (or closed).
    Readable,
    /// The child exited (it is reaped; other members of its group may still run).
    Exited(ExitStatus),
    /// We were sent signal N: the group got it and is gone; exit with this code (128 + N).
    Stopped(i32),
}

impl Group {
    /// Spawn `cmd` as the leader of a new process group.
    pub(crate) fn spawn(cmd: &mut Command) -> io::Result<Group> {
        let mut set = signals::forwarded();
        set.add(Signal::SIGCHLD);
        // Blocked, SIGTTOU lets us take the terminal back from the background.
        set.add(Signal::SIGTTOU);
        let inbox = Inbox::open(&set)?;
        let took_tty = owns_foreground_tty();
        let started_with = inbox.old_mask();
        cmd.process_group(0);
        // SAFETY: async-signal-safe calls only, on a mask copied before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if took_tty {
                    // SIGTTOU is still blocked (inherited), so a background tcsetpgrp works.
                    libc::tcsetpgrp(0, libc::getpid());
                }
                // std does not reset the mask for us: give the shell the one we started with.
                libc::pthread_sigmask(
                    libc::SIG_SETMASK,
                    started_with.as_ref(),
                    std::ptr::null_mut(),
                );
                Ok(())
            });
        }
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                inbox.close();
                return Err(e);
            }
        };
        let pgid = Pid::from_raw(child.id() as i32);
        Ok(Group {
            child,
            pgid,
            inbox: Some(inbox),
            took_tty,
            exited: false,
        })
    }

    /// Wait until `fd` is readable, the child exits, or a signal stops us all.
    pub(crate) fn next(&mut self, fd: Option<BorrowedFd<'_>>) -> io::Result<Event> {
        loop {
            if !self.exited {
                if let Some(status) = self.child.try_wait()? {
                    self.exited = true;
                    return Ok(Event::Exited(status));
                }
            }
            let inbox = self.inbox.as_ref().expect("inbox open until drop");
            match inbox.next(None, fd) {
                Wake::Readable => return Ok(Event::Readable),
                Wake::Timeout => {}
                Wake::Signal(sig) if sig == libc::SIGCHLD || sig == libc::SIGTTOU => {}
                Wake::Signal(sig) if signals::terminates_by_default(sig) => {
                    return Ok(Event::Stopped(self.stop(sig)));
                }
                Wake::Signal(sig) => {
                    let _ = signals::send(Pid::from_raw(-self.pgid.as_raw()), sig);
                }
            }
        }
    }

    /// Signal the group, wait for it to be gone (at most [`GRACE`]), SIGKILL the rest.
    fn stop(&mut self, sig: i32) -> i32 {
        let group = Pid::from_raw(-self.pgid.as_raw());
        let _ = signals::send(group, sig);
        let deadline = Instant::now() + GRACE;
        loop {
            if !self.exited && matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                self.exited = true;
            }
            if self.exited && !group_alive(self.pgid) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill();
                break;
            }
            let tick = Some((now + Duration::from_millis(20)).min(deadline));
            let inbox = self.inbox.as_ref().expect("inbox open until drop");
            if let Wake::Signal(next) = inbox.next(tick, None) {
                if next != libc::SIGCHLD && next != libc::SIGTTOU {
                    let _ = signals::send(group, next);
                }
            }
        }
        128 + sig
    }

    /// SIGKILL the whole group and reap the child.
    fn kill(&mut self) {
        let _ = killpg(self.pgid, Signal::SIGKILL);
        if !self.exited {
            let _ = self.child.wait();
            self.exited = true;
        }
    }
}

/// Whether a process of group `pgid` is still running. Zombies do not count: an orphan is
/// reaped by whoever init is, sometimes late (or never, in some containers).
fn group_alive(pgid: Pid) -> bool {
    if killpg(pgid, None) == Err(Errno::ESRCH) {
        return false;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return true;
    };
    dir.flatten().any(|entry| {
        let Ok(stat) = std::fs::read(entry.path().join("stat")) else {
            return false;
        };
        // After the last ')': state, ppid, pgrp.
        let Some(close) = stat.iter().rposition(|&b| b == b')') else {
            return false;
        };
        let mut fields = stat[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let state = fields.next();
        let pgrp = fields.nth(1);
        pgrp == Some(pgid.as_raw().to_string().as_bytes()) && !matches!(state, Some(b"Z" | b"X"))
    })
}

impl Drop for Group {
    /// Nothing outlives us by accident: a child we stopped caring about (an error on the way)
    /// is killed with its group; then the terminal and the signal mask are given back.
    fn drop(&mut self) {
        if !self.exited {
            self.kill();
        }
        if self.took_tty {
            // SIGTTOU is still blocked, so this works from the background.
            let _ = nix::unistd::tcsetpgrp(io::stdin().as_fd(), nix::unistd::getpgrp());
        }
        if let Some(inbox) = self.inbox.take() {
            inbox.close();
        }
    }
}
