//! Directories that only we (or root) can change, for files that may hold secrets.
//!
//! Rendered `vm.args` / `sys.config` hold substituted values (cookies, passwords) and are
//! read by the VM after we wrote them: whoever can replace them between the write and the
//! read runs code as us (`-eval` in vm.args). So, as ssh does for key files, beamrc
//! refuses to render into a directory when it, or any directory above it, is owned by
//! another user (not us, not root), or is writable by group or others without the sticky
//! bit (`/tmp`, mode 1777 and owned by root, is fine: nobody else can rename our entries),
//! or when the path goes through a symlink another user owns (they can replace it).
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Checks `dir` (which may not exist yet) and every directory above it; the part that
/// does not exist yet will be created by us, mode 0700.
pub(crate) fn check(dir: &Path) -> Result<(), Error> {
    let mut existing = dir;
    while fs::symlink_metadata(existing).is_err() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    let euid = euid();
    check_links(existing, euid, dir, &mut 0)?;
    let real = fs::canonicalize(existing)
        .map_err(|e| Error::io(format!("cannot resolve {}", existing.display()), e))?;
    for a in real.ancestors() {
        let meta =
            fs::metadata(a).map_err(|e| Error::io(format!("cannot read {}", a.display()), e))?;
        judge(a, meta.uid(), meta.mode(), euid).map_err(|why| refusal(dir, &why))?;
    }
    Ok(())
}

/// Most symlinks followed on the way to one directory (the kernel's ELOOP bound).
const MAX_LINKS: usize = 40;

/// Refuses a symlink on the way to `path` that another user owns (not us, not root): its
/// owner can replace it, even in a sticky directory. Each link's target is checked too,
/// so a link of ours to a path through someone else's link is refused as well.
fn check_links(path: &Path, euid: u32, dir: &Path, followed: &mut usize) -> Result<(), Error> {
    for a in path.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        let Ok(m) = fs::symlink_metadata(a) else {
            continue;
        };
        if !m.file_type().is_symlink() {
            continue;
        }
        if m.uid() != euid && m.uid() != 0 {
            let why = format!("{} is a symlink owned by uid {}", a.display(), m.uid());
            return Err(refusal(dir, &why));
        }
        *followed += 1;
        if *followed > MAX_LINKS {
            let why = format!("more than {MAX_LINKS} symlinks lead to it");
            return Err(refusal(dir, &why));
        }
        if let Ok(target) = fs::read_link(a) {
            // A relative target is relative to the link's directory; an absolute one replaces it.
            let target = a.parent().unwrap_or(Path::new("/")).join(target);
            check_links(&target, euid, dir, followed)?;
        }
    }
    Ok(())
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a directory owned by `uid` with `mode` is not private to `euid`, if it is not.
pub(crate) fn judge(path: &Path, uid: u32, mode: u32, euid: u32) -> Result<(), String> {
    if uid != euid && uid != 0 {
        return Err(format!(
            "{} is owned by uid {uid}, not by you (uid {euid}) or root",
            path.display()
        ));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(format!(
            "{} is writable by {} (mode {:o}) without the sticky bit",
            path.display(),
            if mode & 0o002 != 0 {
                "others"
            } else {
                "its group"
            },
            mode & 0o7777
        ));
    }
    Ok(())
}

fn refusal(dir: &Path, why: &str) -> Error {
    Error::Config(format!(
        "refusing to write rendered vm.args/sys.config (they may hold secrets) into {}: {why}, \
         so someone else could replace them before the VM reads them. Use a RELEASE_TMP that \
         only you can write (chown/chmod it, or point RELEASE_TMP elsewhere).",
        dir.display()
    ))
}

