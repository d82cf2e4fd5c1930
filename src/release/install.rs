//! `beamrc install RELEASE_DIR`: turn a built release into a beamrc release.
//!
//! beamrc copies itself to `bin/NAME` and keeps the release's script as `bin/NAME.sh`
//! (the oracle, and a way back). Atomic: the binary is written under a temp name and renamed.
//! Idempotent: a second install replaces the binary; a kept script is only ever replaced by a
//! newer *script* (a rebuilt release), never by a binary.
use super::Release;
use super::layout::release_name;
use crate::{Error, Result};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A built release at a directory: physical root, `start_erl.data`, `releases/VSN`, name.
pub(crate) struct Built {
    pub root: PathBuf,
    pub start: super::StartErlData,
    pub vsn_dir: PathBuf,
    pub name: String,
}

/// Opens the release at `dir`, or says why it is not one (exit 2).
pub(crate) fn open_built(dir: &Path) -> Result<Built> {
    let root = std::fs::canonicalize(dir)
        .map_err(|e| Error::Release(format!("{}: {e}", dir.display())))?;
    let release = Release::open(root.clone(), "");
    let start = release.start_erl_data().map_err(|e| {
        Error::Release(format!(
            "{} is not a release: {e} (build one with `mix release` or `rebar3 release`)",
            root.display()
        ))
    })?;
    let vsn_dir = release.vsn_dir(&start.rel_vsn);
    let name = release_name(&vsn_dir).ok_or_else(|| {
        Error::Release(format!(
            "{} is not a release: no single NAME.rel in {}",
            root.display(),
            vsn_dir.display()
        ))
    })?;
    // A directory beamrc cannot drive (relx's plain script, Distillery, unknown) is refused
    // before anything is written, for `install` and `pack` alike.
    crate::relx::kind::detect(&root, &name, &start.rel_vsn)
        .map_err(|why| Error::Release(format!("cannot install beamrc: {why}")))?;
    Ok(Built {
        root,
        start,
        vsn_dir,
        name,
    })
}

pub fn install(dir: &Path) -> Result<String> {
    let Built { root, name, .. } = open_built(dir)?;
    let bin_dir = root.join("bin");
    std::fs::create_dir_all(&bin_dir)
        .map_err(|e| Error::io(format!("cannot create {}", bin_dir.display()), e))?;
    let target = bin_dir.join(&name);
    let kept = bin_dir.join(format!("{name}.sh"));

    let mut notes = Vec::new();
    if is_script(&target) {
        std::fs::rename(&target, &kept).map_err(|e| {
            Error::io(
                format!("cannot keep {} as {}", target.display(), kept.display()),
                e,
            )
        })?;
        notes.push(format!("original script kept as {}", kept.display()));
    } else if kept.exists() {
        notes.push(format!("{} left as it was", kept.display()));
    }

    let me =
        std::env::current_exe().map_err(|e| Error::io("cannot find the beamrc executable", e))?;
    copy_atomically(&me, &target)?;
    let mut report = format!(
        "installed beamrc {} as {}",
        env!("CARGO_PKG_VERSION"),
        target.display()
    );
    if let Some(w) = cookie_note(&root) {
        notes.push(w);
    }
    for n in notes {
        report.push_str(&format!("\n{n}"));
    }
    Ok(report)
}

/// Mix writes `releases/COOKIE` readable by everyone; beamrc warns about that on every start.
/// Install only says so: who must read the cookie depends on the deployment.
pub(crate) fn cookie_note(root: &Path) -> Option<String> {
    let path = root.join("releases/COOKIE");
    let mode = std::fs::metadata(&path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "note: {} is readable by group or others (mode {:03o}); `chmod 400` it for the user the release runs as",
            path.display(),
            mode & 0o777
        )
    })
}

/// A shell script (`#!`), as opposed to a binary from an earlier install.
pub(crate) fn is_script(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"#!")
        .unwrap_or(false)
}

fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
    let tmp: PathBuf = to.with_file_name(format!(
        ".{}.beamrc-{}",
        to.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)))
        .and_then(|_| std::fs::rename(&tmp, to));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot install {}", to.display()), e)
    })
}
