//! Configuring the release for one command: OS-variable substitution in vm.args and
//! sys.config (rendered into `RELEASE_TMP`, never into the release), the node name and
//! cookie they define, and the cookie's resolution order.
use crate::config::subst::{self, UnsetPolicy};
use crate::config::sys_config::plan_sys_config;
use crate::config::vm_args::{NameKind, RenderedFile, plan_vm_args};
use crate::environment::cookie::{self, Cookie, CookieSource};
use crate::environment::vars::ReleaseVars;
use crate::plan::command::Command;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What configuration decided, beyond the updated variables.
#[derive(Debug, Default)]
pub(crate) struct Configured {
    pub(crate) cookie: Option<Cookie>,
    /// Rendered files to write before the VM starts.
    pub(crate) files: Vec<RenderedFile>,
    /// vm.args names the node itself (`-sname`/`-name`), so no flag is added for it.
    pub(crate) dist_in_vm_args: bool,
    /// Contents of the rendered sys.config, when it was rendered.
    pub(crate) sys_config: Option<Vec<u8>>,
    /// The arguments of the rendered remote.vm.args (for the native/VM decision).
    pub(crate) remote_flags: Option<Vec<String>>,
}

/// `REPLACE_OS_VARS` (Distillery) or `RELX_REPLACE_OS_VARS` (relx) set to anything.
pub(crate) fn substitution_requested(vars: &ReleaseVars) -> bool {
    ["REPLACE_OS_VARS", "RELX_REPLACE_OS_VARS"]
        .iter()
        .any(|k| vars.env.non_empty(k).is_some())
}

/// Where this instance's rendered files go: one directory per node, so that several
/// instances of a release can share a `RELEASE_TMP`.
pub(crate) fn render_dir(vars: &ReleaseVars) -> PathBuf {
    let node: String = vars
        .node
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    vars.tmp.join("rendered").join(node)
}

pub(crate) fn configure(
    vars: &mut ReleaseVars,
    root: &Path,
    command: &Command,
    policy: UnsetPolicy,
) -> Result<Configured> {
    let mut out = Configured::default();
    if !command.needs_cookie() {
        return Ok(out);
    }
    let starts_vm = command.starts_vm();
    let substitute = substitution_requested(vars);
    let env = vars.env.clone();
    let lookup = subst::env_lookup(&env);
    let dir = render_dir(vars);

    let vm_args = match plan_vm_args(&vars.vm_args, &dir, substitute, &lookup, policy) {
        Ok(plan) => Some(plan),
        // Remote commands never read vm.args in the script; only a starting VM needs it.
        Err(Error::Release(_)) if !starts_vm => None,
        // List the unset variables of sys.config too, so one run names them all.
        Err(Error::Config(vm_text)) if starts_vm && substitute => {
            let sys = plan_sys_config(
                &vars.default_sys_config(),
                root,
                &dir,
                true,
                &lookup,
                policy,
            );
            return Err(match sys {
                Err(Error::Config(sys_text)) => Error::Config(format!("{vm_text}\n{sys_text}")),
                _ => Error::Config(vm_text),
            });
        }
        Err(e) => return Err(e),
    };
    let mut vm_cookie = None;
    if let Some(plan) = vm_args {
        for w in &plan.info.warnings {
            crate::error::warn(w);
        }
        if let Some((kind, name)) = &plan.info.name {
            vars.node = name.into();
            vars.distribution = match kind {
                NameKind::Short => "sname",
                NameKind::Long => "name",
            }
            .into();
            vars.env.set("RELEASE_NODE", name.as_str());
            vars.env
                .set("RELEASE_DISTRIBUTION", vars.distribution.as_str());
            out.dist_in_vm_args = true;
        }
        if starts_vm && plan.entry != vars.vm_args {
            vars.vm_args = plan.entry.clone();
            vars.env.set("RELEASE_VM_ARGS", plan.entry.as_os_str());
        }
        vm_cookie = plan.info.cookie.clone().map(|c| (plan.entry.clone(), c));
        if starts_vm {
            out.files.extend(plan.files);
        }
    }
    let cookie = cookie::resolve_cookie(
        &vars.env,
        root,
        vm_cookie.as_ref().map(|(p, c)| (p.as_path(), c.as_str())),
    )?;
    vars.env.set("RELEASE_COOKIE", cookie.value.as_str());
    // A VM that joins distribution with a cookie it cannot use boots and then fails every
    // handshake (beyond Latin-1), or does not boot (over 255 characters): refuse it first.
    let distributed = vars.distribution != "none";
    if distributed && (command.is_start() || *command == Command::Remote) {
        crate::dist::cookie_bytes(&cookie.value)
            .map_err(|e| Error::Config(format!("the cookie from {}: {e}", cookie.source)))?;
    }
    if command.is_start()
        && let Some(warning) = cookie::permission_warning(&cookie)
    {
        crate::error::warn(warning);
    }
    out.cookie = Some(cookie);

    // Probes never write a file: their hidden VM (a fallback) reads remote.vm.args as shipped.
    if !starts_vm && !command.is_probe() {
        // A hidden VM (remote, or rpc's fallback) reads remote.vm.args: render it too.
        let source = crate::config::source::source_of(&vars.remote_vm_args);
        if let Some((_, template)) = source
            && (substitute || template)
        {
            let plan = plan_vm_args(&vars.remote_vm_args, &dir, substitute, &lookup, policy)?;
            vars.remote_vm_args = plan.entry.clone();
            vars.env
                .set("RELEASE_REMOTE_VM_ARGS", plan.entry.as_os_str());
            out.remote_flags = Some(plan.info.flags);
            out.files.extend(plan.files);
        }
    }
    if starts_vm {
        let default = vars.default_sys_config();
        let has_src =
            crate::config::source::template_of(&crate::paths::with_suffix(&default, ".config"))
                .is_some();
        if substitute || has_src {
            let plan = plan_sys_config(&default, root, &dir, substitute, &lookup, policy)?;
            if plan.entry_without_ext != default {
                out.sys_config = plan
                    .files
                    .iter()
                    .find(|f| {
                        f.target == crate::paths::with_suffix(&plan.entry_without_ext, ".config")
                    })
                    .map(|f| f.contents.clone());
                vars.sys_config = Some(plan.entry_without_ext.clone());
            }
            out.files.extend(plan.files);
        }
    }
    Ok(out)
}

impl Configured {
    /// The cookie is `-setcookie` in vm.args: passing it again on the command line would
    /// give OTP two cookies, and it then ignores both.
    pub(crate) fn cookie_in_vm_args(&self) -> bool {
        matches!(
            self.cookie.as_ref().map(|c| &c.source),
            Some(CookieSource::VmArgs(_))
        )
    }
}
