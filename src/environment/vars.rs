//! The `RELEASE_*` variables, computed in the script's order with its defaults.
//!
//! Two steps around env.sh, as in the script: `prelude` sets what env.sh can already see
//! (root, name, version, command, prog); `finish` applies `${X:-default}` to the rest, reading
//! whatever env.sh left (exported or not).
use crate::environment::EnvMap;
use crate::release::Release;
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The distribution mode of `RELEASE_DISTRIBUTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Sname,
    Name,
    None,
}

impl Distribution {
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Distribution::Sname => Some("--sname"),
            Distribution::Name => Some("--name"),
            Distribution::None => None,
        }
    }
}

/// Everything the commands need, after env.sh and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseVars {
    pub root: PathBuf,
    pub name: String,
    pub vsn: String,
    pub prog: String,
    /// `REL_VSN_DIR`: fixed before env.sh ran, as in the script.
    pub vsn_dir: PathBuf,
    pub mode: OsString,
    pub node: OsString,
    pub tmp: PathBuf,
    pub vm_args: PathBuf,
    pub remote_vm_args: PathBuf,
    /// Raw `RELEASE_DISTRIBUTION`; validated by `distribution()`.
    pub distribution: String,
    pub boot_script: OsString,
    pub boot_script_clean: OsString,
    /// `RELEASE_SYS_CONFIG` as the caller or env.sh left it (not yet defaulted).
    pub sys_config: Option<PathBuf>,
    /// The environment handed on: exported variables with every `RELEASE_*` above set.
    pub env: EnvMap,
}

impl ReleaseVars {
    /// The script accepts only sname, name or none; it prints an error and boots anyway,
    /// which loses what the user asked for — we stop instead.
    pub fn distribution(&self, legacy_text: bool) -> Result<Distribution> {
        match self.distribution.as_str() {
            "sname" => Ok(Distribution::Sname),
            "name" => Ok(Distribution::Name),
            "none" => Ok(Distribution::None),
            other => Err(Error::message(
                1,
                if legacy_text {
                    format!(
                        "ERROR: Expected sname, name, or none in RELEASE_DISTRIBUTION, got: {other}"
                    )
                } else {
                    format!(
                        "ERROR: Expected RELEASE_DISTRIBUTION to be sname, name, or none, got: {other}"
                    )
                },
            )),
        }
    }

    /// `${RELEASE_SYS_CONFIG:-$REL_VSN_DIR/sys}`.
    pub fn default_sys_config(&self) -> PathBuf {
        self.sys_config
            .clone()
            .unwrap_or_else(|| self.vsn_dir.join("sys"))
    }
}

/// Step 1: the variables exported before env.sh is sourced.
pub fn prelude(
    release: &Release,
    caller: &EnvMap,
    argv0: &OsStr,
    command: &OsStr,
) -> Result<EnvMap> {
    let mut env = caller.clone();
    env.set("RELEASE_ROOT", release.root.as_os_str());
    let name = caller
        .non_empty("RELEASE_NAME")
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| release.name.clone().into());
    env.set("RELEASE_NAME", name);
    let vsn = match caller.non_empty("RELEASE_VSN") {
        Some(v) => v.to_os_string(),
        None => release.start_erl_data()?.rel_vsn.into(),
    };
    env.set("RELEASE_VSN", vsn);
    env.set("RELEASE_COMMAND", command);
    if caller.non_empty("RELEASE_PROG").is_none() {
        env.set(
            "RELEASE_PROG",
            crate::release::locate::prog_name(argv0).as_str(),
        );
    }
    Ok(env)
}

/// `REL_VSN_DIR`, from the prelude's version.
pub fn vsn_dir(release: &Release, prelude: &EnvMap) -> PathBuf {
    release.vsn_dir(&text(prelude, "RELEASE_VSN"))
}

/// Step 2: defaults for the variables read after env.sh, exported into `env`.
/// The cookie is resolved separately: not every command needs one.
pub fn finish(mut env: EnvMap, vsn_dir: &Path) -> ReleaseVars {
    let root = PathBuf::from(value(&env, "RELEASE_ROOT"));
    let name = text(&env, "RELEASE_NAME");
    let default = |env: &mut EnvMap, key: &str, fallback: OsString| -> OsString {
        let v = env
            .non_empty(key)
            .map(OsStr::to_os_string)
            .unwrap_or(fallback);
        env.set(key, v.clone());
        v
    };
    let mode = default(&mut env, "RELEASE_MODE", "embedded".into());
    let node = default(&mut env, "RELEASE_NODE", name.clone().into());
    let tmp = default(&mut env, "RELEASE_TMP", root.join("tmp").into());
    let vm_args = default(&mut env, "RELEASE_VM_ARGS", vsn_dir.join("vm.args").into());
    let remote_vm_args = default(
        &mut env,
        "RELEASE_REMOTE_VM_ARGS",
        vsn_dir.join("remote.vm.args").into(),
    );
    let distribution = default(&mut env, "RELEASE_DISTRIBUTION", "sname".into());
    let boot_script = default(&mut env, "RELEASE_BOOT_SCRIPT", "start".into());
    let boot_script_clean = default(&mut env, "RELEASE_BOOT_SCRIPT_CLEAN", "start_clean".into());
    let sys_config = env.non_empty("RELEASE_SYS_CONFIG").map(PathBuf::from);
    ReleaseVars {
        vsn: text(&env, "RELEASE_VSN"),
        prog: text(&env, "RELEASE_PROG"),
        root,
        name,
        vsn_dir: vsn_dir.to_path_buf(),
        mode,
        node,
        tmp: tmp.into(),
        vm_args: vm_args.into(),
        remote_vm_args: remote_vm_args.into(),
        distribution: distribution.to_string_lossy().into_owned(),
        boot_script,
        boot_script_clean,
        sys_config,
        env,
    }
}

fn value(env: &EnvMap, key: &str) -> OsString {
    env.get(key).map(OsStr::to_os_string).unwrap_or_default()
}

fn text(env: &EnvMap, key: &str) -> String {
    value(env, key).to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release {
            root: PathBuf::from("/R"),
            name: "demo".into(),
            start_erl: Err("no start_erl.data in this test".into()),
        }
    }

    #[test]
    fn prelude_honours_overrides_and_recomputes_root() {
        let caller: EnvMap = [
            ("RELEASE_ROOT", "/elsewhere"),
            ("RELEASE_VSN", "0.2.0"),
            ("RELEASE_NAME", ""),
        ]
        .into_iter()
        .collect();
        let env = prelude(
            &release(),
            &caller,
            OsStr::new("./bin/app"),
            OsStr::new("start"),
        )
        .unwrap();
        assert_eq!(env.get_str("RELEASE_ROOT"), Some("/R"));
        assert_eq!(env.get_str("RELEASE_NAME"), Some("demo"));
        assert_eq!(env.get_str("RELEASE_VSN"), Some("0.2.0"));
        assert_eq!(env.get_str("RELEASE_COMMAND"), Some("start"));
        assert_eq!(env.get_str("RELEASE_PROG"), Some("app"));
    }

    #[test]
    fn finish_applies_defaults_in_order() {
        let env: EnvMap = [
            ("RELEASE_ROOT", "/R"),
            ("RELEASE_NAME", "demo"),
            ("RELEASE_VSN", "0.1.0"),
            ("RELEASE_PROG", "demo"),
            ("RELEASE_MODE", ""),
            ("RELEASE_TMP", "/var/tmp/demo"),
        ]
        .into_iter()
        .collect();
        let v = finish(env, Path::new("/R/releases/0.1.0"));
        assert_eq!(v.mode, "embedded");
        assert_eq!(v.node, "demo");
        assert_eq!(v.tmp, PathBuf::from("/var/tmp/demo"));
        assert_eq!(v.vm_args, PathBuf::from("/R/releases/0.1.0/vm.args"));
        assert_eq!(v.distribution, "sname");
        assert_eq!(v.boot_script_clean, "start_clean");
        assert_eq!(v.env.get_str("RELEASE_MODE"), Some("embedded"));
        assert_eq!(v.sys_config, None);
        assert_eq!(
            v.default_sys_config(),
            PathBuf::from("/R/releases/0.1.0/sys")
        );
        assert!(v.distribution(false).is_ok());
    }

    #[test]
    fn bad_distribution_names_the_value() {
        let env: EnvMap = [("RELEASE_ROOT", "/R"), ("RELEASE_DISTRIBUTION", "foo")]
            .into_iter()
            .collect();
        let v = finish(env, Path::new("/R/releases/0.1.0"));
        let e = v.distribution(false).unwrap_err();
        assert_eq!(e.code(), 1);
        assert!(e.to_string().ends_with("got: foo"));
        assert!(
            v.distribution(true)
                .unwrap_err()
                .to_string()
                .contains("in RELEASE_DISTRIBUTION")
        );
    }
}
