//! Path text helpers shared by the layers.
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its last component's text (`sys` + `.config`,
/// `tmp/pipe` + `/`), as the shell's `"$X.config"` does.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}
