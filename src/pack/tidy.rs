//! Removing cache directories: whole trees (read-only modes included) and the scratch
//! directories of extractions that were killed.
use super::cache::{self, Name};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `rm -rf`, also through directories whose mode forbids writing (chmod u+rwx first).
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path);
            std::fs::remove_dir_all(path)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn make_writable(dir: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode();
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700));
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            make_writable(&e.path());
        }
    }
}

/// Whether process `pid` exists (`kill(pid, 0)`; EPERM means it exists).
pub(crate) fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes scratch directories in `root` left by dead processes — for `entry` only, or all
/// when `entry` is `None`. Returns the names removed.
pub(crate) fn sweep(root: &Path, entry: Option<&str>) -> Vec<String> {
    let mut removed = Vec::new();
    let Ok(read) = std::fs::read_dir(root) else {
        return removed;
    };
    for e in read.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Name::Scratch { entry: owner, pid } = cache::classify(&name)
            && entry.is_none_or(|want| want == owner)
            && !alive(pid)
            && remove_tree(&e.path()).is_ok()
        {
            removed.push(name);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_read_only_trees_and_dead_scratch_only() {
        let root = crate::test_support::scratch("pack-tidy");
        let ro = root.join("ro/inner");
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::write(ro.join("f"), "x").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        remove_tree(&root.join("ro")).unwrap();
        assert!(!root.join("ro").exists());
        remove_tree(&root.join("never")).unwrap();

        let dead = cache::temp_name("e-1-00", 999_999_999, 1);
        let live = cache::temp_name("e-1-00", std::process::id(), 2);
        let other = cache::temp_name("f-1-00", 999_999_999, 3);
        for n in [&dead, &live, &other] {
            std::fs::create_dir(root.join(n)).unwrap();
        }
        assert_eq!(sweep(&root, Some("e-1-00")), vec![dead.clone()]);
        assert!(root.join(&live).exists() && root.join(&other).exists());
        assert_eq!(sweep(&root, None), vec![other]);
        assert!(alive(std::process::id()));
        assert!(!alive(999_999_999));
    }
}
