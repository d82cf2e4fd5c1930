//! The upgrade commands' plan: the node reached natively, the version, the timeout.
use super::{Action, Inputs, Plan, Watch};
use crate::upgrade::{Kind, Op, Request, Target};
use crate::{Error, Result};

pub fn plan(word: &str, op: Op, vsn: &str, inputs: &Inputs) -> Result<Plan> {
    let v = &inputs.vars;
    if op != Op::Versions {
        if vsn.is_empty() {
            return Err(Error::message(
                1,
                format!(
                    "Missing version argument\nUsage: {} {word} {{version}}",
                    v.name
                ),
            ));
        }
        crate::upgrade::package::check_version(vsn)
            .map_err(|e| Error::message(1, format!("ERROR: {e}")))?;
    }
    let link = match super::remote::watch(inputs)? {
        Watch::Native(link) => link,
        Watch::Blind(why) => {
            return Err(Error::message(
                1,
                format!(
                    "ERROR: {word} talks to release_handler through beamrc's native client, which cannot reach the node here ({why})"
                ),
            ));
        }
    };
    Ok(Plan {
        prepare: Vec::new(),
        action: Action::Upgrade(Request {
            op,
            vsn: vsn.to_string(),
            root: v.root.clone(),
            name: v.name.clone(),
            kind: Kind::Mix,
            target: Target {
                node: link.target,
                own: link.own,
                cookie: link.cookie,
                epmd_port: link.epmd_port,
                connect_timeout: link.connect_timeout,
                endpoint: link.endpoint,
            },
            timeout: inputs.switches.upgrade_timeout,
            tmp: v.tmp.clone(),
        }),
    })
}
