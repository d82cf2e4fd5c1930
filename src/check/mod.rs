//! `check`: a preflight that starts no VM and says, one line per finding, whether the
//! release can start on this host and why not; and readable boot errors (`diagnose`).
//!
//! The checks read a [`Subject`] — paths and variables, computed by whoever knows the
//! release's layout (Mix: [`Subject::from_vars`]; relx releases fill the same fields from
//! their own layout) — and a [`Host`]. Everything here only reads files, except the
//! environment checks, which also probe TCP ports on the loopback (epmd, the distribution
//! port) with short deadlines.
pub(crate) mod boot;
pub mod command;
pub(crate) mod config;
pub(crate) mod crash_dump;
pub(crate) mod diagnose;
pub(crate) mod dynamic;
pub(crate) mod elf;
pub(crate) mod environment;
pub(crate) mod integrity;
pub(crate) mod ld_cache;
pub(crate) mod ldso;
pub(crate) mod patterns;
pub mod report;
pub(crate) mod runtime;
#[cfg(test)]
pub(crate) mod testing;

use crate::config::subst::UnsetPolicy;
use crate::environment::EnvMap;
use crate::environment::vars::ReleaseVars;
use crate::release::{Release, StartErlData};
use report::Finding;
use std::path::{Path, PathBuf};

/// Which tool built the release (they differ in layout details only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `mix release`: `releases/VSN/elixir`, `RELEASE_*` variables.
    Mix,
    /// rebar3/relx: no `releases/VSN/elixir`; `RELX_*`/`PIPE_DIR`/`RUNNER_LOG_DIR`.
    Relx,
}

/// The release as the checks see it: where things are and what the variables say.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: Kind,
    pub root: PathBuf,
    pub name: String,
    pub vsn: String,
    /// `releases/start_erl.data`, or why it could not be read.
    pub start_erl: Result<StartErlData, String>,
    /// `releases/VSN`.
    pub vsn_dir: PathBuf,
    /// `erts-VSN/bin` in the release; `None`: ERTS comes from `erl` on `PATH`.
    pub erts_bin: Option<PathBuf>,
    /// The boot file the start commands use (`releases/VSN/start.boot`).
    pub boot: PathBuf,
    pub vm_args: PathBuf,
    /// `sys.config` (with its extension).
    pub sys_config: PathBuf,
    /// `REPLACE_OS_VARS`/`RELX_REPLACE_OS_VARS` set: `${VAR}` is substituted.
    pub substitute: bool,
    pub policy: UnsetPolicy,
    /// The environment the VM would get.
    pub env: EnvMap,
    /// The node name and `sname`/`name`/`none` from the variables (vm.args may override).
    pub node: String,
    pub distribution: String,
    /// Directories the start commands write to, with the variable that sets each.
    pub dirs: Vec<(&'static str, PathBuf)>,
    /// Directories only `daemon` writes to (pipes, run_erl logs).
    pub daemon_dirs: Vec<(&'static str, PathBuf)>,
}

impl Subject {
    /// A Mix release, from the variables computed for a command; `substitute`: whether
    /// OS-variable substitution was requested (`REPLACE_OS_VARS`, …).
    pub fn from_vars(vars: &ReleaseVars, substitute: bool) -> Subject {
        let release = Release::open(vars.root.clone(), &vars.name);
        let env = &vars.env;
        let script = crate::release::ElixirScript::read(&vars.vsn_dir.join("elixir"));
        let policy =
            UnsetPolicy::from_setting(env.non_empty_str("BEAMRC_SUBST_UNSET")).unwrap_or_default();
        let boot_name = vars.boot_script.to_string_lossy();
        Subject {
            kind: Kind::Mix,
            root: vars.root.clone(),
            name: vars.name.clone(),
            vsn: vars.vsn.clone(),
            start_erl: release.start_erl.clone(),

            vsn_dir: vars.vsn_dir.clone(),
            erts_bin: release
                .erts_bin(&vars.vsn_dir, &script)
                .map(|b| std::fs::canonicalize(&b).unwrap_or(b)),
            boot: vars.vsn_dir.join(format!("{boot_name}.boot")),
            vm_args: vars.vm_args.clone(),
            sys_config: crate::paths::with_suffix(&vars.default_sys_config(), ".config"),
            substitute,
            policy,
            env: env.clone(),
            node: vars.node.to_string_lossy().into_owned(),
            distribution: vars.distribution.clone(),
            dirs: vec![("RELEASE_TMP", vars.tmp.clone())],
            daemon_dirs: vec![
                ("RELEASE_TMP/pipe", vars.tmp.join("pipe")),
                ("RELEASE_TMP/log", vars.tmp.join("log")),
            ],
        }
    }

    /// Only what the runtime checks read: a release root (e.g. a staged copy) and its
    /// `erts-VSN/bin`.
    pub(crate) fn runtime_only(root: PathBuf, erts_bin: PathBuf, env: EnvMap) -> Subject {
        Subject {
            kind: Kind::Mix,
            vsn_dir: root.clone(),
            root,
            name: String::new(),
            vsn: String::new(),
            start_erl: Err(String::new()),
            erts_bin: Some(erts_bin),
            boot: PathBuf::new(),
            vm_args: PathBuf::new(),
            sys_config: PathBuf::new(),
            substitute: false,
            policy: UnsetPolicy::default(),
            env,
            node: String::new(),
            distribution: String::new(),
            dirs: Vec::new(),
            daemon_dirs: Vec::new(),
        }
    }

    /// `path` relative to the release root when it is inside it, for shorter messages.
    pub(crate) fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The machine the release is about to run on.
pub struct Host {
    pub machine: u16,
    pub hostname: String,
    pub(crate) loader: ldso::Loader,
}

impl Host {
    /// `hostname`: the machine's host name (`gethostname`).
    pub fn detect(env: &EnvMap, hostname: String) -> Host {
        let (machine, class) = host_machine();
        let cache = std::fs::read("/etc/ld.so.cache").ok();
        Host {
            machine,
            hostname,
            loader: ldso::Loader::new(cache, env.get("LD_LIBRARY_PATH"), machine, class),
        }
    }
}

/// `uname -m` as an ELF machine and class.
fn host_machine() -> (u16, u8) {
    // SAFETY: uname writes into the provided struct only.
    let machine = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(u.machine.as_ptr())
                .to_string_lossy()
                .into_owned()
        }
    };
    match machine.as_str() {
        "x86_64" => (elf::EM_X86_64, 64),
        "aarch64" | "arm64" => (elf::EM_AARCH64, 64),
        m if m.starts_with("armv") => (elf::EM_ARM, 32),
        "i386" | "i486" | "i586" | "i686" => (elf::EM_386, 32),
        "riscv64" => (elf::EM_RISCV, 64),
        _ if cfg!(target_arch = "aarch64") => (elf::EM_AARCH64, 64),
        _ => (elf::EM_X86_64, 64),
    }
}

/// Every check, in order: runtime, integrity, configuration, environment.
pub fn run(subject: &Subject, host: &Host) -> Vec<Finding> {
    let mut out = runtime::check(subject, host);
    out.extend(integrity::check(subject));
    let configured = config::check(subject, &host.hostname);
    out.extend(configured.findings.iter().cloned());
    out.extend(environment::check(subject, &configured));
    out
}
#[cfg(test)]
mod scenarios;
