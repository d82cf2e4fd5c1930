//! The start-up hook: a packed beamrc extracts its release (once), then runs the release
//! face in this process as if it were the entry's `bin/NAME` (no second exec: a warm run
//! costs an open + pread, a marker read, a flock and two stats more than an installed one).
use super::reader::{self, Packed};
use super::{cache, clean, extract, info, lock};
use crate::environment::EnvMap;
use crate::plan::switches::flag;
use crate::release::locate;
use crate::{Error, Result};
use std::ffi::{CString, OsStr};
use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

const SELF: &str = "/proc/self/exe";

/// What the start-up hook found.
#[derive(Debug)]
pub enum Startup {
    /// No pack: go on as usual.
    Plain,
    /// A pack whose release is extracted: run the release face as if this program were
    /// `exe` (the entry's `bin/NAME`), in this process.
    RunAs(PathBuf),
    /// A pack that ended here (`BEAMRC_PACK_INFO`, `BEAMRC_PACK_CLEAN`, or an error).
    Exit(Result<i32>),
}

/// Called first thing by the edge. An unpacked beamrc pays one open and one or two `pread`s.
pub fn startup(argv0: &OsStr) -> Startup {
    let proc = Path::new(SELF);
    let found = match reader::open(proc, proc) {
        Ok(Some(mut packed)) => {
            packed.path = shown_name();
            Ok(Some(packed))
        }
        Ok(None) => Ok(None),
        // No /proc (a minimal chroot): the file the shell ran, found as the release face does.
        Err(Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            match locate::current_exe(argv0, std::env::var_os("PATH").as_deref()) {
                Some(exe) => reader::open(&exe, &exe),
                None => Ok(None),
            }
        }
        // Again, to name the file as people know it.
        Err(_) => reader::open(proc, &shown_name()),
    };
    match found {
        Ok(None) => Startup::Plain,
        Ok(Some(packed)) => match run(&packed) {
            Ok(exe) => Startup::RunAs(exe),
            Err(e) => Startup::Exit(Err(e)),
        },
        Err(e) => Startup::Exit(Err(e)),
    }
}

fn shown_name() -> PathBuf {
    std::fs::read_link(SELF).unwrap_or_else(|_| PathBuf::from(SELF))
}

/// The entry's `bin/NAME`, extracted and locked (`BEAMRC_PACK_INFO` / `_CLEAN` end the
/// run with `Error::Exit(0)` after printing).
fn run(packed: &Packed) -> Result<PathBuf> {
    let env = EnvMap::from_os();
    let digest = reader::digest_hex(packed);
    let entry = cache::entry_name(&packed.manifest, &digest);
    if flag(&env, "BEAMRC_PACK_INFO", false)? {
        let cached = cache::root(&env).ok().map(|r| r.join(&entry));
        let state = cached
            .as_deref()
            .map(|d| (d, extract::complete(d, &digest)));
        print!("{}", info::render(packed, state));
        return Err(Error::Exit(0));
    }
    let root = cache::root(&env)?;
    let root = std::path::absolute(&root).unwrap_or(root);
    if flag(&env, "BEAMRC_PACK_CLEAN", false)? {
        println!("{}", clean::clean(&root, false)?);
        return Err(Error::Exit(0));
    }
    let mut force = false;
    for _ in 0..3 {
        let dir = extract::ensure(packed, &root, &entry, force)?;
        let held = lock::share(&dir)
            .map_err(|e| Error::io(format!("cannot lock {}", dir.display()), e))?;
        let Some(meta) = lock::still_at(&held, &dir) else {
            // Cleaned up while we waited for the lock: extract again.
            continue;
        };
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let root_mode = std::fs::metadata(&root).map(|m| m.mode()).unwrap_or(0);
        cache::trust(meta.uid(), root_mode, uid).map_err(|why| {
            Error::Config(format!(
                "the pack cache entry {} is not safe to run: {why}; set BEAMRC_PACK_DIR to a directory of yours",
                dir.display()
            ))
        })?;
        let exe = dir.join("bin").join(&packed.manifest.name);
        if !exe.is_file() {
            // The entry lost its launcher: replace it.
            force = true;
            continue;
        }
        if env.non_empty("RELEASE_TMP").is_none() && !writable(&dir) {
            let tmp = cache::writable_tmp(&env, &entry, uid);
            private_dir(&tmp, uid)?;
            // SAFETY: start-up, before any thread exists; the release face reads it next.
            unsafe { std::env::set_var("RELEASE_TMP", &tmp) };
        }
        // Kept open (and across exec) for as long as this release runs: the entry is in use.
        let _ = held.into_raw_fd();
        return Ok(exe);
    }
    Err(Error::Release(format!(
        "the cache entry {} for {} keeps breaking",
        root.join(&entry).display(),
        packed.path.display()
    )))
}

fn writable(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Creates `dir` under a per-user base that must be ours, a directory, and closed to others.
fn private_dir(dir: &Path, uid: u32) -> Result<()> {
    let base = dir.parent().unwrap_or(dir);
    let err = |e| Error::Create {
        path: dir.to_path_buf(),
        source: e,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(base)
            .map_err(err)?,
        Err(e) => return Err(err(e)),
    }
    let meta = std::fs::symlink_metadata(base).map_err(err)?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(Error::Config(format!(
            "{} is not a private directory of this user (owner {}, mode {:o}); \
             set RELEASE_TMP to a writable directory",
            base.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
        .map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpacked_beamrc_is_not_a_pack() {
        // The unit-test binary is a plain ELF: no trailer, nothing appended.
        assert!(matches!(startup(OsStr::new("beamrc")), Startup::Plain));
    }

    #[test]
    fn a_private_tmp_must_be_ours() {
        let base = crate::test_support::scratch("pack-private");
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let mine = base.join("mine/entry");
        private_dir(&mine, uid).unwrap();
        assert!(mine.is_dir());
        let err = private_dir(&mine, uid + 1).unwrap_err();
        assert!(err.to_string().contains("not a private directory"), "{err}");
    }
}
