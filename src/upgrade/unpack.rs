//! A package's way to release_handler: read once for the checks (with the copy written
//! along the way), the running release registered where release_handler needs it, the
//! copy (or a link to the package) put where release_handler unpacks from, relx's
//! versioned script.
use super::checks::{self, Disk, Facts, Passed};
use super::node::Node;
use super::request::Request;
use super::run::{error_reason, refused, say};
use super::{show, tarball};
use crate::dist::Term;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A file beamrc is writing, removed unless it is [kept](Pending::keep_as).
pub(super) struct Pending(Option<PathBuf>);

impl Pending {
    /// Renames it into place.
    fn keep_as(mut self, at: &Path) -> Result<()> {
        let tmp = self.0.take().expect("pending file");
        std::fs::rename(&tmp, at).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::create(at, e)
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A package read for the checks, with its copy when one was asked for.
pub(super) struct Read {
    pub found: PathBuf,
    pub passed: Passed,
    pub pkg: tarball::Package,
    pub copy: Option<Pending>,
}

/// The temp name of the copy of NAME-VSN's package written by process `pid`.
fn copy_name(name: &str, vsn: &str, pid: u32) -> String {
    format!(".{name}-{vsn}.beamrc-{pid}.tar")
}

/// Removes copies in `releases/` that processes no longer alive left behind (a killed
/// upgrade); the names removed.
fn sweep_copies(releases: &Path, name: &str, vsn: &str) -> Vec<String> {
    let prefix = format!(".{name}-{vsn}.beamrc-");
    let Ok(dir) = std::fs::read_dir(releases) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let pid: u32 = file
                .strip_prefix(&prefix)?
                .strip_suffix(".tar")?
                .parse()
                .ok()?;
            let stale = !crate::process::watch::pid_alive(pid);
            (stale && std::fs::remove_file(e.path()).is_ok()).then_some(file)
        })
        .collect()
}

/// A package read, started before the node was asked anything (on a thread of its own,
/// so that inflating it overlaps the first calls), or done when the checks need it.
pub(super) struct Reading {
    found: PathBuf,
    /// The copy's temp name, removed unless it is handed on.
    copy: Option<Pending>,
    thread: Option<std::thread::JoinHandle<ReadOutcome>>,
}

type ReadOutcome = (
    std::result::Result<tarball::Package, String>,
    std::time::Duration,
);

impl Reading {
    /// Starts reading VSN's package when it has one and `releases/VSN` holds no `.rel` yet
    /// (a version release_handler may already know is not read ahead of the question).
    pub(super) fn ahead(req: &Request, copy: bool) -> Option<Reading> {
        let rel = req
            .root
            .join("releases")
            .join(&req.vsn)
            .join(format!("{}.rel", req.name));
        if rel.exists() {
            return None;
        }
        let found = checks::locate(&req.root, &req.name, &req.vsn).ok()?;
        Some(Reading::start(req, found, copy))
    }

    /// No copy replaces a package that is already where release_handler reads it.
    fn start(req: &Request, found: PathBuf, copy: bool) -> Reading {
        let (v, name) = (req.vsn.as_str(), req.name.as_str());
        let releases = req.root.join("releases");
        let copy = copy && found != super::package::link(name, v);
        let tmp = copy.then(|| {
            for stale in sweep_copies(&releases, name, v) {
                say(format!(
                    "removed {stale}, left in releases/ by an upgrade that was killed"
                ));
            }
            releases.join(copy_name(name, v, std::process::id()))
        });
        let (path, to, want) = (req.root.join(&found), tmp.clone(), wanted(name, v));
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let pkg = tarball::read(&path, &want, to.as_deref());
            (pkg, started.elapsed())
        });
        Reading {
            found,
            copy: tmp.map(|t| Pending(Some(t))),
            thread: Some(thread),
        }
    }

    /// The package read, with its copy if one was written.
    fn finish(mut self, root: &Path) -> Result<(PathBuf, tarball::Package, Option<Pending>)> {
        let joined = self.thread.take().map(std::thread::JoinHandle::join);
        let (read, took) = match joined {
            Some(Ok(outcome)) => outcome,
            _ => (
                Err("the package's reader stopped".to_string()),
                Default::default(),
            ),
        };
        let path = root.join(&self.found);
        let pkg = read.map_err(|e| {
            Error::message(
                2,
                format!("ERROR: cannot read the package {}: {e}", path.display()),
            )
        })?;
        say(format!(
            "read package {} ({} entries, {:.1} MB) in {} ms",
            self.found.display(),
            pkg.entries.len(),
            pkg.bytes as f64 / 1e6,
            took.as_millis()
        ));
        let copy = self.copy.take().filter(|_| pkg.copied);
        Ok((std::mem::take(&mut self.found), pkg, copy))
    }
}

