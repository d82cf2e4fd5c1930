//! A package's way to release_handler: the running release registered where
//! release_handler needs it, the copy (or a link to the package) put where release_handler
//! unpacks from, and what release_handler unpacked outside the new version's directories
//! taken away again when the release had none of it.
use super::node::Node;
use super::reading::Pending;
use super::request::Request;
use super::run::{error_reason, say};
use super::show;
use crate::dist::Term;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A Mix release has no `releases/RELEASES`: release_handler then knows the running
/// release without its applications, and a later downgrade cannot find their code. Write
/// the file from the running `.rel` and restart release_handler so it reads it.
pub(super) fn register_running(node: &Node, req: &Request, running: &str) -> Result<()> {
    let releases = req.root.join("releases");
    if releases.join("RELEASES").exists() {
        return Ok(());
    }
    let rel = releases.join(running).join(format!("{}.rel", req.name));
    let path = |p: &Path| Term::charlist(&p.to_string_lossy());
    let r = node.rh(
        "create_RELEASES",
        vec![path(&releases), path(&rel), Term::Nil],
    )?;
    if !r.is_atom("ok") {
        return Err(Error::message(
            4,
            format!(
                "ERROR: release_handler:create_RELEASES failed: {}",
                show::term(error_reason(&r))
            ),
        ));
    }
    let child = || vec![Term::atom("sasl_sup"), Term::atom("release_handler")];
    node.call("supervisor", "terminate_child", child())?;
    node.call("supervisor", "restart_child", child())?;
    say(format!(
        "registered the running release {running} with release_handler (wrote {}, restarted release_handler)",
        releases.join("RELEASES").display()
    ));
    Ok(())
}

/// What beamrc gave release_handler.
pub(super) struct Given {
    /// Whether beamrc created something at `releases/VSN/NAME.tar.gz`.
    pub made: bool,
    /// The package's files outside `lib/`, `releases/VSN/`, `erts-*/` that the release
    /// lacks: release_handler would create them.
    strays: Vec<PathBuf>,
}

/// Puts the package where release_handler reads it (`releases/VSN/NAME.tar.gz`): the
/// copy (the package inflated: release_handler unpacks a plain tar several times faster),
/// or a symlink to the package, as relx makes. release_handler unpacks without
/// overwriting a file the release already has (erl_tar's `keep_old_files`), so the
/// package's `outside` entries (`bin/NAME`, `releases/start_erl.data`, …) leave the running
/// release's own as they are; those the release lacks are noted, to be removed after the
/// unpack ([`Given::tidy`]).
pub(super) fn give_package(
    req: &Request,
    found: &Path,
    link: &Path,
    outside: &[String],
    copy: Option<Pending>,
) -> Result<Given> {
    let root = req.root.as_path();
    let (kept, strays) = outside_entries(root, outside, &req.name, &req.vsn);
    if !kept.is_empty() {
        say(format!(
            "release_handler leaves the release's own {} as they are (it does not overwrite existing files)",
            kept.join(", ")
        ));
    }
    let given = |made| Given { made, strays };
    let at = root.join(link);
    if copy.is_none() && found == link {
        return Ok(given(false));
    }
    std::fs::create_dir_all(at.parent().unwrap_or(root)).map_err(|e| Error::create(&at, e))?;
    if let Some(copy) = copy {
        copy.keep_as(&at)?;
        say(format!(
            "wrote {} for release_handler: the package {} inflated (a plain tar, which it unpacks several times faster)",
            at.display(),
            found.display()
        ));
    } else {
        let tmp = at.with_extension(format!("beamrc-{}.link", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(root.join(found), &tmp).map_err(|e| Error::create(&tmp, e))?;
        std::fs::rename(&tmp, &at).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::create(&at, e)
        })?;
        say(format!("linked {} -> {}", at.display(), found.display()));
    }
    Ok(given(true))
}

/// The `outside` entries: those the release has (files, by name), and those it lacks,
/// except relx's versioned script `bin/NAME-VSN`, which the permanent install needs.
fn outside_entries(
    root: &Path,
    outside: &[String],
    name: &str,
    vsn: &str,
) -> (Vec<String>, Vec<PathBuf>) {
    let script = format!("bin/{name}-{vsn}");
    let (mut kept, mut strays) = (Vec::new(), Vec::new());
    for e in outside.iter().map(|e| e.trim_end_matches('/')) {
        match std::fs::symlink_metadata(root.join(e)) {
            Ok(m) if !m.is_dir() => kept.push(e.to_string()),
            Ok(_) => {}
            Err(_) if e != script => strays.push(PathBuf::from(e)),
            Err(_) => {}
        }
    }
    (kept, strays)
}

impl Given {
    /// After `unpack_release` (whatever it answered): removes the files it created from
    /// the package outside `lib/`, `releases/VSN/`, `erts-*/` that the release did not have
    /// (a `releases/start_erl.data` naming the new version would make the next start boot
    /// a release never installed; a `releases/COOKIE` the operator had removed would come
    /// back), and says which.
    pub(super) fn tidy(&self, root: &Path) {
        let removed: Vec<String> = self
            .strays
            .iter()
            .filter(|p| {
                let at = root.join(p);
                std::fs::symlink_metadata(&at).is_ok_and(|m| !m.is_dir())
                    && std::fs::remove_file(&at).is_ok()
            })
            .map(|p| p.display().to_string())
            .collect();
        if !removed.is_empty() {
            say(format!(
                "removed {}: release_handler unpacked them from the package, outside the new version's directories, where the release had none",
                removed.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_outside_are_kept_or_strays() {
        let root = crate::test_support::scratch("upgrade-outside");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::write(root.join("bin/demo"), "beamrc").unwrap();
        let outside: Vec<String> = [
            "bin/",
            "bin/demo",
            "bin/demo-0.2.0",
            "releases/COOKIE",
            "releases/start_erl.data",
        ]
        .map(String::from)
        .to_vec();
        let (kept, strays) = outside_entries(&root, &outside, "demo", "0.2.0");
        assert_eq!(kept, ["bin/demo"]);
        assert_eq!(
            strays,
            [
                PathBuf::from("releases/COOKIE"),
                PathBuf::from("releases/start_erl.data")
            ]
        );
        // what release_handler created is removed, the release's own stays
        std::fs::create_dir_all(root.join("releases")).unwrap();
        std::fs::write(root.join("releases/start_erl.data"), "13.1.5 0.2.0").unwrap();
        Given { made: true, strays }.tidy(&root);
        assert!(!root.join("releases/start_erl.data").exists());
        assert!(root.join("bin/demo").exists());
    }
}
