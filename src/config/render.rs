//! The effectful edge of config rendering: writing rendered files.
//!
//! Every file is written to a fresh temporary name in the target's directory
//! (`O_CREAT|O_EXCL`, mode 0600) and renamed over the target, so readers never see a
//! partial file, concurrent writers never interleave, and a symlink at the target is
//! replaced rather than written through (relx's dev-mode bug). Missing parent
//! directories are created with mode 0700 (see [`super::private_dir::create`]).
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;

/// A file to write: `contents` rendered from `source` goes to `target`. `Debug` shows
/// the size of `contents`, never the text: substituted values may be secrets (a cookie
/// in `-setcookie ${COOKIE}`, passwords in sys.config).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RenderedFile {
    pub source: PathBuf,
    pub target: PathBuf,
    pub contents: Vec<u8>,
}

impl std::fmt::Debug for RenderedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedFile")
            .field("source", &self.source)
            .field("target", &self.target)
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .finish()
    }
}

/// Atomically replaces `path` with `contents`, giving it exactly `mode` (umask ignored).
pub(crate) fn write_fresh(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let what = || format!("cannot write {}", path.display());
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(what(), io::Error::from(io::ErrorKind::InvalidInput)))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    super::private_dir::create(&dir)?;

    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let mut attempts = 0;
    let (tmp, mut file) = loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(e) => return Err(Error::io(what(), e)),
        }
    };
    let result = file
        .write_all(contents)
        .and_then(|()| file.set_permissions(fs::Permissions::from_mode(mode)))
        .and_then(|()| {
            drop(file);
            fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(what(), e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    use crate::test_support::scratch;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_with_modes_and_replaces() {
        let d = scratch("modes");
        let target = d.join("a/b/vm.args");
        write_fresh(&target, b"-sname x\n", 0o600).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"-sname x\n");
        assert_eq!(mode(&target), 0o600);
        assert_eq!(mode(&d.join("a")), 0o700);
        assert_eq!(mode(&d.join("a/b")), 0o700);
        // second write replaces, no temp files left behind
        write_fresh(&target, b"new", 0o640).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o640);
        let names: Vec<_> = fs::read_dir(d.join("a/b")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn symlink_target_is_replaced_not_followed() {
        let d = scratch("symlink");
        let project = d.join("project.config");
        fs::write(&project, "pristine").unwrap();
        let target = d.join("sys.config");
        symlink(&project, &target).unwrap();
        write_fresh(&target, b"rendered", 0o600).unwrap();
        assert_eq!(fs::read(&project).unwrap(), b"pristine");
        assert_eq!(fs::read(&target).unwrap(), b"rendered");
        assert!(
            !fs::symlink_metadata(&target)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn planned_chain_round_trips_through_disk() {
        use crate::config::args_file::tokenize;
        use crate::config::subst::UnsetPolicy;
        use crate::config::vm_args::plan_vm_args;
        let d = scratch("chain");
        fs::write(
            d.join("vm.args.src"),
            "-sname ${N:-n}\n-args_file extra.args\n",
        )
        .unwrap();
        fs::write(d.join("extra.args"), "-setcookie c\n").unwrap();
        let out = d.join("tmp/beamrc/x");
        let plan = plan_vm_args(
            &d.join("vm.args"),
            &out,
            false,
            &|_| None,
            UnsetPolicy::Error,
        )
        .unwrap();
        for f in &plan.files {
            write_fresh(&f.target, &f.contents, 0o600).unwrap();
        }
        let top = fs::read_to_string(&plan.entry).unwrap();
        let included = &tokenize(&top)[3].value;
        assert_eq!(fs::read_to_string(included).unwrap(), "-setcookie c\n");
        // sources untouched, nothing written next to them
        assert_eq!(fs::read_dir(&d).unwrap().count(), 3);
    }

    #[test]
    fn debug_never_shows_the_contents() {
        let f = RenderedFile {
            source: "vm.args.src".into(),
            target: "tmp/vm.args".into(),
            contents: b"-setcookie s3cr3t\n".to_vec(),
        };
        let shown = format!("{f:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("tmp/vm.args") && shown.contains("18 bytes"),
            "{shown}"
        );
    }

    #[test]
    fn errors_name_the_path() {
        let d = scratch("err");
        fs::write(d.join("file"), "").unwrap();
        // a parent that is a regular file cannot be a directory
        let target = d.join("file/sub/vm.args");
        let e = write_fresh(&target, b"x", 0o600).unwrap_err();
        assert_eq!(e.code(), 5);
        assert!(
            e.to_string()
                .contains(&d.join("file").display().to_string()),
            "{e}"
        );
        if unsafe { libc::geteuid() } != 0 {
            let ro = d.join("ro");
            fs::create_dir(&ro).unwrap();
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
            let e = write_fresh(&ro.join("vm.args"), b"x", 0o600).unwrap_err();
            assert!(e.to_string().contains("ro/vm.args"), "{e}");
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
}