/// Creates the missing directories of `dir` (mode 0700), one at a time; a directory that
/// appears meanwhile must pass [`judge`] (someone else may have made it between our
/// check and our `mkdir`).
pub(crate) fn create(dir: &Path) -> Result<(), Error> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut p = dir;
    while fs::symlink_metadata(p).is_err() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent,
            _ => break,
        }
    }
    let euid = euid();
    for d in missing.iter().rev() {
        use std::os::unix::fs::DirBuilderExt;
        match fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Someone may have put a symlink of theirs there meanwhile.
                check_links(d, euid, dir, &mut 0)?;
                let meta = fs::metadata(d)
                    .map_err(|e| Error::io(format!("cannot read {}", d.display()), e))?;
                judge(d, meta.uid(), meta.mode(), euid).map_err(|why| refusal(dir, &why))?;
            }
            Err(e) => {
                return Err(Error::io(
                    format!("cannot create directory {}", d.display()),
                    e,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use crate::test_support::scratch;

    #[test]
    fn owners_and_modes() {
        let p = Path::new("/d");
        assert!(judge(p, 1000, 0o40700, 1000).is_ok());
        assert!(judge(p, 0, 0o40755, 1000).is_ok());
        assert!(judge(p, 0, 0o41777, 1000).is_ok(), "/tmp");
        let e = judge(p, 1001, 0o40700, 1000).unwrap_err();
        assert!(e.contains("owned by uid 1001"), "{e}");
        assert!(
            judge(p, 1000, 0o40700, 0).is_err(),
            "root too refuses others' dirs"
        );
        let e = judge(p, 1000, 0o40775, 1000).unwrap_err();
        assert!(e.contains("its group") && e.contains("775"), "{e}");
        assert!(
            judge(p, 1000, 0o40757, 1000)
                .unwrap_err()
                .contains("others")
        );
        assert!(judge(p, 1000, 0o41777, 1000).is_ok());
    }

    #[test]
    fn checks_every_directory_above() {
        let d = scratch("private");
        let open = d.join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let e = check(&open.join("tmp/rendered/node")).unwrap_err();
        assert_eq!(e.code(), 4);
        let e = e.to_string();
        assert!(
            e.contains(&open.display().to_string()) && e.contains("others"),
            "{e}"
        );
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        check(&open.join("tmp/rendered/node")).unwrap();
        // a world-writable directory we create beneath is caught when it appears
        let inner = open.join("made");
        fs::create_dir(&inner).unwrap();
        fs::set_permissions(&inner, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check(&inner).is_err());
        create(&open.join("fresh/a/b")).unwrap();
        let mode = fs::metadata(open.join("fresh/a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        fs::set_permissions(&open, fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn another_users_directory_is_refused() {
        if euid() != 0 {
            // only root can give a directory away; `owners_and_modes` covers the rule
            eprintln!("not root: chown part covered by owners_and_modes");
            return;
        }
        let d = scratch("owned");
        let theirs = d.join("theirs");
        fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
        let e = check(&theirs.join("rendered/n")).unwrap_err().to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // a symlink someone else owns, to a directory of ours
        let ours = d.join("ours");
        fs::create_dir(&ours).unwrap();
        let link = d.join("link");
        std::os::unix::fs::symlink(&ours, &link).unwrap();
        check(&link.join("rendered")).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        let e = check(&link.join("rendered")).unwrap_err().to_string();
        assert!(e.contains("is a symlink owned by uid 65534"), "{e}");
        // a symlink of ours whose target goes through theirs: they can still retarget it
        let ours_to_theirs = d.join("via");
        std::os::unix::fs::symlink(&link, &ours_to_theirs).unwrap();
        let e = check(&ours_to_theirs.join("rendered"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("link is a symlink owned by uid 65534"), "{e}");
    }

    #[test]
    fn symlink_loops_are_an_error_not_a_hang() {
        let d = scratch("loop");
        std::os::unix::fs::symlink(d.join("b"), d.join("a")).unwrap();
        std::os::unix::fs::symlink(d.join("a"), d.join("b")).unwrap();
        assert!(check(&d.join("a/rendered")).is_err());
    }
}
