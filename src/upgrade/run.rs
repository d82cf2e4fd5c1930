//! The executor: release_handler's calls in relx's order, with the checks before the
//! first change and the undo of what beamrc did when a step fails before the point of no
//! return. relx's lines (install_upgrade.escript's texts and exit codes) go to stdout;
//! beamrc's own account of each step goes to stderr.
use super::checks::{self, Checked, Disk, Facts, Passed};
use super::install::{check_and_install, permafy};
use super::node::{self, Known, Node, vsn_arg};
use super::reading::{Read, Reading, package_checks};
use super::request::{Op, Request};
use super::unpack::{give_package, register_running};
use super::{package, show};
use crate::dist::Term;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs the command; returns the exit code (relx's 0–4), or an error before any change.
pub fn run(req: &Request, out: &mut dyn Write) -> Result<i32> {
    let started = std::time::Instant::now();
    // a package to check is read (and its copy written) while the node is asked about it
    let ahead = Reading::ahead(req);
    let node = Node::new(req.client_config(), &req.vsn);
    let known = node.which_releases();
    let code = match req.op {
        // the checks' report covers a node that cannot answer too (as JSON, with its code)
        Op::Check { json } => {
            let passed = known.and_then(|known| checks_only(&node, req, &known, ahead));
            report_checks(req, passed, json, out)
        }
        Op::Versions => known.map(|known| {
            let _ = out.write_all(node::versions_text(&known).as_bytes());
            0
        }),
        Op::Uninstall => known.and_then(|known| uninstall(&node, req, &known, out)),
        Op::Unpack | Op::Install { .. } => {
            known.and_then(|known| install(&node, req, &known, out, ahead))
        }
    };
    let _ = out.flush();
    tracing::debug!(
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        node_ms = node.busy().as_secs_f64() * 1e3,
        "upgrade command done"
    );
    code
}

/// `check --upgrade VSN` (and `install VSN --check`): what passed, one line each and a last
/// line, or the report as `check --json` prints it (a failure included, with its code).
fn report_checks(
    req: &Request,
    passed: Result<Vec<Checked>>,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    if json {
        let (text, code) = super::findings::json(&passed);
        let _ = out.write_all(text.as_bytes());
        return Ok(code);
    }
    for l in &passed? {
        let _ = writeln!(out, "checked: {l}");
    }
    let _ = writeln!(
        out,
        "{} {}: every check passed, nothing was changed",
        req.name, req.vsn
    );
    Ok(0)
}

/// One line of beamrc's own account (stderr).
pub(super) fn say(text: impl std::fmt::Display) {
    eprintln!("beamrc: {text}");
}

pub(super) fn status_of<'a>(known: &'a [Known], vsn: &str) -> Option<&'a str> {
    known
        .iter()
        .find(|k| k.vsn == vsn)
        .map(|k| k.status.as_str())
}

fn uninstall(node: &Node, req: &Request, known: &[Known], out: &mut dyn Write) -> Result<i32> {
    let v = &req.vsn;
    let line = match status_of(known, v) {
        None => return w(out, format!("Release {v} is already uninstalled.")),
        Some("current") => {
            w(
                out,
                format!("Uninstall failed: Release {v} is marked current."),
            )?;
            return Ok(2);
        }
        Some("permanent") => {
            w(out, format!("Uninstall failed: Release {v} is running."))?;
            return Ok(2);
        }
        Some("old") => format!("Release {v} is marked old, uninstalling it."),
        Some(_) => format!("Release {v} is marked unpacked, uninstalling it"),
    };
    w(out, line)?;
    match node.rh("remove_release", vec![vsn_arg(v)])? {
        r if r.is_atom("ok") => w(out, format!("Uninstalled Release: {v}")),
        r => {
            w(
                out,
                format!(
                    "ERROR: release_handler:remove_release failed: {}",
                    show::term(error_reason(&r))
                ),
            )?;
            Ok(3)
        }
    }
}

/// Writes one line of relx's output; Ok(0).
pub(super) fn w(out: &mut dyn Write, line: String) -> Result<i32> {
    let _ = writeln!(out, "{line}");
    Ok(0)
}

