//! `BEAMRC_DRY_RUN=1`: the plan as text — what would be prepared, run, and with which
//! environment changes — with the cookie masked everywhere it appears.
use super::switches::FleetNodes;
use super::switches::show;
use super::{Action, BootWait, ExecSpec, NodeLink, Plan, Prepare, RemoteOp, Watch};
use crate::environment::EnvMap;
use std::ffi::OsStr;
use std::fmt::Write;

pub const MASK: &str = "********";

/// Renders the plan. `caller` is the environment beamrc was started with: only the
/// variables the plan adds or changes are listed (and the ones it removes).
pub fn render(plan: &Plan, caller: &EnvMap, cookie: Option<&str>) -> String {
    let mask = |s: &OsStr| -> String {
        let text = s.to_string_lossy().into_owned();
        match cookie {
            Some(c) if !c.is_empty() => mask_cookie(&text, c),
            _ => text,
        }
    };
    let mut out = String::new();
    render_into(&mut out, plan, caller, &mask);
    out
}

fn render_into(out: &mut String, plan: &Plan, caller: &EnvMap, mask: &dyn Fn(&OsStr) -> String) {
    for p in &plan.prepare {
        match p {
            Prepare::CreateDir(d) => {
                let _ = writeln!(out, "mkdir -p {}", mask(d.as_os_str()));
            }
            Prepare::WriteFile {
                path,
                contents,
                mode,
            } => {
                let _ = writeln!(
                    out,
                    "write {} ({} bytes, mode {:o})",
                    mask(path.as_os_str()),
                    contents.len(),
                    mode
                );
            }
            Prepare::RuntimeConfig { path, contents } => {
                if let Some(dir) = path.parent() {
                    let _ = writeln!(out, "mkdir -p {}", mask(dir.as_os_str()));
                }
                let _ = writeln!(
                    out,
                    "write {} ({} bytes, mode 600)",
                    mask(path.as_os_str()),
                    contents.len()
                );
            }
        }
    }
    match &plan.action {
        Action::Print(text) => {
            let _ = writeln!(out, "print {text:?}");
        }
        Action::Upgrade(req) => {
            for (i, step) in req.steps().iter().enumerate() {
                let _ = writeln!(out, "upgrade step {}: {}", i + 1, mask(OsStr::new(step)));
            }
        }
        Action::Exec(spec) => render_spec(out, "exec", spec, caller, mask),
        Action::Start(start) => {
            match &start.supervise {
                Some(s) => {
                    let _ = writeln!(
                        out,
                        "init mode ({}): spawn the VM, forward signals, reap orphans; after SIGTERM {}",
                        s.why,
                        match s.shutdown_timeout {
                            Some(t) =>
                                format!("kill it after {} (BEAMRC_SHUTDOWN_TIMEOUT)", show(t)),
                            None => "wait for it (BEAMRC_SHUTDOWN_TIMEOUT unset)".into(),
                        }
                    );
                    if let Some(d) = s.stop_delay {
                        let _ = writeln!(
                            out,
                            "hold the first SIGTERM {} before forwarding it (BEAMRC_STOP_DELAY)",
                            show(d)
                        );
                    }
                    render_spec(out, "supervise", &start.spec, caller, mask);
                }
                None => render_spec(out, "exec", &start.spec, caller, mask),
            }
            if let Some(u) = &start.user {
                let _ = writeln!(
                    out,
                    "drop to user {}{} before exec (BEAMRC_USER; needs root)",
                    u.user,
                    u.group
                        .as_deref()
                        .map(|g| format!(", group {g}"))
                        .unwrap_or_default()
                );
            }
            if let Some(n) = &start.notify {
                let socket = mask(&n.socket);
                let _ = match &n.watch {
                    Watch::Native(link) => writeln!(
                        out,
                        "notify {socket}: READY=1 once {} has booted ({}), STOPPING=1 when it stops",
                        link.target,
                        link_text(link)
                    ),
                    Watch::Blind(why) => writeln!(
                        out,
                        "notify {socket}: READY=1 when the VM starts (boot not observable: {why})"
                    ),
                };
            }
        }
        Action::Daemon(d) => {
            render_spec(out, "run", &d.run_erl, caller, mask);
            let _ = match &d.boot {
                Some(BootWait::Native { link, timeout }) => writeln!(
                    out,
                    "refuse if {0} already runs, then wait up to {1} (BEAMRC_START_TIMEOUT) for {0} to boot ({2})",
                    link.target,
                    show(*timeout),
                    link_text(link)
                ),
                Some(BootWait::Skip(why)) => writeln!(out, "no boot wait: {why}"),
                None => Ok(()),
            };
        }
        Action::Remote(r) => {
            let what = match &r.op {
                RemoteOp::Rpc(expr) => format!("rpc {}", mask(expr)),
                RemoteOp::Stop { wait } => {
                    format!(
                        "stop, then wait up to {} (BEAMRC_STOP_TIMEOUT) until it is gone",
                        show(*wait)
                    )
                }
                RemoteOp::Restart { wait } => format!(
                    "restart, then wait up to {} (BEAMRC_START_TIMEOUT) until it is back",
                    show(*wait)
                ),
                RemoteOp::Pid => "pid".into(),
                RemoteOp::Ping => "ping".into(),
                RemoteOp::Status => "status".into(),
                RemoteOp::Ready(check) => format!("ready ({})", ready_text(check)),
                RemoteOp::Wait { check, timeout } => format!(
                    "wait up to {} (--timeout, default BEAMRC_START_TIMEOUT) until ready ({})",
                    show(*timeout),
                    ready_text(check)
                ),
            };
            match &r.native {
                Some(link) => {
                    let _ = writeln!(out, "route native ({})", r.why);
                    let _ = writeln!(out, "{what} on {} ({})", link.target, link_text(link));
                    if let Some(f) = &r.fleet {
                        let nodes = match &f.nodes {
                            FleetNodes::List(list) => list.join(", "),
                            FleetNodes::Connected => {
                                "the target and every node in its nodes()".into()
                            }
                        };
                        let _ = writeln!(
                            out,
                            "fleet (BEAMRC_FLEET_NODES): on {nodes}, at most {} at a time (BEAMRC_FLEET_JOBS), one line per node",
                            f.jobs
                        );
                    }
                    if r.fleet.is_some() || matches!(r.op, RemoteOp::Wait { .. }) {
                        let _ = writeln!(
                            out,
                            "no hidden-VM fallback (fleet mode and wait are native only)"
                        );
                        return;
                    }
                    let _ = writeln!(
                        out,
                        "fallback when the node refuses the handshake for protocol reasons:"
                    );
                }
                None => {
                    let _ = writeln!(out, "route hidden VM ({})", r.why);
                    let _ = writeln!(out, "{what}:");
                }
            }
            render_into(out, &r.vm, caller, mask);
        }
    }
}

