//! systemd notification without libsystemd, and a detached watcher process that can send
//! them after we have exec'd the VM.
//!
//! Protocol (sd_notify(3)): one datagram of newline-separated `KEY=VALUE` lines to the
//! AF_UNIX socket named by `$NOTIFY_SOCKET`; a leading `@` means the abstract namespace.
//! systemd attributes a message to the sender's pid, so a watcher that is not the main pid
//! needs `NotifyAccess=all` or a `MAINPID=` line (see the reference notes, §3).
use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Send `message` (e.g. `"READY=1\nMAINPID=1234"`) to the notify socket `socket`.
pub fn notify(socket: &OsStr, message: &str) -> io::Result<()> {
    let bytes = socket.as_bytes();
    let addr = match bytes.split_first() {
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty NOTIFY_SOCKET",
            ));
        }
        Some((b'@', name)) => SocketAddr::from_abstract_name(name)?,
        Some(_) => SocketAddr::from_pathname(socket)?,
    };
    let sock = UnixDatagram::unbound()?;
    let sent = sock.send_to_addr(message.as_bytes(), &addr)?;
    if sent != message.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "notify message truncated",
        ));
    }
    Ok(())
}

/// Start a process that outlives our exec: double fork; the grandchild, reparented to
/// systemd / the nearest subreaper / init, closes every inherited fd >= 3 except `keep_fds`,
/// runs `job` and `_exit`s (0, or 101 when `job` panicked). The intermediate child is reaped
/// before this returns, so the VM we exec next never inherits a zombie.
///
/// The grandchild is a fork of this process: when other threads exist, `job` must not need
/// locks they might have held at the fork (stdout/stderr handles included: write to raw fds).
/// Allocation is fine with glibc and musl.
pub fn detach_watcher(keep_fds: &[i32], job: Box<dyn FnOnce()>) -> io::Result<()> {
    let mut keep: Vec<i32> = keep_fds.iter().copied().filter(|&fd| fd >= 3).collect();
    keep.sort_unstable();
    keep.dedup();
    // SAFETY: the intermediate child only forks and _exits; the grandchild runs `job`, see above.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: we are the intermediate child.
        unsafe {
            match libc::fork() {
                0 => {}
                n if n > 0 => libc::_exit(0),
                _ => libc::_exit(1),
            }
            close_fds_except(&keep);
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
                Ok(()) => 0,
                Err(_) => 101,
            };
            libc::_exit(code);
        }
    }
    drop(job);
    let mut status = 0;
    loop {
        // SAFETY: waitpid for our own child with a valid status pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            break;
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // SIGCHLD ignored by whoever started us: the kernel reaped it already.
            Some(libc::ECHILD) => return Ok(()),
            _ => return Err(io::Error::last_os_error()),
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(io::Error::other("cannot fork the watcher process"))
    }
}

/// Close every fd >= 3 not in `keep` (sorted, all >= 3).
unsafe fn close_fds_except(keep: &[i32]) {
    let mut lo: u32 = 3;
    for &fd in keep.iter().chain(&[-1]) {
        let hi = if fd < 0 { u32::MAX } else { fd as u32 };
        if hi > lo {
            // SAFETY: closing fds in a range; nothing in this process uses them any more.
            unsafe { close_range(lo, hi - 1) };
        }
        lo = hi.saturating_add(1);
    }
}

unsafe fn close_range(lo: u32, hi: u32) {
    // SAFETY: raw syscall with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0u32) };
    if r == 0 {
        return;
    }
    // Kernels before 5.9: close one by one up to the fd limit.
    // SAFETY: sysconf and close on integers.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max < 0 {
        65536
    } else {
        max.min(1 << 20) as u32
    };
    for fd in lo..=hi.min(max) {
        // SAFETY: as above.
        unsafe { libc::close(fd as i32) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    #[test]
    fn notify_path_socket() {
        let dir = std::env::temp_dir().join(format!("beamrc-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        notify(path.as_os_str(), "READY=1\nMAINPID=123").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=123");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn notify_abstract_socket() {
        let name = format!("beamrc-test-{}-{:?}", std::process::id(), Instant::now());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        notify(OsStr::new(&format!("@{name}")), "STOPPING=1").unwrap();
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn notify_errors() {
        assert!(notify(OsStr::new(""), "READY=1").is_err());
        assert!(notify(OsStr::new("/nonexistent/dir/sock"), "READY=1").is_err());
    }

    /// Runs `detach_probe` alone in a fresh copy of this test binary, so that no other
    /// test's children can confuse the "no children left" check.
    #[test]
    fn detach_watcher_in_a_clean_process() {
        crate::process::run_test_alone("process::notify::tests::detach_probe");
    }

    #[test]
    #[ignore = "run by detach_watcher_in_a_clean_process"]
    fn detach_probe() {
        assert_eq!(std::env::var("BEAMRC_PROBE").as_deref(), Ok("1"));
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fresh fds owned by nobody else.
        let (mut reader, writer) = unsafe {
            use std::os::fd::FromRawFd;
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        };
        let wfd = writer.as_raw_fd();
        let unkept = std::fs::File::open("/dev/null").unwrap();
        let unkept_fd = unkept.as_raw_fd();
        let started = Instant::now();
        detach_watcher(
            &[wfd],
            Box::new(move || {
                std::thread::sleep(Duration::from_millis(300));
                // SAFETY: fcntl/getppid/write on integers and a local buffer.
                let closed = unsafe { libc::fcntl(unkept_fd, libc::F_GETFD) } < 0;
                let me = std::process::id();
                let msg = format!("closed={closed} pid={me}\n");
                unsafe { libc::write(wfd, msg.as_ptr().cast(), msg.len()) };
            }),
        )
        .unwrap();
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(250),
            "returned after {elapsed:?}"
        );
        // The intermediate child is reaped and the grandchild is not ours: no children at all.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
        assert_eq!(r, -1);
        assert_eq!(
            io::Error::last_os_error().raw_os_error(),
            Some(libc::ECHILD)
        );
        drop(writer);
        drop(unkept);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut reader, &mut text).unwrap(); // EOF: the grandchild exited
        assert!(text.starts_with("closed=true pid="), "{text:?}");
        let gc: u32 = text.trim().rsplit('=').next().unwrap().parse().unwrap();
        assert_ne!(gc, std::process::id());
    }
}
