//! Finding `RELEASE_ROOT` from where the running executable really lives.
//!
//! The scripts resolve `$0` through its symlink chain (1.18+; 1.14 followed one link,
//! relative to the cwd, which broke relative links) and take the physical parent of
//! `bin/`. The kernel already knows the fully resolved path of our executable.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The physical path of the running executable (no symbolic link in any component).
pub fn current_exe(argv0: &OsStr, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if let Ok(p) = std::fs::read_link("/proc/self/exe") {
        return Some(p);
    }
    // Without /proc: resolve argv[0] the way a shell found it (a path as it is, a bare name
    // through PATH, executables only).
    let cwd = std::env::current_dir().ok()?;
    let found = which::which_in(argv0, path_var, cwd).ok()?;
    std::fs::canonicalize(found).ok()
}

/// `RELEASE_ROOT`: the parent of the directory holding the executable, whose path must be
/// physical (as `current_exe` returns it; the kernel's is), so the root's is too.
pub fn locate_root(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    Some(bin.parent()?.to_path_buf()).filter(|root| root.is_absolute())
}

/// `basename "$0"`, as the script computes `RELEASE_PROG` (the name as invoked).
pub fn prog_name(argv0: &OsStr) -> String {
    let s = argv0.to_string_lossy();
    match s.rfind('/') {
        Some(i) => s[i + 1..].to_string(),
        None => s.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prog_name_is_sed_basename() {
        assert_eq!(prog_name(OsStr::new("bin/demo")), "demo");
        assert_eq!(prog_name(OsStr::new("/usr/local/bin/app")), "app");
        assert_eq!(prog_name(OsStr::new("demo")), "demo");
        // `sed 's/.*\///'` leaves nothing after a trailing slash.
        assert_eq!(prog_name(OsStr::new("weird/")), "");
    }
}
