//! Where a release package is looked for, as relx's `install_upgrade.escript` does, and
//! where release_handler reads it.
use std::path::{Path, PathBuf};

/// `releases/NAME-VSN.tar.gz`, `releases/VSN/NAME-VSN.tar.gz`, `releases/VSN/NAME.tar.gz`
/// (relative to the release root), in the order they are tried.
pub(crate) fn candidates(name: &str, vsn: &str) -> [PathBuf; 3] {
    let releases = Path::new("releases");
    [
        releases.join(format!("{name}-{vsn}.tar.gz")),
        releases.join(vsn).join(format!("{name}-{vsn}.tar.gz")),
        link(name, vsn),
    ]
}

/// The one place release_handler unpacks from for `unpack_release("VSN/NAME")`.
pub(crate) fn link(name: &str, vsn: &str) -> PathBuf {
    Path::new("releases")
        .join(vsn)
        .join(format!("{name}.tar.gz"))
}

/// The argument of `release_handler:unpack_release/1` (relative to `releases/`).
pub(crate) fn handler_name(name: &str, vsn: &str) -> String {
    format!("{vsn}/{name}")
}

/// The first candidate under `root` that `is_file` accepts (relative to `root`).
pub(crate) fn locate(
    root: &Path,
    name: &str,
    vsn: &str,
    is_file: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    candidates(name, vsn)
        .into_iter()
        .find(|rel| is_file(&root.join(rel)))
}

/// A version the commands accept: what becomes a directory name under `releases/`.
pub(crate) fn check_version(vsn: &str) -> Result<(), String> {
    let bad = vsn.is_empty()
        || vsn == "."
        || vsn == ".."
        || vsn.starts_with('-')
        || vsn
            .chars()
            .any(|c| c == '/' || c.is_control() || c.is_whitespace());
    if bad {
        Err(format!(
            "{vsn:?} is not a release version (a directory name under releases/)"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_in_relx_order() {
        let c = candidates("demo", "0.2.0");
        assert_eq!(c[0], Path::new("releases/demo-0.2.0.tar.gz"));
        assert_eq!(c[1], Path::new("releases/0.2.0/demo-0.2.0.tar.gz"));
        assert_eq!(c[2], Path::new("releases/0.2.0/demo.tar.gz"));
        let root = Path::new("/r");
        let found = locate(root, "demo", "0.2.0", |p| {
            p.ends_with("0.2.0/demo.tar.gz") || p.ends_with("0.2.0/demo-0.2.0.tar.gz")
        });
        assert_eq!(found.unwrap(), c[1]);
        assert_eq!(locate(root, "demo", "0.2.0", |_| false), None);
        assert_eq!(handler_name("demo", "0.2.0"), "0.2.0/demo");
    }

    #[test]
    fn versions_are_directory_names() {
        assert!(check_version("0.2.0").is_ok());
        assert!(check_version("1.0.4+15-b6f1b64").is_ok());
        for bad in ["", "..", "a/b", "-x", "a b"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
