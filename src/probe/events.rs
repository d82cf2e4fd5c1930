//! Waiting for a node's lifecycle as events, for Mix and relx releases alike: going down
//! (the node closing our one connection, then its OS process exiting, seen through a pidfd)
//! and coming back after a restart (one new connection that subscribes to the end of the
//! boot). No polling of EPMD, no connection per round.
use super::{Readiness, ReadyCheck};
use crate::dist::{ClientConfig, DistError, Session, Term};
use std::time::{Duration, Instant};

/// `whereis(application_controller)`: a restart is over when it is a new process.
pub(crate) fn app_controller(session: &mut Session) -> Result<Term, DistError> {
    session.call(
        "erlang",
        "whereis",
        vec![Term::atom("application_controller")],
    )
}

/// Blocks until the node closes `session`'s connection (the end of its shutdown, or its
/// kernel restarting), by the session's deadline. False when time ran out.
pub(crate) fn wait_closed(session: &mut Session) -> Result<bool, DistError> {
    match session.wait_closed() {
        Ok(()) | Err(DistError::ConnectionClosed) => Ok(true),
        Err(DistError::Timeout(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Blocks until process `pid` has exited or `timeout` has passed; true when it has. A pidfd
/// (Linux 5.3+) becomes readable when the process exits, so the return follows the exit at
/// once; without `pidfd_open` (older kernels, seccomp) `/proc` is looked at every 2 ms.
pub(crate) fn wait_exit(pid: u32, timeout: Duration) -> bool {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let deadline = Instant::now() + timeout;
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // SAFETY: pidfd_open(2) on an integer; a descriptor it returns is ours alone.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw, 0) };
    if fd < 0 {
        if std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
            return true;
        }
        return poll_exit(pid, deadline);
    }
    // SAFETY: `fd` was just returned to us and is closed only by this OwnedFd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut entry = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        match unsafe { libc::poll(&mut entry, 1, ms) } {
            n if n > 0 => return true,
            0 => return !crate::process::watch::pid_alive(pid),
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return poll_exit(pid, deadline),
        }
    }
}

fn poll_exit(pid: u32, deadline: Instant) -> bool {
    loop {
        if !crate::process::watch::pid_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How often a wait looks for a node that is not registered with EPMD (yet, or again): one
/// loopback EPMD query each. A Mix node registers only when its boot is nearly done (the
/// boot script loads every module before kernel starts net_kernel), so this pause is the
/// wait's return lag; once registered, the wait is init's started event, not a poll.
pub(crate) const REGISTRATION_POLL: Duration = Duration::from_millis(5);

/// After a restart request whose connection the node has closed: until `deadline`, one new
/// connection (re-tried every `REGISTRATION_POLL` while none can be opened or it drops)
/// waits for the end of the boot (`init:notify_when_started`), then checks that the application
/// controller is not `before` and `init:get_status()` is started. True when it came back.
pub(crate) fn wait_back(cfg: &ClientConfig, before: &Term, deadline: Instant) -> bool {
    loop {
        let back = Session::connect(cfg).map(|mut session| {
            session.set_deadline(Some(deadline));
            session.wait_started().is_ok()
                && matches!(app_controller(&mut session), Ok(now) if now != *before && !now.is_atom("undefined"))
                && matches!(
                    super::ask_on(&mut session, &ReadyCheck::default()),
                    Ok(Readiness::Ready)
                )
        });
        match back {
            Ok(true) => return true,
            Ok(false) => tracing::debug!("connected, but not back yet"),
            Err(e) => tracing::debug!("not back yet: {e}"),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(REGISTRATION_POLL.min(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_seen_at_once_and_live_processes_time_out() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!wait_exit(pid, Duration::from_millis(10)), "still running");
        // Reaped by a thread as a parent would; the wait only sees the exit.
        let reaper = std::thread::spawn(move || child.wait());
        assert!(wait_exit(pid, Duration::from_secs(10)));
        reaper.join().unwrap().unwrap();
        assert!(wait_exit(pid, Duration::from_millis(10)), "gone already");
    }
}
