//! The `check` command (`bin/NAME check [--json] [--crash-dump [FILE]]`,
//! `beamrc check RELEASE_DIR`), the boot-failure explanation the start commands print,
//! and the cheap fatal checks before `exec` in plain `start`.
use super::report::{self, Finding, Level};
use super::{Host, Subject, crash_dump, diagnose};
use crate::environment::EnvMap;
use crate::environment::vars::{self, ReleaseVars};
use crate::release::Release;
use crate::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub json: bool,
    /// `--crash-dump [FILE]`: explain a dump instead of checking the release.
    pub crash_dump: Option<Option<PathBuf>>,
}

/// `--json`, `--crash-dump [FILE]`; `BEAMRC_CHECK_FORMAT=json` as `--json`.
pub fn parse_options(args: &[OsString], env: &EnvMap) -> Result<Options, String> {
    let mut o = Options {
        json: crate::plan::switches::check_json(env)?,
        crash_dump: None,
    };
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--json") => o.json = true,
            Some("--crash-dump") => {
                let file = it
                    .next_if(|n| !n.to_string_lossy().starts_with("--"))
                    .map(PathBuf::from);
                o.crash_dump = Some(file);
            }
            _ => {
                return Err(format!(
                    "ERROR: unknown check option {:?} (usage: check [--json] [--crash-dump [FILE]])",
                    a.to_string_lossy()
                ));
            }
        }
    }
    Ok(o)
}

/// Runs the preflight (or explains a crash dump): the text for stdout and the exit code.
pub fn run(opts: &Options, subject: &Subject, host: &Host) -> (String, i32) {
    if let Some(file) = &opts.crash_dump {
        let path = crash_dump::default_path(file.as_deref(), subject.env.get("ERL_CRASH_DUMP"));
        return match crash_dump::explain(&path) {
            Ok(text) => (text, 0),
            Err(text) => (format!("{text}\n"), 1),
        };
    }
    let findings = super::run(subject, host);
    let text = if opts.json {
        report::json(&findings)
    } else {
        report::text(&findings)
    };
    (text, report::exit_code(&findings))
}

/// What a failed boot left behind (`output`: a run_erl log tail, the VM's stderr, a
/// slogan), explained: the recognised errors, then the findings of the checks that cover
/// them. Empty when nothing is recognised.
pub fn explain_boot_failure(
    output: &str,
    subject: Option<&Subject>,
    host: Option<&Host>,
) -> String {
    let found = diagnose::diagnose(output);
    let mut text = diagnose::render(&found);
    let checks: Vec<&str> = found
        .iter()
        .flat_map(|d| d.checks.iter().copied())
        .collect();
    if let (Some(s), Some(h), false) = (subject, host, checks.is_empty()) {
        let findings: Vec<Finding> = super::run(s, h)
            .into_iter()
            .filter(|f| f.level > Level::Ok && checks.iter().any(|c| covers(c, f.check)))
            .collect();
        if !findings.is_empty() {
            text.push_str("check:\n");
            text.push_str(&report::text(&findings));
        }
    }
    text
}

/// `bin/NAME check [--json] [--crash-dump [FILE]]`, after env.sh, with the release's
/// variables. Prints the report; returns the exit code.
pub fn release_face(
    vars: &ReleaseVars,
    substitute: bool,
    hostname: String,
    args: &[OsString],
) -> Result<i32> {
    let opts = parse_options(args, &vars.env).map_err(|t| Error::message(1, t))?;
    let subject = Subject::from_vars(vars, substitute);
    let host = Host::detect(&vars.env, hostname);
    let (text, code) = run(&opts, &subject, &host);
    print!("{text}");
    Ok(code)
}

/// `beamrc check RELEASE_DIR [--json] [--crash-dump [FILE]]`: the variables are computed
/// from the caller's environment (env.sh is not sourced: `bin/NAME check` does that).
pub fn tool_face(args: &[OsString], hostname: String) -> Result<i32> {
    let usage = || {
        Error::message(
            1,
            "ERROR: usage: beamrc check RELEASE_DIR [--json] [--crash-dump [FILE]]",
        )
    };
    let (dir, rest) = args.split_first().ok_or_else(usage)?;
    if dir.to_string_lossy().starts_with("--") {
        return Err(usage());
    }
    let root = std::fs::canonicalize(dir)
        .map_err(|e| Error::Release(format!("cannot open {}: {e}", Path::new(dir).display())))?;
    let fallback = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let release = Release::open(root, &fallback);
    let caller = EnvMap::from_os();
    let argv0 = OsString::from(format!("bin/{}", release.name));
    let prelude = vars::prelude(&release, &caller, &argv0, "check".as_ref())?;
    let vsn_dir = vars::vsn_dir(&release, &prelude);
    let vars = vars::finish(prelude, &vsn_dir);
    let substitute = ["REPLACE_OS_VARS", "RELX_REPLACE_OS_VARS"]
        .iter()
        .any(|k| vars.env.non_empty(k).is_some());
    let sourced = std::fs::read(vsn_dir.join("env.sh"))
        .is_ok_and(|t| !crate::environment::env_sh::is_inert(&t));
    let code = release_face(&vars, substitute, hostname, rest)?;
    if sourced {
        eprintln!(
            "WARNING: {} has commands that beamrc check does not run; run bin/{} check to include what it sets",
            vsn_dir.join("env.sh").display(),
            release.name
        );
    }
    Ok(code)
}

/// `runtime.library` covers itself; `config.` covers every `config.*`.
fn covers(check: &str, finding: &str) -> bool {
    check == finding || (check.ends_with('.') && finding.starts_with(check))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn options() {
        let env = EnvMap::new();
        assert_eq!(parse_options(&[], &env).unwrap(), Options::default());
        let o = parse_options(&args(&["--crash-dump", "--json"]), &env).unwrap();
        assert_eq!(o.crash_dump, Some(None));
        assert!(o.json);
        let o = parse_options(&args(&["--crash-dump", "/x/d"]), &env).unwrap();
        assert_eq!(o.crash_dump, Some(Some(PathBuf::from("/x/d"))));
        assert!(parse_options(&args(&["--nope"]), &env).is_err());
        let mut env = EnvMap::new();
        env.set("BEAMRC_CHECK_FORMAT", "json");
        assert!(parse_options(&[], &env).unwrap().json);
        env.set("BEAMRC_CHECK_FORMAT", "yaml");
        assert!(parse_options(&[], &env).is_err());
    }
}
