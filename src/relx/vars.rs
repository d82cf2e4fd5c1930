//! The variables of relx's extended script (reference §1.2–§1.3), computed from the caller's
//! environment, the baked values and the release on disk, in the script's order.
//!
//! Read: `RELX_RPC_TIMEOUT` / `NODETOOL_TIMEOUT`, `RUNNER_LOG_DIR`, `RUN_ERL_DISABLE_FLOWCNTRL`,
//! `TERM`, `ESCRIPT_NAME`, `LD_LIBRARY_PATH`, `USE_NODETOOL`, `NODETOOL_NODE_PREFIX`,
//! `CODE_LOADING_MODE`, `PIPE_DIR`, `ERL_DIST_PORT`, `RELX_COOKIE`, `VMARGS_PATH`,
//! `RELX_CONFIG_PATH`, `RELX_REPLACE_OS_VARS`, `RELX_OUT_FILE_PATH`, `RELX_MULTI_NODE`
//! (the last five in [`super::files`]). Exported to the VM and to hooks: what the script
//! exports.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::script::RelxScript;
use crate::environment::EnvMap;
use crate::{Error, Result};

/// The script's variables before the node name is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelxVars {
    /// `RELEASE_ROOT_DIR` (= `ROOTDIR`).
    pub root: PathBuf,
    /// `SCRIPT`: the physical path of `bin/NAME`.
    pub script: PathBuf,
    pub rel_name: String,
    pub rel_vsn: String,
    /// `ERTS_VSN` (the found one, when the exact version was not there).
    pub erts_vsn: String,
    /// `REL_DIR` = `ROOT/releases/VSN`.
    pub rel_dir: PathBuf,
    /// `ERTS_DIR`.
    pub erts_dir: PathBuf,
    /// `RUNNER_LOG_DIR`.
    pub log_dir: PathBuf,
    /// `RELX_RPC_TIMEOUT` in seconds, as text (erl_call's `-timeout`).
    pub rpc_timeout: String,
    /// `USE_NODETOOL` is non-empty: rpc/eval print the nodetool way.
    pub use_nodetool: bool,
    /// `NODETOOL_NODE_PREFIX`, replacing the random id of helper node names.
    pub node_prefix: Option<String>,
    /// `CODE_LOADING_MODE`, if set.
    pub code_loading_mode: Option<String>,
    /// `PIPE_DIR` as set by the caller (else `/tmp/erl_pipes/NAME/`).
    pub pipe_dir: Option<PathBuf>,
    /// `ERL_DIST_PORT`, if set.
    pub dist_port: Option<String>,
    /// A warning to print on stderr (ERTS version mismatch), as the script does.
    pub warning: Option<String>,
    /// The environment handed to everything the script runs.
    pub env: EnvMap,
}

/// Where ERTS is: bundled, or below `erl` found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erts {
    pub dir: PathBuf,
    pub vsn: String,
    pub warning: Option<String>,
}

/// relx's `find_erts_dir`, without booting `erl`: the root of an `erl` on `PATH` is the
/// parent of its (symlink-resolved) `bin/`. `other_versions` lists `erts-*` directories
/// there, for the "Exact ERTS version … not found" fallback.
pub fn find_erts(root: &Path, erts_vsn: &str, path_var: Option<&std::ffi::OsStr>) -> Result<Erts> {
    let bundled = root.join(format!("erts-{erts_vsn}"));
    if bundled.is_dir() {
        return Ok(Erts {
            dir: bundled,
            vsn: erts_vsn.to_string(),
            warning: None,
        });
    }
    let no_erts = || {
        Error::message(
            1,
            "Can not run the release. There is no ERTS bundled with the release or found on the system.",
        )
    };
    let erl = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("erl"))
        .find(|p| p.is_file())
        .ok_or_else(no_erts)?;
    let erl_root = std::fs::canonicalize(&erl)
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.to_path_buf()))
        .ok_or_else(no_erts)?;
    let exact = erl_root.join(format!("erts-{erts_vsn}"));
    if exact.is_dir() {
        return Ok(Erts {
            dir: exact,
            vsn: erts_vsn.to_string(),
            warning: None,
        });
    }
    let mut found: Vec<String> = std::fs::read_dir(&erl_root)
        .map_err(|_| no_erts())?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some(name.strip_prefix("erts-")?.to_string())
        })
        .collect();
    found.sort();
    let vsn = found.pop().ok_or_else(no_erts)?;
    Ok(Erts {
        dir: erl_root.join(format!("erts-{vsn}")),
        warning: Some(format!(
            "Exact ERTS version ({erts_vsn}) match not found, instead using {vsn}. The release may fail to run."
        )),
        vsn,
    })
}

