//! The executor: release_handler's calls in relx's order, with the checks before the
//! first change and the undo of what beamrc did when a step fails before the point of no
//! return. relx's lines (install_upgrade.escript's texts and exit codes) go to stdout;
//! beamrc's own account of each step goes to stderr.
use super::checks::{self, Checked, Disk, Facts, Passed, Refusal};
use super::node::{self, Known, Node, vsn_arg};
use super::request::{Kind, Op, Request};
use super::unpack::{Read, Reading, give_package, new_script, package_checks, register_running};
use super::{package, runtime, show};
use crate::dist::Term;
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs the command; returns the exit code (relx's 0–4), or an error before any change.
pub fn run(req: &Request, out: &mut dyn Write) -> Result<i32> {
    if req.op == (Op::Check { json: true }) {
        let (text, code) = super::findings::json(&check(req));
        let _ = out.write_all(text.as_bytes());
        return Ok(code);
    }
    let started = std::time::Instant::now();
    // a package to check is read (and its copy written) while the node is asked about it
    let ahead = match req.op {
        Op::Check { .. } => Reading::ahead(req, false),
        Op::Unpack | Op::Install { .. } => Reading::ahead(req, true),
        Op::Versions | Op::Uninstall => None,
    };
    let node = Node::new(req.client_config(), &req.vsn);
    let known = node.which_releases()?;
    let code = match req.op {
        Op::Versions => {
            let _ = out.write_all(node::versions_text(&known).as_bytes());
            Ok(0)
        }
        Op::Uninstall => uninstall(&node, req, &known, out),
        Op::Check { .. } => checks_only(&node, req, &known, ahead).map(|lines| {
            for l in &lines {
                let _ = writeln!(out, "checked: {l}");
            }
            let _ = writeln!(
                out,
                "{} {}: every check passed, nothing was changed",
                req.name, req.vsn
            );
            0
        }),
        Op::Unpack | Op::Install { .. } => install(&node, req, &known, out, ahead),
    };
    let _ = out.flush();
    tracing::debug!(
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        node_ms = node.busy().as_secs_f64() * 1e3,
        "upgrade command done"
    );
    code
}

/// One line of beamrc's own account (stderr).
pub(super) fn say(text: impl std::fmt::Display) {
    eprintln!("beamrc: {text}");
}

pub(super) fn refused(r: Refusal) -> Error {
    r.into()
}

fn status_of<'a>(known: &'a [Known], vsn: &str) -> Option<&'a str> {
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
fn w(out: &mut dyn Write, line: String) -> Result<i32> {
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
    checks::run(&facts, &Disk).map_err(refused)
}

/// `check --upgrade VSN`: every check `install VSN` makes before its first change, and
/// nothing else; what was checked.
fn check(req: &Request) -> Result<Vec<Checked>> {
    let ahead = Reading::ahead(req, false);
    let node = Node::new(req.client_config(), &req.vsn);
    let known = node.which_releases()?;
    checks_only(&node, req, &known, ahead)
}