/// `{error, R}` → R (anything else as is).
pub(super) fn error_reason(t: &Term) -> &Term {
    match t.as_tuple() {
        Some([tag, r]) if tag.is_atom("error") => r,
        _ => t,
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn install(
    node: &Node,
    req: &Request,
    known: &[Known],
    out: &mut dyn Write,
    ahead: Option<Reading>,
) -> Result<i32> {
    let v = req.vsn.as_str();
    let running = running_here(node, req, known)?;
    let status = status_of(known, v).map(str::to_string);
    let permanent = matches!(req.op, Op::Install { permanent: true });
    let Some(status) = status else {
        return unpack_then_install(node, req, &running, out, ahead);
    };
    if req.op == Op::Unpack {
        return w(
            out,
            match status.as_str() {
                "old" => format!("Release {v} is marked old."),
                "unpacked" => format!("Release {v} is already unpacked."),
                "current" => format!("Release {v} is already installed and current."),
                _ => format!("Release {v} is already installed and set permanent."),
            },
        );
    }
    match status.as_str() {
        "current" if permanent => {
            w(
                out,
                format!("Release {v} is already installed and current, making permanent."),
            )?;
            return permafy(node, req, out);
        }
        "current" => {
            return w(
                out,
                format!("Release {v} is already installed and current."),
            );
        }
        "permanent" if running == v => {
            return w(
                out,
                format!("Release {v} is already installed, running and set permanent."),
            );
        }
        "permanent" => w(
            out,
            format!("Release {running} is the currently running version."),
        )?,
        "unpacked" => w(
            out,
            format!("Release {v} is already unpacked, now installing."),
        )?,
        _ => w(out, format!("Release {v} is marked old, switching to it."))?,
    };
    let passed = local_checks(req, &running)?;
    report(&passed);
    check_and_install(node, req, &passed, false, out)
}

/// The checks for a version release_handler already has (its files in the release).
fn local_checks(req: &Request, running: &str) -> Result<Passed> {
    let facts = Facts {
        root: &req.root,
        name: &req.name,
        target: &req.vsn,
        running,
        package: None,
    };
    Ok(checks::run(&facts, &Disk)?)
}

/// `check --upgrade VSN`: every check `install VSN` makes before its first change, and
/// nothing else; what was checked.
fn checks_only(
    node: &Node,
    req: &Request,
    known: &[Known],
    ahead: Option<Reading>,
) -> Result<Vec<Checked>> {
    let running = running_here(node, req, known)?;
    let status = |line: String| Ok(vec![super::findings::pass("upgrade.status", line)]);
    let passed = match status_of(known, &req.vsn) {
        None => package_checks(req, &running, ahead)?.passed,
        Some("current") => return status(format!("{} is the current release", req.vsn)),
        Some("permanent") if running == req.vsn => {
            return status(format!("{} is running and permanent", req.vsn));
        }
        Some(_) => local_checks(req, &running)?,
    };
    Ok(passed.checked)
}

/// The version the node runs, once it is clear the node runs this release.
fn running_here(node: &Node, req: &Request, known: &[Known]) -> Result<String> {
    let running = node::running(known).ok_or_else(|| {
        Error::message(
            4,
            "ERROR: release_handler reports no current or permanent release",
        )
    })?;
    same_root(node, req)?;
    Ok(running.to_string())
}

/// release_handler unpacks under the node's root: it must be this release's.
fn same_root(node: &Node, req: &Request) -> Result<()> {
    let node_root = PathBuf::from(node.root_dir()?);
    if same_dir(&node_root, &req.root) {
        return Ok(());
    }
    Err(Error::message(
        2,
        format!(
            "ERROR: {} runs from {}, not from this release ({}): release_handler would unpack there",
            req.target.node,
            node_root.display(),
            req.root.display()
        ),
    ))
}

fn report(passed: &Passed) {
    for c in &passed.checked {
        say(format!("checked: {c}"));
    }
}

fn unpack_then_install(
    node: &Node,
    req: &Request,
    running: &str,
    out: &mut dyn Write,
    ahead: Option<Reading>,
) -> Result<i32> {
    let (v, root, name) = (req.vsn.as_str(), req.root.as_path(), req.name.as_str());
    let Read {
        found,
        passed,
        copy,
    } = package_checks(req, running, ahead)?;
    report(&passed);
    register_running(node, req, running)?;
    let link = package::link(name, v);
    let given = give_package(req, &found, &link, &passed.outside, copy)?;
    w(
        out,
        format!(
            "Release {v} not found, attempting to unpack {}",
            found.display()
        ),
    )?;
    let unpacked = node.rh(
        "unpack_release",
        vec![Term::charlist(&package::handler_name(name, v))],
    );
    given.tidy(root);
    match unpacked? {
        r if matches!(r.as_tuple(), Some([ok, _]) if ok.is_atom("ok")) => {
            w(out, format!("Unpacked successfully: \"{v}\""))?;
        }
        r => {
            if given.made {
                let _ = std::fs::remove_file(root.join(&link));
            }
            w(
                out,
                format!("Unpack failed: {}", show::term(error_reason(&r))),
            )?;
            let _ = out.write_all(node::versions_text(&node.which_releases()?).as_bytes());
            return Ok(2);
        }
    }
    if req.op == Op::Unpack {
        return Ok(0);
    }
    check_and_install(node, req, &passed, true, out)
}
