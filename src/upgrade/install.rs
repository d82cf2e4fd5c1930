//! The install steps once the version is unpacked: check_install_release, install_release
//! with `update_paths`, make_permanent, the runtime configuration carried through for Mix
//! releases, and the undo before the point of no return.
use super::checks::Passed;
use super::node::{Node, versions_text, vsn_arg};
use super::request::{Kind, Op, Request};
use super::run::{error_reason, say, status_of, w};
use super::{runtime, show};
use crate::Result;
use crate::dist::Term;
use std::io::Write;

/// check_install_release, install_release with update_paths, then make permanent.
pub(super) fn check_and_install(
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
                let at = runtime::keep_for_restart(node, req, &computed)?;
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
            let _ = out.write_all(versions_text(&node.which_releases()?).as_bytes());
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
pub(super) fn permafy(node: &Node, req: &Request, out: &mut dyn Write) -> Result<i32> {
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
