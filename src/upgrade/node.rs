//! release_handler's calls on the running node, each bounded by the upgrade timeout, with
//! their replies decoded.
use super::{progress, show};
use crate::dist::{self, ClientConfig, DistError, Term};
use crate::{Error, Result};

/// A release as `release_handler:which_releases/0` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    pub vsn: String,
    pub status: String,
}

/// One connection for the whole command (opened at the first call, opened again only
/// after the node closed it).
pub(crate) struct Node {
    pub cfg: ClientConfig,
    /// The version the command is about (for the progress lines).
    vsn: String,
    session: std::cell::RefCell<Option<dist::Session<'static, 'static>>>,
    /// Time spent waiting for the node (the rest is beamrc's own overhead).
    busy: std::cell::Cell<std::time::Duration>,
}

impl Node {
    pub(crate) fn new(cfg: ClientConfig, vsn: &str) -> Node {
        Node {
            cfg,
            vsn: vsn.to_string(),
            session: Default::default(),
            busy: Default::default(),
        }
    }

    fn call_once(&self, m: &str, f: &str, args: Vec<Term>) -> std::result::Result<Term, DistError> {
        let mut slot = self.session.borrow_mut();
        if slot.is_none() {
            *slot = Some(dist::Session::connect(&self.cfg)?);
        }
        let session = slot.as_mut().expect("connected");
        session.set_deadline(self.cfg.call_timeout.map(|t| std::time::Instant::now() + t));
        let reply = session.call(m, f, args);
        if reply.is_err() {
            *slot = None;
        }
        reply
    }

    pub(crate) fn busy(&self) -> std::time::Duration {
        self.busy.get()
    }

    /// `M:F(Args)` on the node; connection failures and `{badrpc, _}` are errors.
    pub(crate) fn call(&self, m: &str, f: &str, args: Vec<Term>) -> Result<Term> {
        let _span = tracing::debug_span!("upgrade call", m, f).entered();
        let started = std::time::Instant::now();
        let reply = progress::waiting(
            &progress::label(m, f, &self.vsn),
            progress::EVERY,
            |line| eprintln!("beamrc: {line}"),
            || self.call_once(m, f, args),
        );
        self.busy.set(self.busy.get() + started.elapsed());
        let reply = reply.map_err(|e| self.unreachable(m, f, e))?;
        if let Some([tag, reason]) = reply.as_tuple()
            && tag.is_atom("badrpc")
        {
            let text = show::term(reason);
            if m == "release_handler" && text.contains("noproc") {
                return Err(Error::message(
                    3,
                    format!(
                        "ERROR: release_handler is not running on {}: the release must include the sasl application (Mix: extra_applications: [:sasl]; relx: {{sasl, …}} in the release's applications)",
                        self.cfg.target
                    ),
                ));
            }
            return Err(Error::message(
                4,
                format!("ERROR: {m}:{f} failed on {}: {text}", self.cfg.target),
            ));
        }
        Ok(reply)
    }

    fn unreachable(&self, m: &str, f: &str, e: DistError) -> Error {
        match e {
            DistError::Timeout("call") => Error::Lifecycle(format!(
                "{} did not answer {m}:{f} within {} s (BEAMRC_UPGRADE_TIMEOUT)",
                self.cfg.target,
                self.cfg.call_timeout.map_or(0.0, |t| t.as_secs_f64())
            )),
            e if e.before_request() => {
                Error::message(1, format!("ERROR: cannot reach {}: {e}", self.cfg.target))
            }
            e => Error::message(1, format!("ERROR: {m}:{f} on {}: {e}", self.cfg.target)),
        }
    }

    pub(crate) fn rh(&self, f: &str, args: Vec<Term>) -> Result<Term> {
        self.call("release_handler", f, args)
    }

    pub(crate) fn which_releases(&self) -> Result<Vec<Known>> {
        let reply = self.rh("which_releases", Vec::new())?;
        let bad = || {
            Error::message(
                4,
                format!(
                    "ERROR: release_handler:which_releases() answered {}",
                    show::term(&reply)
                ),
            )
        };
        let items = reply.list_items().ok_or_else(bad)?;
        items
            .iter()
            .map(|r| match r.as_tuple() {
                Some([_name, vsn, _libs, status]) => Some(Known {
                    vsn: show::text(vsn)?,
                    status: status.as_atom()?.to_string(),
                }),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)
    }

    /// `code:root_dir()`: where release_handler unpacks.
    pub(crate) fn root_dir(&self) -> Result<String> {
        let reply = self.call("code", "root_dir", Vec::new())?;
        show::text(&reply).ok_or_else(|| {
            Error::message(
                4,
                format!("ERROR: code:root_dir() answered {}", show::term(&reply)),
            )
        })
    }
}

/// The running version: the one marked current, else the permanent one.
pub(crate) fn running(known: &[Known]) -> Option<&str> {
    let with = |s: &str| known.iter().find(|k| k.status == s).map(|k| k.vsn.as_str());
    with("current").or_else(|| with("permanent"))
}

/// relx's `Installed versions:` block.
pub(crate) fn versions_text(known: &[Known]) -> String {
    let mut out = String::from("Installed versions:\n");
    for k in known {
        out.push_str(&format!("* {}\t{}\n", k.vsn, k.status));
    }
    out
}

pub(crate) fn vsn_arg(vsn: &str) -> Term {
    Term::charlist(vsn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_and_versions() {
        let k = |v: &str, s: &str| Known {
            vsn: v.into(),
            status: s.into(),
        };
        let known = vec![k("0.2.0", "current"), k("0.1.0", "permanent")];
        assert_eq!(running(&known), Some("0.2.0"));
        assert_eq!(running(&known[1..]), Some("0.1.0"));
        assert_eq!(
            versions_text(&known),
            "Installed versions:\n* 0.2.0\tcurrent\n* 0.1.0\tpermanent\n"
        );
    }
}