/// `RELX_RPC_TIMEOUT`, else `NODETOOL_TIMEOUT / 1000`, else 60. A `NODETOOL_TIMEOUT` that
/// is not a number is an error (exit 2, as dash's "Illegal number").
pub fn rpc_timeout(env: &EnvMap) -> Result<String> {
    if let Some(v) = env.non_empty_str("RELX_RPC_TIMEOUT") {
        return Ok(v.to_string());
    }
    match env.non_empty("NODETOOL_TIMEOUT") {
        None => Ok("60".to_string()),
        Some(raw) => {
            let text = raw.to_string_lossy();
            let ms: i64 = text.trim().parse().map_err(|_| {
                Error::message(
                    2,
                    format!(
                        "ERROR: NODETOOL_TIMEOUT: Illegal number: {text} (milliseconds expected)"
                    ),
                )
            })?;
            Ok((ms / 1000).to_string())
        }
    }
}

/// Everything up to the node name (steps 1–8 of §1.2).
pub fn compute(
    caller: &EnvMap,
    script: &RelxScript,
    root: &Path,
    script_path: &Path,
    erts: Erts,
) -> Result<RelxVars> {
    let rpc_timeout = rpc_timeout(caller)?;
    let mut env = caller.clone();
    let flowcntrl = caller
        .non_empty("RUN_ERL_DISABLE_FLOWCNTRL")
        .map(|v| v.to_os_string())
        .unwrap_or_else(|| "true".into());
    env.set("RUN_ERL_DISABLE_FLOWCNTRL", flowcntrl);
    if matches!(caller.get_str("TERM"), None | Some("") | Some("dumb")) {
        env.set("TERM", "screen");
    }
    env.set("REL_NAME", script.rel_name.as_str());
    env.set("RELEASE_NAME", script.rel_name.as_str());
    env.set("RELEASE_VSN", script.rel_vsn.as_str());
    env.set("RELEASE_PROG", script_path.as_os_str());
    if !caller.contains("ESCRIPT_NAME") {
        env.set("ESCRIPT_NAME", script_path.as_os_str());
    }
    env.set("RELX_RPC_TIMEOUT", rpc_timeout.as_str());
    env.set("ROOTDIR", root.as_os_str());
    env.set("BINDIR", erts.dir.join("bin").as_os_str());
    env.set("EMU", "beam");
    env.set("PROGNAME", "erl");
    let mut ld: OsString = erts.dir.join("lib").into_os_string();
    ld.push(":");
    ld.push(caller.get("LD_LIBRARY_PATH").unwrap_or_default());
    env.set("LD_LIBRARY_PATH", ld);
    let log_dir = caller
        .non_empty("RUNNER_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("log"));
    Ok(RelxVars {
        root: root.to_path_buf(),
        script: script_path.to_path_buf(),
        rel_name: script.rel_name.clone(),
        rel_vsn: script.rel_vsn.clone(),
        erts_vsn: erts.vsn,
        rel_dir: root.join("releases").join(&script.rel_vsn),
        erts_dir: erts.dir,
        log_dir,
        rpc_timeout,
        use_nodetool: caller.non_empty("USE_NODETOOL").is_some(),
        node_prefix: caller
            .non_empty_str("NODETOOL_NODE_PREFIX")
            .map(str::to_string),
        code_loading_mode: caller
            .non_empty_str("CODE_LOADING_MODE")
            .map(str::to_string),
        pipe_dir: caller.non_empty("PIPE_DIR").map(PathBuf::from),
        dist_port: caller.non_empty_str("ERL_DIST_PORT").map(str::to_string),
        warning: erts.warning,
        env,
    })
}

impl RelxVars {
    pub fn bindir(&self) -> PathBuf {
        self.erts_dir.join("bin")
    }

    /// `SYSTEM_LIB_DIR` = `dirname(ERTS_DIR)/lib`.
    pub fn system_lib_dir(&self) -> PathBuf {
        self.erts_dir.parent().unwrap_or(Path::new("/")).join("lib")
    }

    /// `PIPE_DIR`, defaulting to `/tmp/erl_pipes/NAME/`; and whether it was defaulted
    /// (then `/tmp/erl_pipes/` is created with mode 1777).
    pub fn pipe_dir(&self, node: &str) -> (PathBuf, bool) {
        match &self.pipe_dir {
            Some(p) => (p.clone(), false),
            None => (PathBuf::from(format!("/tmp/erl_pipes/{node}/")), true),
        }
    }

    /// The boot file of `console`/`foreground`: `REL_DIR/NAME` if `NAME.boot` exists, else
    /// `REL_DIR/start`.
    pub fn release_boot(&self) -> PathBuf {
        let named = self.rel_dir.join(&self.rel_name);
        if crate::paths::with_suffix(&named, ".boot").is_file() {
            named
        } else {
            self.rel_dir.join("start")
        }
    }

    /// `-R` from ERTS 11.0 (OTP 23) on, else `-r`; the same test decides `undefined@host`
    /// for remsh with short names. `minor` 1 is the long-name threshold.
    pub fn erts_at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self
            .erts_vsn
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        have >= (major, minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        let mut e = EnvMap::new();
        for (k, v) in pairs {
            e.set(*k, *v);
        }
        e
    }

    #[test]
    fn rpc_timeout_rules() {
        assert_eq!(rpc_timeout(&env(&[])).unwrap(), "60");
        assert_eq!(
            rpc_timeout(&env(&[("NODETOOL_TIMEOUT", "2500")])).unwrap(),
            "2"
        );
        let both = env(&[("NODETOOL_TIMEOUT", "2500"), ("RELX_RPC_TIMEOUT", "7")]);
        assert_eq!(rpc_timeout(&both).unwrap(), "7");
        let bad = rpc_timeout(&env(&[("NODETOOL_TIMEOUT", "foo")])).unwrap_err();
        assert_eq!(bad.code(), 2);
        // relx's shelltest matches dash's "Illegal number:" on stderr
        assert!(
            bad.to_string()
                .contains("NODETOOL_TIMEOUT: Illegal number: foo")
        );
    }

    #[test]
    fn exports_like_the_script() {
        let script = RelxScript::parse(super::super::script::tests_support::EXTENDED).unwrap();
        let erts = Erts {
            dir: PathBuf::from("/r/erts-13.1.5"),
            vsn: "13.1.5".into(),
            warning: None,
        };
        let caller = env(&[
            ("TERM", "dumb"),
            ("LD_LIBRARY_PATH", "/x"),
            ("PIPE_DIR", "/p/"),
        ]);
        let v = compute(
            &caller,
            &script,
            Path::new("/r"),
            Path::new("/r/bin/hooked"),
            erts,
        )
        .unwrap();
        assert_eq!(v.env.get_str("TERM"), Some("screen"));
        assert_eq!(
            v.env.get_str("LD_LIBRARY_PATH"),
            Some("/r/erts-13.1.5/lib:/x")
        );
        assert_eq!(v.env.get_str("RUN_ERL_DISABLE_FLOWCNTRL"), Some("true"));
        assert_eq!(v.env.get_str("ESCRIPT_NAME"), Some("/r/bin/hooked"));
        assert_eq!(v.log_dir, PathBuf::from("/r/log"));
        assert_eq!(v.system_lib_dir(), PathBuf::from("/r/lib"));
        assert_eq!(v.pipe_dir("n@h"), (PathBuf::from("/p/"), false));
        assert!(v.erts_at_least(11, 1) && !v.erts_at_least(14, 0));
        let defaulted = compute(
            &env(&[]),
            &script,
            Path::new("/r"),
            Path::new("/r/bin/hooked"),
            Erts {
                dir: PathBuf::from("/r/erts-1"),
                vsn: "1".into(),
                warning: None,
            },
        )
        .unwrap();
        assert_eq!(
            defaulted.pipe_dir("n@h"),
            (PathBuf::from("/tmp/erl_pipes/n@h/"), true)
        );
    }

    #[test]
    fn erts_without_bundle_comes_from_erl_on_path() {
        let dir = crate::test_support::scratch("relx-erts");
        let sys = dir.join("sys");
        std::fs::create_dir_all(sys.join("bin")).unwrap();
        std::fs::create_dir_all(sys.join("erts-14.2")).unwrap();
        std::fs::write(sys.join("bin/erl"), "#!/bin/sh\n").unwrap();
        let path = OsString::from(sys.join("bin"));
        let e = find_erts(&dir, "14.2", Some(&path)).unwrap();
        assert_eq!(
            e.dir,
            std::fs::canonicalize(&sys).unwrap().join("erts-14.2")
        );
        let e = find_erts(&dir, "13.0", Some(&path)).unwrap();
        assert_eq!(e.vsn, "14.2");
        assert!(e.warning.unwrap().starts_with("Exact ERTS version (13.0)"));
        let none = find_erts(&dir, "13.0", None).unwrap_err();
        assert_eq!(none.code(), 1);
    }
}