impl Drop for Reading {
    /// A read not needed after all: its copy is removed once the reader is done with it.
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The checks for a version still in its package, in one pass over it (`ahead`, when the
/// read was started early): what passed, and (with `copy`) the package's inflated tar for
/// release_handler, under a temp name in `releases/` (removed when a check refuses).
pub(super) fn package_checks(
    req: &Request,
    running: &str,
    copy: bool,
    ahead: Option<Reading>,
) -> Result<Read> {
    let (v, root, name) = (req.vsn.as_str(), req.root.as_path(), req.name.as_str());
    let reading = match ahead {
        Some(r) => r,
        None => Reading::start(req, checks::locate(root, name, v).map_err(refused)?, copy),
    };
    let (found, pkg, copy) = reading.finish(root)?;
    let facts = Facts {
        root,
        name,
        target: v,
        running,
        package: Some((&found, &pkg)),
    };
    let passed = checks::run(&facts, &Disk).map_err(refused)?;
    Ok(Read {
        found,
        passed,
        pkg,
        copy,
    })
}

fn wanted(name: &str, vsn: &str) -> impl Fn(&str) -> bool + Send + 'static {
    let mut files: Vec<String> = [format!("{name}.rel"), "relup".into(), "sys.config".into()]
        .iter()
        .map(|f| format!("releases/{vsn}/{f}"))
        .collect();
    files.push(new_script_name(name, vsn));
    move |e: &str| files.iter().any(|f| f == e)
}

/// relx's versioned start script in the package (the permafy source).
fn new_script_name(name: &str, vsn: &str) -> String {
    format!("bin/{name}-{vsn}")
}

/// The package's `bin/NAME-VSN` (left out of what release_handler unpacks with the rest of
/// `bin/`), written when the release has none yet.
pub(super) fn new_script(req: &Request, pkg: &tarball::Package) -> Result<()> {
    let name = new_script_name(&req.name, &req.vsn);
    let to = req.root.join(&name);
    match pkg.files.get(&name) {
        Some(bytes) if !to.exists() => {
            crate::config::render::write_fresh(&to, bytes, 0o755)?;
            say(format!("wrote {} from the package", to.display()));
            Ok(())
        }
        _ => Ok(()),
    }
}

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

/// Puts the package where release_handler reads it (`releases/VSN/NAME.tar.gz`): the
/// copy (the package inflated: release_handler unpacks a plain tar several times faster),
/// or a symlink to the package, as relx makes. release_handler unpacks without
/// overwriting a file the release already has (erl_tar's `keep_old_files`), so the
/// package's `outside` entries (`bin/NAME`, `releases/start_erl.data`, …) leave the running
/// release's own as they are. Returns whether beamrc created something there.
pub(super) fn give_package(
    root: &Path,
    found: &Path,
    link: &Path,
    outside: &[String],
    copy: Option<Pending>,
) -> Result<bool> {
    let at = root.join(link);
    if copy.is_none() && found == link {
        return Ok(false);
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
    let existing: Vec<&str> = outside
        .iter()
        .map(|e| e.trim_end_matches('/'))
        .filter(|e| std::fs::symlink_metadata(root.join(e)).is_ok_and(|m| !m.is_dir()))
        .collect();
    if !existing.is_empty() {
        say(format!(
            "release_handler leaves the release's own {} as they are (it does not overwrite existing files)",
            existing.join(", ")
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_upgrades_copy_is_swept_a_running_ones_is_not() {
        let dir = crate::test_support::scratch("upgrade-sweep");
        // u32::MAX is no process at all
        let dead = copy_name("demo", "0.2.0", u32::MAX);
        let mine = copy_name("demo", "0.2.0", std::process::id());
        let other = copy_name("demo", "0.3.0", u32::MAX);
        for f in [&dead, &mine, &other] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        assert_eq!(sweep_copies(&dir, "demo", "0.2.0"), vec![dead.clone()]);
        assert!(!dir.join(&dead).exists());
        assert!(dir.join(&mine).exists() && dir.join(&other).exists());
    }
}
