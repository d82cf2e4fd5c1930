//! Entry locks: `flock(2)` on the entry directory itself (works on a read-only cache).
//!
//! A run holds a shared lock on a descriptor without close-on-exec, so it survives the exec
//! into the release and lives as long as the VM (erlexec and beam keep it); `pack-clean`
//! takes an exclusive one without waiting and leaves the entry alone when it cannot.
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Opens `dir` and locks it; `inherit` leaves the descriptor open across exec.
fn open_locked(dir: &Path, exclusive: bool, inherit: bool) -> io::Result<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | if inherit { 0 } else { libc::O_CLOEXEC };
    // SAFETY: c is a valid NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned here.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let op = if exclusive {
        libc::LOCK_EX | libc::LOCK_NB
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(fd, op) } == 0 {
            return Ok(owned);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A shared lock for a run, kept across exec. Waits while a clean-up holds the entry.
pub(crate) fn share(dir: &Path) -> io::Result<OwnedFd> {
    open_locked(dir, false, true)
}

/// An exclusive lock for clean-up, or `None` when a run holds the entry.
pub(crate) fn exclusive(dir: &Path) -> io::Result<Option<OwnedFd>> {
    match open_locked(dir, true, false) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// The locked directory's metadata, when the descriptor still names what is at `dir` (not
/// an entry removed or replaced meanwhile).
pub(crate) fn still_at(fd: &OwnedFd, dir: &Path) -> Option<std::fs::Metadata> {
    let file = std::fs::File::from(fd.try_clone().ok()?);
    let (a, b) = (file.metadata().ok()?, std::fs::metadata(dir).ok()?);
    (a.dev() == b.dev() && a.ino() == b.ino()).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_blocks_exclusive_and_is_inherited() {
        let dir = crate::test_support::scratch("pack-lock");
        let shared = share(&dir).unwrap();
        assert!(exclusive(&dir).unwrap().is_none());
        // SAFETY: F_GETFD on a descriptor we own.
        let fd_flags =
            unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&shared), libc::F_GETFD) };
        assert_eq!(fd_flags & libc::FD_CLOEXEC, 0);
        assert!(still_at(&shared, &dir).is_some());
        drop(shared);
        let ex = exclusive(&dir).unwrap().unwrap();
        assert!(still_at(&ex, &dir).is_some());
        assert!(still_at(&ex, &dir.join("nope")).is_none());
    }
}
