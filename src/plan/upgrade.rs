//! The upgrade commands' plan: the node reached natively, the version, the timeout.
use super::{Action, Inputs, Plan, Watch};
use crate::environment::EnvMap;
use crate::upgrade::{Kind, Op, Request, Target};
use crate::{Error, Result};
use std::ffi::OsString;

const CHECK_USAGE: &str = "usage: check --upgrade VSN [--json]";

/// `check --upgrade VSN [--json]` (the arguments after `check`; `BEAMRC_CHECK_FORMAT` as
/// for `check`): the version (its part before a `/`, as relx's rule) and whether JSON is
/// asked for.
pub fn check_args(args: &[OsString], env: &EnvMap) -> Result<(String, bool), String> {
    let mut json = super::switches::check_json(env)?;
    let mut vsn: Option<String> = None;
    for a in args {
        let a = a.to_string_lossy();
        match a.as_ref() {
            "--upgrade" => {}
            "--json" => json = true,
            o if o.starts_with('-') => {
                return Err(format!(
                    "ERROR: unknown check --upgrade option {o:?} ({CHECK_USAGE})"
                ));
            }
            w => match &vsn {
                None => vsn = Some(w.split('/').next().unwrap_or("").to_string()),
                Some(v) => {
                    return Err(format!(
                        "ERROR: check --upgrade takes one version, got {v:?} and {w:?} ({CHECK_USAGE})"
                    ));
                }
            },
        }
    }
    Ok((vsn.unwrap_or_default(), json))
}

/// The plan of `check --upgrade VSN [--json]`: the upgrade's checks alone.
pub fn check_plan(args: &[OsString], inputs: &Inputs) -> Result<Plan> {
    let (vsn, json) = check_args(args, &inputs.vars.env).map_err(|t| Error::message(1, t))?;
    plan("check --upgrade", Op::Check { json }, &vsn, inputs)
}

/// The version `NAME WORD VSN` names: given (relx's two lines when not, exit 1) and a
/// directory name under `releases/`.
pub fn version_of(name: &str, word: &str, vsn: &str) -> Result<()> {
    if vsn.is_empty() {
        return Err(Error::message(
            1,
            format!("Missing version argument\nUsage: {name} {word} {{version}}"),
        ));
    }
    crate::upgrade::package::check_version(vsn)
        .map_err(|e| Error::message(1, format!("ERROR: {e}")))
}

pub fn plan(word: &str, op: Op, vsn: &str, inputs: &Inputs) -> Result<Plan> {
    let v = &inputs.vars;
    if op != Op::Versions {
        version_of(&v.name, word, vsn)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_args` of `words` with `BEAMRC_CHECK_FORMAT` set to `format` (or unset).
    fn parsed(words: &[&str], format: Option<&str>) -> Result<(String, bool), String> {
        let mut env = EnvMap::new();
        if let Some(f) = format {
            env.set("BEAMRC_CHECK_FORMAT", f);
        }
        let words: Vec<OsString> = words.iter().map(OsString::from).collect();
        check_args(&words, &env)
    }

    #[test]
    fn check_upgrade_arguments() {
        let ok = |w: &[&str]| parsed(w, None).unwrap();
        assert_eq!(ok(&["--upgrade", "0.2.0"]), ("0.2.0".into(), false));
        assert_eq!(
            ok(&["0.2.0/x", "--upgrade", "--json"]),
            ("0.2.0".into(), true)
        );
        assert_eq!(ok(&["--upgrade"]), (String::new(), false));
        assert_eq!(
            parsed(&["--upgrade", "0.2.0", "--jsn"], None).unwrap_err(),
            "ERROR: unknown check --upgrade option \"--jsn\" (usage: check --upgrade VSN [--json])"
        );
        let two = parsed(&["--upgrade", "0.2.0", "0.3.0"], None).unwrap_err();
        assert!(
            two.contains("takes one version, got \"0.2.0\" and \"0.3.0\""),
            "{two}"
        );
        assert!(parsed(&["--upgrade", "0.2.0"], Some("json")).unwrap().1);
        assert!(!parsed(&["--upgrade", "0.2.0"], Some("text")).unwrap().1);
        assert_eq!(
            parsed(&["--upgrade", "0.2.0"], Some("yaml")).unwrap_err(),
            "ERROR: BEAMRC_CHECK_FORMAT must be text or json, got \"yaml\""
        );
    }
}
