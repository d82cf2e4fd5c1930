//! A version's package read for the checks, in one pass: started before the node is
//! asked anything (on a thread of its own, so that inflating it overlaps the first calls),
//! with the copy release_handler unpacks written along the way under a temp name in
//! `releases/`, removed unless it is handed on.
use super::checks::{self, Disk, Facts, Passed};
use super::findings::refuse;
use super::request::{Op, Request};
use super::run::say;
use super::{package, tarball};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A file beamrc is writing, removed unless it is [kept](Pending::keep_as).
pub(super) struct Pending(Option<PathBuf>);

impl Pending {
    /// Renames it into place.
    pub(super) fn keep_as(mut self, at: &Path) -> Result<()> {
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

/// A package read for the checks, with its copy when one was asked for and written.
pub(super) struct Read {
    pub found: PathBuf,
    pub passed: Passed,
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

type Outcome = (
    std::result::Result<tarball::Package, String>,
    std::time::Duration,
);

/// A read under way.
pub(super) struct Reading {
    found: PathBuf,
    /// The copy's temp name, removed unless it is handed on.
    copy: Option<Pending>,
    stop: tarball::Stop,
    thread: Option<std::thread::JoinHandle<Outcome>>,
}

impl Reading {
    /// Starts reading VSN's package for the commands that check one (`unpack`, `install`,
    /// the checks alone) when it has one and is not unpacked yet (no
    /// [markers](checks::unpacked_markers) in `releases/VSN`: a version release_handler may
    /// know already is not read ahead of the question).
    pub(super) fn ahead(req: &Request) -> Option<Reading> {
        if matches!(req.op, Op::Versions | Op::Uninstall) {
            return None;
        }
        let dir = req.root.join("releases").join(&req.vsn);
        let unpacked = checks::unpacked_markers(&req.name)
            .iter()
            .any(|f| dir.join(f).exists());
        if unpacked {
            return None;
        }
        let found = checks::locate(&req.root, &req.name, &req.vsn).ok()?;
        Some(Reading::start(req, found))
    }

    /// The copy is written for the commands that unpack (not for the checks alone), and
    /// never replaces a package that is already where release_handler reads it.
    fn start(req: &Request, found: PathBuf) -> Reading {
        let (v, name) = (req.vsn.as_str(), req.name.as_str());
        let releases = req.root.join("releases");
        let copy = !matches!(req.op, Op::Check { .. }) && found != package::link(name, v);
        let tmp = copy.then(|| {
            for stale in sweep_copies(&releases, name, v) {
                say(format!(
                    "removed {stale}, left in releases/ by an upgrade that was killed"
                ));
            }
            releases.join(copy_name(name, v, std::process::id()))
        });
        let stop = tarball::Stop::default();
        let (path, to, want) = (req.root.join(&found), tmp.clone(), wanted(name, v));
        let job_stop = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let job = tarball::Job {
                copy_to: to.as_deref(),
                stop: job_stop,
            };
            (tarball::read(&path, &want, &job), started.elapsed())
        });
        Reading {
            found,
            copy: tmp.map(|t| Pending(Some(t))),
            stop,
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
        if let (Some(why), Some(Pending(Some(tmp)))) = (&pkg.copy_failed, &self.copy) {
            say(format!(
                "could not write the copy {}: {why}; release_handler gets a link to the package instead",
                tmp.display()
            ));
        }
        let copy = self.copy.take().filter(|_| pkg.copied);
        Ok((std::mem::take(&mut self.found), pkg, copy))
    }
}

impl Drop for Reading {
    /// A read not needed after all (a refusal, the node unreachable) stops at its next
    /// chunk; its copy is removed once the reader is done with it.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The checks for a version still in its package, in one pass over it (`ahead`, when the
/// read was started early): what passed, and (for `unpack`, `install`) the package's
/// inflated tar for release_handler, under a temp name in `releases/` (removed when a check
/// refuses).
pub(super) fn package_checks(req: &Request, running: &str, ahead: Option<Reading>) -> Result<Read> {
    let (v, root, name) = (req.vsn.as_str(), req.root.as_path(), req.name.as_str());
    let reading = match ahead {
        Some(r) => r,
        None => Reading::start(req, checks::locate(root, name, v)?),
    };
    let (found, pkg, copy) = reading.finish(root)?;
    not_in_the_way(root, &found, &package::link(name, v))?;
    let facts = Facts {
        root,
        name,
        target: v,
        running,
        package: Some((&found, &pkg)),
    };
    let passed = checks::run(&facts, &Disk)?;
    Ok(Read {
        found,
        passed,
        copy,
    })
}

/// A file of the user's at `releases/VSN/NAME.tar.gz` (not the package found, not a link)
/// would be replaced by what beamrc gives release_handler, and removed with it.
fn not_in_the_way(root: &Path, found: &Path, link: &Path) -> Result<()> {
    let at = root.join(link);
    let user_file = std::fs::symlink_metadata(&at).is_ok_and(|m| !m.file_type().is_symlink());
    if found == link || !user_file {
        return Ok(());
    }
    refuse(
        "upgrade.package",
        2,
        format!(
            "{} already exists beside the package found first ({}): release_handler unpacks from that name, so beamrc would replace it, and release_handler removes it after unpacking; move one of the two away",
            at.display(),
            found.display()
        ),
    )
    .map_err(Error::from)
}

fn wanted(name: &str, vsn: &str) -> impl Fn(&str) -> bool + Send + 'static {
    let files: Vec<String> = [format!("{name}.rel"), "relup".into(), "sys.config".into()]
        .iter()
        .map(|f| format!("releases/{vsn}/{f}"))
        .collect();
    move |e: &str| files.iter().any(|f| f == e)
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

    #[test]
    fn a_users_file_where_release_handler_reads_is_refused() {
        let root = crate::test_support::scratch("upgrade-in-the-way");
        let (found, link) = (
            Path::new("releases/demo-0.2.0.tar.gz"),
            Path::new("releases/0.2.0/demo.tar.gz"),
        );
        assert!(not_in_the_way(&root, found, link).is_ok());
        std::fs::create_dir_all(root.join("releases/0.2.0")).unwrap();
        std::os::unix::fs::symlink("/nowhere", root.join(link)).unwrap();
        assert!(
            not_in_the_way(&root, found, link).is_ok(),
            "a link is replaced"
        );
        std::fs::remove_file(root.join(link)).unwrap();
        std::fs::write(root.join(link), "x").unwrap();
        let e = not_in_the_way(&root, found, link).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("move one of the two away"), "{e}");
        assert!(not_in_the_way(&root, link, link).is_ok());
    }
}
