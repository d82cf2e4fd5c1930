//! Hooks, extensions, the status hook and the usage texts of a relx command (the parts
//! relx sources in its shell), for a computed [`State`].
use std::path::Path;

use super::help;
use super::hooks::{self, Body};
use super::node;
use super::run::State;
use super::script::Hook;
use super::shell;
use crate::{Error, Result};

impl State<'_> {
    /// The shell variables hooks and extensions see besides the exported environment.
    fn shell_vars(&self) -> Vec<(&'static str, String)> {
        let v = &self.vars;
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let (extra, _) = self.ctx().extra_dist_args();
        let address = v
            .dist_port
            .as_deref()
            .map(|p| node::dist_address(&self.facts, p))
            .unwrap_or_default();
        vec![
            ("REL_VSN", v.rel_vsn.clone()),
            ("ERTS_VSN", v.erts_vsn.clone()),
            ("REL_DIR", s(&v.rel_dir)),
            ("SCRIPT", s(&v.script)),
            ("SCRIPT_DIR", s(&v.root.join("bin"))),
            ("RELEASE_ROOT_DIR", s(&v.root)),
            ("COOKIE", self.cookie.clone().unwrap_or_default()),
            ("NAME_TYPE", self.facts.name_type.flag().to_string()),
            ("VMARGS_PATH", s(&self.vm.path)),
            ("RELX_CONFIG_PATH", s(&self.sys.path)),
            ("ERTS_DIR", s(&v.erts_dir)),
            ("SYSTEM_LIB_DIR", s(&v.system_lib_dir())),
            ("DIST_ARGS", self.facts.dist_args.join(" ")),
            ("EXTRA_DIST_ARGS", extra.join(" ")),
            ("ADDRESS", address),
            (
                "START_EPMD",
                self.facts.start_epmd.clone().unwrap_or_default(),
            ),
            (
                "RELX_HOSTNAME",
                self.node.split_once('@').map_or("", |(_, h)| h).to_string(),
            ),
            ("PIPE_DIR", s(&v.pipe_dir(&self.node).0)),
            ("RUNNER_LOG_DIR", s(&v.log_dir)),
        ]
    }

    /// Sources `body` in `/bin/sh`; `Ok(None)` when it returned, `Ok(Some(code))` when a
    /// hook or extension ended the shell itself.
    pub(super) fn source(&self, body: &Body) -> Result<Option<i32>> {
        let base = self.launch.script.paths_base(&self.vars.root);
        let program = hooks::program(&self.shell_vars(), Some(&self.vars.script), &base, body);
        match shell::run(
            &program,
            &self.ctx().env(),
            &self.vars.root,
            &self.vars.rel_name,
        )? {
            shell::Ended::Completed => Ok(None),
            shell::Ended::Exited(code) => Ok(Some(code)),
        }
    }

    /// A phase's hooks; no shell at all when none is configured or none of the files
    /// exists. A hook ending the shell ends the command with its status, as in relx.
    pub(super) fn hooks(&self, hooks: &[Hook]) -> Result<()> {
        let base = self.launch.script.paths_base(&self.vars.root);
        if self.inv.hooks_disabled || !hooks.iter().any(|h| base.join(&h.script).is_file()) {
            return Ok(());
        }
        match self.source(&Body::Hooks(hooks))? {
            None => Ok(()),
            Some(code) => Err(Error::Exit(code)),
        }
    }

    /// `bin/NAME EXT ARGS`: the extension is sourced; one that does not exit gives 1.
    pub(super) fn extension(&self, name: &str, args: &[String]) -> Result<i32> {
        let path = self.launch.script.extension(name).unwrap_or_default();
        let base = self.launch.script.paths_base(&self.vars.root);
        if path.is_empty() || !base.join(path).is_file() {
            return Ok(1);
        }
        Ok(self
            .source(&Body::Source { script: path, args })?
            .unwrap_or(1))
    }

    pub(super) fn text_args(&self) -> Vec<String> {
        self.inv
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    pub(super) fn usage(&self, topic: Option<&str>) -> String {
        let text = std::fs::read_to_string(self.launch.kept).unwrap_or_default();
        let s = self.launch.script;
        topic
            .and_then(|t| help::topic(&text, &s.rel_name, t))
            .or_else(|| {
                let last = match &s.extension_descriptions {
                    Some(d) => help::descriptions(d),
                    None => s.extensions_usage(),
                };
                help::full(&text, &s.rel_name, &last)
            })
            .unwrap_or_default()
    }

    /// The status hook, sourced with the command's arguments (`status` included, as relx's
    /// `"$@"` still holds it).
    pub(super) fn status_hook(&self) -> Result<Option<i32>> {
        let Some(path) = &self.launch.script.hooks.status else {
            return Ok(None);
        };
        let base = self.launch.script.paths_base(&self.vars.root);
        if self.inv.hooks_disabled || !base.join(path).is_file() {
            return Ok(None);
        }
        let mut args = vec![self.inv.word.clone()];
        args.extend(self.text_args());
        self.source(&Body::Source {
            script: path,
            args: &args,
        })
    }
}