/// What `ready` checks, and that it writes nothing.
fn ready_text(check: &crate::probe::ReadyCheck) -> String {
    let mut parts = vec!["init:get_status() is {started, started}".to_string()];
    if !check.apps.is_empty() {
        parts.push(format!("applications {} started", check.apps.join(", ")));
    }
    if !check.processes.is_empty() {
        parts.push(format!(
            "processes {} registered",
            check.processes.join(", ")
        ));
    }
    format!("{}; one call, no file written", parts.join("; "))
}

/// How a native link connects (never the cookie).
fn link_text(link: &NodeLink) -> String {
    let host = link.own.split_once('@').map_or("", |(_, h)| h);
    let port = match link.endpoint.dist_port {
        Some(p) => format!("node port {p} (no EPMD)"),
        None => format!("EPMD port {}", link.epmd_port),
    };
    let at = match link.endpoint.address {
        Some(a) => format!(" at {a}"),
        None => String::new(),
    };
    format!(
        "as a hidden node named by the node (host {host}), {port}{at}, {:?}, connect timeout {}, call timeout {}",
        link.endpoint.family,
        show(link.connect_timeout),
        link.call_timeout.map(show).unwrap_or_else(|| "none".into())
    )
}

fn render_spec(
    out: &mut String,
    verb: &str,
    spec: &ExecSpec,
    caller: &EnvMap,
    mask: &dyn Fn(&OsStr) -> String,
) {
    let _ = writeln!(out, "{verb} {}", mask(spec.program.as_os_str()));
    for (i, a) in spec.argv.iter().enumerate() {
        let _ = writeln!(out, "  argv[{i}] {}", mask(a));
    }
    for (k, v) in spec.env.iter() {
        if caller.get(&k.to_string_lossy()) != Some(v) {
            let _ = writeln!(out, "  env {}={}", k.to_string_lossy(), mask(v));
        }
    }
    for (k, _) in caller.iter() {
        if !spec.env.contains(&k.to_string_lossy()) {
            let _ = writeln!(out, "  unset {}", k.to_string_lossy());
        }
    }
}

/// Replaces the cookie, and its backslash-escaped forms in run_erl's command string
/// (1.14 escapes `-`, later versions do not).
pub fn mask_cookie(text: &str, cookie: &str) -> String {
    let escaped = |dash_safe: bool| -> String {
        cookie
            .chars()
            .flat_map(|c| {
                let safe =
                    c.is_ascii_alphanumeric() || c == '_' || c == '/' || (dash_safe && c == '-');
                (!safe)
                    .then_some('\\')
                    .into_iter()
                    .chain(std::iter::once(c))
            })
            .collect()
    };
    text.replace(&escaped(false), MASK)
        .replace(&escaped(true), MASK)
        .replace(cookie, MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_cookie() {
        let link = NodeLink {
            target: "a@h".into(),
            own: "rpc-1-a@h".into(),
            cookie: "SECRETCOOKIE".into(),
            epmd_port: 4369,
            endpoint: Default::default(),
            connect_timeout: std::time::Duration::from_secs(7),
            call_timeout: None,
            legacy_rpc: false,
        };
        let env: EnvMap = [("RELEASE_COOKIE", "SECRETCOOKIE"), ("X", "1")]
            .into_iter()
            .collect();
        let text = format!("{link:?} {env:?}");
        assert!(
            !text.contains("SECRETCOOKIE") && text.contains("\"X\""),
            "{text}"
        );
    }

    #[test]
    fn masks_plain_and_escaped_cookie() {
        assert_eq!(
            mask_cookie("-setcookie AB== x", "AB=="),
            "-setcookie ******** x"
        );
        assert_eq!(
            mask_cookie(r" \-setcookie AB\=\= x", "AB=="),
            r" \-setcookie ******** x"
        );
        assert_eq!(mask_cookie("a-b", "a-b"), MASK);
        assert_eq!(mask_cookie(r"x a-b\= y", "a-b="), format!("x {MASK} y"));
        assert_eq!(mask_cookie(r"x a\-b\= y", "a-b="), format!("x {MASK} y"));
    }
}
