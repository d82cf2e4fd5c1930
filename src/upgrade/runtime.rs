//! Mix releases with runtime configuration (`config/runtime.exs`, config providers): the
//! node's configuration must survive the upgrade.
//!
//! release_handler gives every application the environment of the target's
//! `releases/VSN/sys.config` before the relup runs (`application_controller:
//! change_application_data/2`), then calls `config_change/3`. A Mix release's built
//! sys.config holds only the build-time values plus the provider settings
//! (`{elixir, [{config_provider_init, %Config.Provider{}}]}`): what `runtime.exs` set at boot
//! would be dropped. So beamrc has the node run the target's providers (its `runtime.exs`,
//! with the node's own environment variables, as at boot) and shows release_handler the
//! result as `releases/VSN/sys.config` while it installs; the built file is put back after,
//! so the next boot computes its configuration afresh.
use super::node::Node;
use crate::dist::Term;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The expression evaluated on the node (`Code.eval_string/2`, binding `path`).
const EXPR: &str = r#"
{:ok, [config]} = :file.consult(String.to_charlist(path))
case List.keyfind(Keyword.get(config, :elixir, []), :config_provider_init, 0) do
  {_, %{__struct__: Config.Provider, providers: providers} = p} ->
    extra = Map.get(p, :extra_config, [])
    config = Config.Reader.merge(config, [{:elixir, [config_provider_init: :booted]} | extra])
    config = Enum.reduce(providers, config, fn {m, s}, acc -> m.load(acc, s) end)
    {:runtime, :erlang.iolist_to_binary(:io_lib.format(~c"%% coding: utf-8~n~tw.~n", [config]))}
  _ ->
    :static
end
"#;

/// Whether a sys.config carries Mix's config providers.
pub(crate) fn has_providers(sys_config: &str) -> bool {
    sys_config.contains("config_provider_init")
}

/// The target's configuration as its providers compute it on the node, or `None` when it
/// has none (a static sys.config needs nothing).
pub(crate) fn compute(node: &Node, sys_config: &Path) -> Result<Option<Vec<u8>>> {
    let binding = Term::list(vec![Term::Tuple(vec![
        Term::atom("path"),
        Term::binary(sys_config.to_string_lossy().as_bytes()),
    ])]);
    let reply = node.call(
        "Elixir.Code",
        "eval_string",
        vec![Term::binary(EXPR.as_bytes()), binding],
    )?;
    let value = reply.as_tuple().and_then(|t| t.first().cloned());
    match value.as_ref().and_then(Term::as_tuple) {
        Some([tag, Term::Binary(bytes)]) if tag.is_atom("runtime") => Ok(Some(bytes.clone())),
        _ if value.as_ref().is_some_and(|v| v.is_atom("static")) => Ok(None),
        _ => Err(Error::message(
            4,
            format!(
                "ERROR: computing the runtime configuration of {} answered {}",
                sys_config.display(),
                super::show::term(&reply)
            ),
        )),
    }
}

/// Whether a Mix release reboots after computing its configuration
/// (`reboot_system_after_config: true`): its boot writes the computed configuration, marked
/// booted, to the `-config` file under `RELEASE_TMP` and restarts the VM with it.
pub(crate) fn reboots(sys_config: &str) -> bool {
    let flat: String = sys_config.split_whitespace().collect();
    flat.contains("reboot_system_after_config=>true")
}

/// After `make_permanent` of a reboot release, init would restart the node with the
/// target's built `releases/VSN/sys.config`: its providers would run a second time in the
/// same OS process, which Elixir aborts as a boot loop ("Got infinite loop when running
/// Config.Provider"). As the start script does at boot, write the computed configuration
/// (marked booted) under `RELEASE_TMP` as `NAME-VSN-beamrc-NODE.runtime.config` and make it
/// init's `-config` for a restart (`init:make_permanent(false, Config)`); the file an
/// earlier upgrade of the same node wrote there for another version (no longer init's) is
/// removed, so one is left per node. Returns the file written.
pub(crate) fn keep_for_restart(
    node: &Node,
    req: &super::request::Request,
    computed: &[u8],
) -> Result<PathBuf> {
    let (tmp, name, vsn, of) = (
        req.tmp.as_path(),
        req.name.as_str(),
        req.vsn.as_str(),
        req.target.node.as_str(),
    );
    let base = tmp.join(restart_config_base(name, vsn, of));
    let file = base.with_extension("runtime.config");
    std::fs::create_dir_all(tmp).map_err(|e| Error::create(tmp, e))?;
    crate::config::render::write_fresh(&file, computed, 0o600)?;
    let reply = node.call(
        "init",
        "make_permanent",
        vec![Term::atom("false"), Term::charlist(&base.to_string_lossy())],
    )?;
    if !reply.is_atom("ok") {
        let _ = std::fs::remove_file(&file);
        return Err(Error::message(
            4,
            format!(
                "ERROR: init:make_permanent(false, {}) answered {}",
                base.display(),
                super::show::term(&reply)
            ),
        ));
    }
    let is_version = |v: &str| v != vsn && req.root.join("releases").join(v).is_dir();
    for old in earlier_restart_configs(tmp, name, of, is_version) {
        let _ = std::fs::remove_file(tmp.join(old));
    }
    Ok(file)
}

