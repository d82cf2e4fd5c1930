//! An upgrade command as data: what the planner hands the executor, and the steps a dry
//! run shows.
use super::package;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `versions`: release_handler's known releases.
    Versions,
    /// `unpack VSN`.
    Unpack,
    /// `install VSN` (= `upgrade` = `downgrade`): unpack if needed, check, install, and
    /// make permanent unless `--no-permanent`.
    Install { permanent: bool },
    /// `uninstall VSN`: `remove_release`.
    Uninstall,
    /// `install VSN --check` (and `check --upgrade VSN`): the checks only, nothing changed;
    /// `json`: reported as `check --json` reports (`check --upgrade VSN --json`).
    Check { json: bool },
}

/// Which release kind runs the command (messages and the permafy copy differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mix,
    Relx,
}

/// The running node, reached natively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub own: String,
    pub cookie: String,
    pub epmd_port: u16,
    pub connect_timeout: Duration,
    /// Epmd-less port, address family, interface.
    pub endpoint: crate::dist::Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub op: Op,
    /// The version asked for (empty for `versions`).
    pub vsn: String,
    pub root: PathBuf,
    pub name: String,
    pub kind: Kind,
    pub target: Target,
    /// Bounds every release_handler call (`BEAMRC_UPGRADE_TIMEOUT`).
    pub timeout: Duration,
    /// `RELEASE_TMP`, for the runtime configuration computed for the target.
    pub tmp: PathBuf,
}

impl Target {
    /// The target of an existing client configuration (relx's remote commands).
    pub fn of(cfg: &crate::dist::ClientConfig) -> Target {
        Target {
            node: cfg.target.clone(),
            own: cfg.own_name.clone(),
            cookie: cfg.cookie.clone(),
            epmd_port: cfg.epmd_port,
            connect_timeout: cfg.connect_timeout,
            endpoint: crate::dist::Endpoint {
                dist_port: cfg.dist_port,
                family: cfg.family,
                address: cfg.address,
            },
        }
    }
}

impl Request {
    pub(crate) fn client_config(&self) -> crate::dist::ClientConfig {
        let t = &self.target;
        crate::dist::ClientConfig {
            epmd_port: t.epmd_port,
            connect_timeout: t.connect_timeout,
            call_timeout: Some(self.timeout),
            ..crate::dist::ClientConfig::new(&t.node, &t.own, &t.cookie)
        }
        .with_endpoint(t.endpoint)
    }

    /// What the executor will do, in order, for the dry run.
    pub fn steps(&self) -> Vec<String> {
        let (n, v) = (&self.name, &self.vsn);
        let mut s = vec![format!(
            "ask release_handler on {} which releases it knows (which_releases), each call bounded by {} s (BEAMRC_UPGRADE_TIMEOUT)",
            self.target.node,
            self.timeout.as_secs_f64()
        )];
        let unpack = |s: &mut Vec<String>| {
            s.push(format!(
                "if {v} is unknown: find the package ({}), check it (entries, .rel, relup from the running version, ERTS and applications, sys.config, Attr chunks, not in _build, nothing half-unpacked)",
                package::candidates(n, v)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            s.push(format!(
                "give release_handler {} (the package inflated, written while it is checked; a link to a plain tar), then unpack_release(\"{}\")",
                package::link(n, v).display(),
                package::handler_name(n, v)
            ));
        };
        match self.op {
            Op::Versions => {}
            Op::Check { .. } => {
                unpack(&mut s);
                s.truncate(s.len() - 1);
                s.push("stop there: nothing is changed on the node or on disk".into());
            }
            Op::Unpack => unpack(&mut s),
            Op::Install { permanent } => {
                unpack(&mut s);
                if self.kind == Kind::Mix {
                    s.push(format!("if the target has runtime configuration (config/runtime.exs): compute it on the node and let release_handler read it as releases/{v}/sys.config while it installs (the built file is put back after)"));
                }
                s.push(format!(
                    "check_install_release(\"{v}\"); on failure remove_release(\"{v}\") if beamrc unpacked it"
                ));
                s.push(format!(
                    "install_release(\"{v}\", [{{update_paths, true}}])"
                ));
                if permanent {
                    s.push(format!("make_permanent(\"{v}\") (the next boot runs {v})"));
                    if self.kind == Kind::Mix {
                        s.push(format!("if it reboots after computing its configuration (reboot_system_after_config): write that configuration under {} and make it init's -config for a restart", self.tmp.display()));
                    }
                    if self.kind == Kind::Relx {
                        s.push(format!(
                            "keep bin/{n}-{v} as the kept script (relx's permafy; bin/{n} stays beamrc)"
                        ));
                    }
                }
            }
            Op::Uninstall => s.push(format!(
                "remove_release(\"{v}\") unless it is current or permanent"
            )),
        }
        s
    }
}