fn checks_only(
    node: &Node,
    req: &Request,
    known: &[Known],
    ahead: Option<Reading>,
) -> Result<Vec<Checked>> {
    let running = running_here(node, req, known)?;
    let status = |line: String| Ok(vec![super::findings::pass("upgrade.status", line)]);
    let passed = match status_of(known, &req.vsn) {
        None => package_checks(req, &running, false, ahead)?.passed,
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
        pkg,
        copy,
    } = package_checks(req, running, true, ahead)?;
    report(&passed);
    register_running(node, req, running)?;
    let link = package::link(name, v);
    let made = give_package(root, &found, &link, &passed.outside, copy)?;
    w(
        out,
        format!(
            "Release {v} not found, attempting to unpack {}",
            found.display()
        ),
    )?;
    match node.rh(
        "unpack_release",
        vec![Term::charlist(&package::handler_name(name, v))],
    )? {
        r if matches!(r.as_tuple(), Some([ok, _]) if ok.is_atom("ok")) => {
            w(out, format!("Unpacked successfully: \"{v}\""))?;
            new_script(req, &pkg)?;
        }
        r => {
            if made {
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

/// check_install_release, install_release with update_paths, then make permanent.
fn check_and_install(
    node: &Node,
    req: &Request,
    passed: &Passed,
    unpacked_here: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let v = req.vsn.as_str();
    let sys_config = req.root.join("releases").join(v).join("sys.config");
    let (swap, computed) = match (&passed.sys_config, req.kind) {
        (Some(text), Kind::Mix) if runtime::has_providers(text) => {
            match runtime::compute(node, &sys_config) {
                Ok(Some(computed)) => {
                    let s = runtime::Swap::put(&sys_config, &computed)?;
                    say(format!(
                        "computed the runtime configuration of {v} on the node (its config providers, the node's environment); release_handler reads it as {} while installing",
                        sys_config.display()
                    ));
                    let reboots = runtime::reboots(text);
                    (Some(s), reboots.then_some(computed))
                }
                Ok(None) => (None, None),
                Err(e) => {
                    undo(node, req, unpacked_here);
                    return Err(e);
                }
            }
        }
        _ => (None, None),
    };
    let result = install_steps(node, req, unpacked_here, out);
    if let Some(s) = swap {
        match s.restore() {
            Ok(()) => say(format!("put the built {} back", sys_config.display())),
            Err(e) => crate::error::warn(format!("could not put the built sys.config back: {e}")),
        }
    }
    match result? {
        0 if matches!(req.op, Op::Install { permanent: true }) => {
            let code = permafy(node, req, out)?;
            if let (0, Some(computed)) = (code, computed) {
                let at = runtime::keep_for_restart(node, req, v, &computed)?;
                say(format!(
                    "a restart of the node (init:restart) boots {v} with its computed configuration {} (a reboot release: its built sys.config would run the providers again)",
                    at.display()
                ));
            }
            Ok(code)
        }
        code => Ok(code),
    }
}

fn install_steps(
    node: &Node,
    req: &Request,
    unpacked_here: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let v = req.vsn.as_str();
    let r = node.rh("check_install_release", vec![vsn_arg(v)])?;
    if !matches!(r.as_tuple(), Some([ok, _, _]) if ok.is_atom("ok")) {
        w(
            out,
            format!(
                "ERROR: release_handler:check_install_release failed: {}",
                show::term(error_reason(&r))
            ),
        )?;
        undo(node, req, unpacked_here);
        return Ok(3);
    }
    say(format!("check_install_release(\"{v}\"): ok"));
    let opts = Term::list(vec![Term::Tuple(vec![
        Term::atom("update_paths"),
        Term::atom("true"),
    ])]);
    let r = node.rh("install_release", vec![vsn_arg(v), opts])?;
    let tag = r
        .as_tuple()
        .and_then(|t| t.first())
        .and_then(Term::as_atom)
        .unwrap_or("");
    if tag == "ok" || tag == "continue_after_restart" {
        return w(out, format!("Installed Release: {v}"));
    }
    let reason = error_reason(&r);
    let code = match reason.as_tuple() {
        Some([t, _]) if t.is_atom("no_such_release") => {
            let _ = out.write_all(node::versions_text(&node.which_releases()?).as_bytes());
            w(
                out,
                format!("ERROR: Unable to revert to '{v}' - not installed."),
            )?;
            2
        }
        Some([t, m]) if t.is_atom("old_processes") => {
            w(
                out,
                format!(
                    "ERROR: unable to install '{v}' - old processes still running code from module {}",
                    show::term(m)
                ),
            )?;
            3
        }
        _ => {
            w(
                out,
                format!(
                    "ERROR: release_handler:install_release failed: {}",
                    show::term(reason)
                ),
            )?;
            4
        }
    };
    undo(node, req, unpacked_here);
    Ok(code)
}

/// Before the point of no return: remove the version beamrc unpacked, if release_handler
/// still has it merely unpacked (nothing was installed).
fn undo(node: &Node, req: &Request, unpacked_here: bool) {
    let v = req.vsn.as_str();
    if !unpacked_here {
        return;
    }
    let still_unpacked = node
        .which_releases()
        .is_ok_and(|k| status_of(&k, v) == Some("unpacked"));
    if !still_unpacked {
        say(format!("{v} is no longer just unpacked: not removing it"));
        return;
    }
    match node.rh("remove_release", vec![vsn_arg(v)]) {
        Ok(r) if r.is_atom("ok") => say(format!(
            "removed release {v} again (beamrc unpacked it): the node is as before"
        )),
        Ok(r) => say(format!("could not remove {v}: {}", show::term(&r))),
        Err(e) => say(format!("could not remove {v}: {e}")),
    }
}

/// make_permanent (relx's copy of `bin/NAME-VSN` is the relx lifecycle's, onto the kept
/// script: `bin/NAME` is beamrc).
fn permafy(node: &Node, req: &Request, out: &mut dyn Write) -> Result<i32> {
    let v = req.vsn.as_str();
    let r = node.rh("make_permanent", vec![vsn_arg(v)])?;
    if !r.is_atom("ok") {
        w(
            out,
            format!(
                "ERROR: release_handler:make_permanent failed: {}",
                show::term(error_reason(&r))
            ),
        )?;
        return Ok(4);
    }
    // relx: the lifecycle keeps bin/NAME-VSN as the kept script (bin/NAME stays beamrc).
    w(out, format!("Made release permanent: \"{v}\""))
}