/// `NAME-VSN-beamrc-NODE.runtime` (init's `-config` takes the name without `.config`).
fn restart_config_base(name: &str, vsn: &str, node: &str) -> String {
    format!("{name}-{vsn}-beamrc-{node}.runtime")
}

/// The restart configurations in `tmp` written for `node` (and the
/// `NAME-VSN-beamrc-PID.runtime.config` of earlier beamrc releases) whose version part
/// `other_version` accepts: another node's files, and another release's in a shared
/// `RELEASE_TMP`, stay.
fn earlier_restart_configs(
    tmp: &Path,
    name: &str,
    node: &str,
    other_version: impl Fn(&str) -> bool,
) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|f| {
            let parts = f
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|r| r.strip_suffix(".runtime.config"))
                .and_then(|r| r.rsplit_once("-beamrc-"));
            let Some((v, owner)) = parts else {
                return false;
            };
            let legacy = !owner.is_empty() && owner.bytes().all(|b| b.is_ascii_digit());
            (owner == node || legacy) && other_version(v)
        })
        .collect()
}

/// `releases/VSN/sys.config` shows the computed configuration until dropped, then the
/// built file again (both written to a temp name and renamed).
pub(crate) struct Swap {
    path: PathBuf,
    built: Vec<u8>,
}

impl Swap {
    pub(crate) fn put(path: &Path, computed: &[u8]) -> Result<Swap> {
        let built = std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        crate::config::render::write_fresh(path, computed, 0o600)?;
        Ok(Swap {
            path: path.to_path_buf(),
            built,
        })
    }

    /// Puts the built file back; says so, or why not.
    pub(crate) fn restore(self) -> Result<()> {
        crate::config::render::write_fresh(&self.path, &self.built, 0o644)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_puts_the_built_file_back() {
        let dir = crate::test_support::scratch("swap");
        let p = dir.join("sys.config");
        std::fs::write(&p, "[built].").unwrap();
        let s = Swap::put(&p, b"[computed].").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"[computed].");
        s.restore().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"[built].");
        assert!(has_providers("[{elixir,[{config_provider_init,#{}}]}]."));
        assert!(!has_providers("[{demo,[]}]."));
        assert!(reboots(
            "#{prune_after_boot => false,reboot_system_after_config => true}"
        ));
        assert!(!reboots("#{reboot_system_after_config => false}"));
    }

    #[test]
    fn one_restart_configuration_is_left_per_node() {
        let dir = crate::test_support::scratch("restart-config");
        for f in [
            "demo-0.2.0-beamrc-demo@h.runtime.config",
            "demo-0.1.0-beamrc-demo@h.runtime.config",
            "demo-0.1.0-beamrc-other@h.runtime.config",
            "demo-0.1.0-beamrc-4242.runtime.config",
            "demo-0.1.0-20261202-abc.runtime.config",
            "demo-web-1.0-beamrc-demo@h.runtime.config",
        ] {
            std::fs::write(dir.join(f), "[].").unwrap();
        }
        let others = |v: &str| v == "0.1.0";
        let mut old = earlier_restart_configs(&dir, "demo", "demo@h", others);
        old.sort();
        assert_eq!(
            old,
            [
                "demo-0.1.0-beamrc-4242.runtime.config",
                "demo-0.1.0-beamrc-demo@h.runtime.config"
            ]
        );
        assert_eq!(
            restart_config_base("demo", "0.2.0", "demo@h"),
            "demo-0.2.0-beamrc-demo@h.runtime"
        );
    }
}
