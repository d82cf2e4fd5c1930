//! A package's way to release_handler: read once for the checks (with the copy written
//! along the way), the running release registered where release_handler needs it, the
//! package (or its copy) put where release_handler unpacks from, relx's versioned script.
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

/// A package read for the checks, with the copy written along the way when asked for.
pub(super) struct Read {
    pub found: PathBuf,
    pub passed: Passed,
    pub pkg: tarball::Package,
    pub copy: Option<Pending>,
}

/// The checks for a version still in its package, in one pass over it: what passed, and
/// (with `copy`) the copy release_handler may unpack instead, under a temp name in
/// `releases/` (removed when a check refuses).
pub(super) fn package_checks(req: &Request, running: &str, copy: bool) -> Result<Read> {
    let (v, root, name) = (req.vsn.as_str(), req.root.as_path(), req.name.as_str());
    let found = checks::locate(root, name, v).map_err(refused)?;
    let tmp = root
        .join("releases")
        .join(format!(".{name}-{v}.beamrc-{}.tar", std::process::id()));
    let keep = |e: &str| checks::safe_entry(e, v, name);
    let started = std::time::Instant::now();
    let path = root.join(&found);
    let pkg = tarball::read(
        &path,
        &wanted(name, v),
        copy.then_some(tarball::CopyTo {
            path: &tmp,
            keep: &keep,
        }),
    )
    .map_err(|e| {
        Error::message(
            2,
            format!("ERROR: cannot read the package {}: {e}", path.display()),
        )
    })?;
    let copy = copy.then(|| Pending(Some(tmp)));
    say(format!(
        "read package {} ({} entries, {:.1} MB) in {} ms",
        found.display(),
        pkg.entries.len(),
        pkg.bytes as f64 / 1e6,
        started.elapsed().as_millis()
    ));
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

fn wanted(name: &str, vsn: &str) -> impl Fn(&str) -> bool {
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

/// Puts the package where release_handler reads it (`releases/VSN/NAME.tar.gz`): a
/// symlink as relx makes, or the copy (`kept` entries) without the entries that would
/// overwrite the running release. Returns whether beamrc created something there.
pub(super) fn give_package(
    root: &Path,
    found: &Path,
    link: &Path,
    left_out: &[String],
    copy: Option<Pending>,
    kept: usize,
) -> Result<bool> {
    let at = root.join(link);
    if left_out.is_empty() && found == link {
        return Ok(false);
    }
    std::fs::create_dir_all(at.parent().unwrap_or(root)).map_err(|e| Error::create(&at, e))?;
    let copy = copy.expect("the package was read with its copy");
    if left_out.is_empty() {
        drop(copy);
        let tmp = at.with_extension(format!("beamrc-{}.link", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(root.join(found), &tmp).map_err(|e| Error::create(&tmp, e))?;
        std::fs::rename(&tmp, &at).map_err(|e| Error::create(&at, e))?;
        say(format!("linked {} -> {}", at.display(), found.display()));
        return Ok(true);
    }
    copy.keep_as(&at)?;
    say(format!(
        "wrote {} ({kept} entries, uncompressed) for release_handler, leaving out what would overwrite the running release: {}",
        at.display(),
        left_out.join(", ")
    ));
    Ok(true)
}
