//! The release on disk: where it is, its name and versions, and what its scripts say.
pub mod install;
pub mod layout;
pub mod locate;

pub use layout::{ElixirGen, ElixirScript, StartErlData};

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A release found on disk. Reading it only reads files; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Physical (symlink-free) release root: `RELEASE_ROOT`.
    pub root: PathBuf,
    /// The release name baked into the original script (the `.rel` file's name).
    pub name: String,
    /// `releases/start_erl.data`, read once (or why it could not be).
    pub start_erl: std::result::Result<StartErlData, String>,
}

impl Release {
    /// Finds the release around `root`; `fallback_name` is used when no `.rel` file names it.
    pub fn open(root: PathBuf, fallback_name: &str) -> Release {
        let start_erl = read_start_erl(&root);
        let name = start_erl
            .as_ref()
            .ok()
            .and_then(|d| {
                let vsn_dir = root.join("releases").join(&d.rel_vsn);
                // The usual case in one stat: `releases/VSN/NAME.rel` for bin/NAME. The
                // answer is the same as the listing's: the one .rel, or (several) the
                // fallback name anyway.
                if vsn_dir.join(format!("{fallback_name}.rel")).is_file() {
                    return Some(fallback_name.to_string());
                }
                layout::release_name(&vsn_dir)
            })
            .unwrap_or_else(|| fallback_name.to_string());
        Release {
            root,
            name,
            start_erl,
        }
    }

    pub fn releases_dir(&self) -> PathBuf {
        self.root.join("releases")
    }

    pub fn start_erl_data(&self) -> Result<StartErlData> {
        self.start_erl.clone().map_err(Error::Release)
    }

    /// `releases/VSN`, the script's `REL_VSN_DIR`.
    pub fn vsn_dir(&self, vsn: &str) -> PathBuf {
        self.releases_dir().join(vsn)
    }

    /// `erts-VSN/bin` as `releases/VSN/elixir` reaches it (`"$SCRIPT_PATH"/../../erts-V/bin`,
    /// not normalised), or `None` for a release without ERTS (`erl` from `PATH`). Without the
    /// script to read, an `erts-VSN` directory next to `releases/` decides.
    pub fn erts_bin(&self, vsn_dir: &Path, script: &ElixirScript) -> Option<PathBuf> {
        match &script.erts_bin_suffix {
            Some(suffix) => Some(join_script_path(vsn_dir, suffix)),
            None if script.found => None,
            None => {
                let erts_vsn = self.start_erl_data().ok()?.erts_vsn;
                let dir = self.root.join(format!("erts-{erts_vsn}")).join("bin");
                dir.is_dir().then_some(dir)
            }
        }
    }
}

fn read_start_erl(root: &Path) -> std::result::Result<StartErlData, String> {
    let path = root.join("releases/start_erl.data");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (is {} a release?)",
            path.display(),
            root.display()
        )
    })?;
    StartErlData::parse(&text)
        .ok_or_else(|| format!("{} does not hold \"ERTS_VSN REL_VSN\"", path.display()))
}

/// `"$SCRIPT_PATH"/../../erts-V/bin/` joined textually, as the shell does (no normalising).
pub fn join_script_path(script_dir: &Path, suffix: &str) -> PathBuf {
    crate::paths::with_suffix(script_dir, suffix.trim_end_matches('/'))
}
