//! The `.src`-wins rule, in one place: a `FILE.src` next to `FILE` is its template.
//!
//! relx ships `vm.args.src` / `sys.config.src` templates; when one exists it **always
//! wins** over the plain file (a `vm.args` beside a `vm.args.src` is a stale render) and
//! is always substituted. The same holds for every file they pull in (`-args_file`
//! targets, included `.config` files) when rendering.
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::paths::with_suffix;

/// Which file a path names, whatever the path: its device and inode. The include walks key
/// the files they visit and render by it (one `stat`, where a canonical path costs a
/// `readlink` per component).
pub(crate) type FileId = (u64, u64);

pub(crate) fn file_id(path: &Path) -> Result<FileId, Error> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| (m.dev(), m.ino()))
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

/// `path.src` when it is a file.
pub(crate) fn template_of(path: &Path) -> Option<PathBuf> {
    let src = with_suffix(path, ".src");
    src.is_file().then_some(src)
}

/// The file to read for `path` and whether it is a template: `path.src` when it is a
/// file, else `path` when it exists, else nothing.
pub(crate) fn source_of(path: &Path) -> Option<(PathBuf, bool)> {
    match template_of(path) {
        Some(src) => Some((src, true)),
        None => path.exists().then(|| (path.to_path_buf(), false)),
    }
}

/// [`source_of`] for an entry file (`vm.args`, `sys.config`): the file to read and
/// whether to substitute it (always for a template, else `substitute`); neither file
/// is `Error::Release`.
pub(crate) fn entry_source(path: &Path, substitute: bool) -> Result<(PathBuf, bool), Error> {
    match source_of(path) {
        Some((file, template)) => Ok((file, template || substitute)),
        None => Err(Error::Release(format!(
            "{} not found (nor {})",
            path.display(),
            with_suffix(path, ".src").display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::scratch;

    #[test]
    fn src_wins_over_the_plain_file() {
        let d = scratch("source");
        let p = d.join("vm.args");
        assert_eq!(source_of(&p), None);
        assert!(matches!(entry_source(&p, true), Err(Error::Release(_))));
        std::fs::write(&p, "").unwrap();
        assert_eq!(source_of(&p), Some((p.clone(), false)));
        assert_eq!(entry_source(&p, false).unwrap(), (p.clone(), false));
        std::fs::create_dir(d.join("vm.args.src")).unwrap();
        // a directory is not a template
        assert_eq!(template_of(&p), None);
        std::fs::remove_dir(d.join("vm.args.src")).unwrap();
        std::fs::write(d.join("vm.args.src"), "").unwrap();
        assert_eq!(template_of(&p), Some(d.join("vm.args.src")));
        assert_eq!(
            entry_source(&p, false).unwrap(),
            (d.join("vm.args.src"), true)
        );
    }
}
