//! The values relx bakes into its extended start script at build time, read back from the
//! kept script (`bin/NAME.sh`) as the Mix side reads its mode flag from the Mix script.
//!
//! relx renders them as plain shell assignments (observed, relx 4.7.0 in rebar3 3.19):
//! `export REL_NAME="erlapp"`, `REL_VSN="0.1.0"`, `ERTS_VSN="13.1.5"`, the hook lists
//! (`PRE_START_HOOKS="hooks/builtin/wait_for_vm_start hooks/builtin/pid|foo.pid …"`),
//! `STATUS_HOOK="…"`, `EXTENSIONS="bar|foo|undefined"` and one line of
//! `bar_extension="extensions/bar";foo_extension="…"` declarations.

/// Which of relx's scripts this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `extended_bin`: the commands (`foreground`, `daemon`, `rpc`, …).
    Extended,
    /// The plain `bin` script (`extended_start_script=false`): exec erlexec, no commands.
    Plain,
}

/// One hook entry: a script path relative to `bin/`, and its `|`-separated arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub script: String,
    pub args: Vec<String>,
}

/// The hook lists, by phase, as the script names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    pub pre_start: Vec<Hook>,
    pub post_start: Vec<Hook>,
    pub pre_stop: Vec<Hook>,
    pub post_stop: Vec<Hook>,
    pub pre_install_upgrade: Vec<Hook>,
    pub post_install_upgrade: Vec<Hook>,
    /// `STATUS_HOOK`: the script is sourced with the arguments of `status`.
    pub status: Option<String>,
}

/// The baked-in values of a relx script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelxScript {
    pub flavour: Flavour,
    pub rel_name: String,
    pub rel_vsn: String,
    pub erts_vsn: String,
    pub hooks: Hooks,
    /// `(name, path relative to bin/)` in the order of `EXTENSIONS` (`undefined` dropped).
    pub extensions: Vec<(String, String)>,
    /// relx ≤ 4.7 prints the release root on a line of its own before "Starting up".
    pub echoes_root: bool,
    /// Hook and extension paths are relative to the release root (later relx), not `bin/`.
    pub paths_from_root: bool,
    /// `EXTENSION_DESCRIPTIONS` (`cmd=text|…`), in relx versions that print them in the usage.
    pub extension_descriptions: Option<String>,
}

impl RelxScript {
    /// Reads a relx script's text; `None` when it is not one (a Mix script, a binary,
    /// Distillery, anything else) or a baked value is missing.
    pub fn parse(text: &str) -> Option<RelxScript> {
        if !text.starts_with("#!") {
            return None;
        }
        let flavour = if text.contains("\nrelx_usage() {") {
            Flavour::Extended
        } else if text.contains("\nfind_sys_config() {") && text.contains("\nERL_OPTS=") {
            Flavour::Plain
        } else {
            return None;
        };
        let rel_name = assigned(text, "export REL_NAME")?;
        let rel_vsn = assigned(text, "REL_VSN")?;
        let erts_vsn = assigned(text, "ERTS_VSN")?;
        let list = |name: &str| parse_hooks(&assigned(text, name).unwrap_or_default());
        let hooks = Hooks {
            pre_start: list("PRE_START_HOOKS"),
            post_start: list("POST_START_HOOKS"),
            pre_stop: list("PRE_STOP_HOOKS"),
            post_stop: list("POST_STOP_HOOKS"),
            pre_install_upgrade: list("PRE_INSTALL_UPGRADE_HOOKS"),
            post_install_upgrade: list("POST_INSTALL_UPGRADE_HOOKS"),
            status: assigned(text, "STATUS_HOOK").filter(|s| !s.is_empty()),
        };
        let extensions = match assigned(text, "EXTENSIONS") {
            Some(list) => list
                .split('|')
                .filter(|n| !n.is_empty() && *n != "undefined")
                .map(|n| (n.to_string(), extension_path(text, n).unwrap_or_default()))
                .collect(),
            None => Vec::new(),
        };
        Some(RelxScript {
            flavour,
            rel_name,
            rel_vsn,
            erts_vsn,
            hooks,
            extensions,
            echoes_root: text.contains("\n        echo \"$RELEASE_ROOT_DIR\"\n"),
            paths_from_root: text.contains(". \"$RELEASE_ROOT_DIR/$HOOK_SCRIPT\""),
            extension_descriptions: text
                .contains("$(relx_extension_descriptions)")
                .then(|| assigned(text, "EXTENSION_DESCRIPTIONS").unwrap_or_default()),
        })
    }

    /// The path (relative to `bin/`) of extension `name`, if the script declares it.
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_str())
    }

    /// The directory hook and extension paths are relative to.
    pub fn paths_base(&self, root: &std::path::Path) -> std::path::PathBuf {
        if self.paths_from_root {
            root.to_path_buf()
        } else {
            root.join("bin")
        }
    }

    /// The extension names as the usage's last line shows them (`a|b`, or `undefined`).
    pub fn extensions_usage(&self) -> String {
        if self.extensions.is_empty() {
            return "undefined".to_string();
        }
        let names: Vec<&str> = self.extensions.iter().map(|(n, _)| n.as_str()).collect();
        names.join("|")
    }
}

/// The value of the first column-0 `NAME="value"` assignment (no expansion: relx writes
/// these values literally).
fn assigned(text: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=\"");
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(&prefix)?;
        let end = rest.find('"')?;
        Some(rest[..end].to_string())
    })
}

/// `a b|x|y` → hooks `a` and `b` (with arguments `x`, `y`), as `for hook in $HOOKS; set
/// $(echo "$hook" | sed 's/|/ /g')` splits them.
fn parse_hooks(list: &str) -> Vec<Hook> {
    list.split_whitespace()
        .filter_map(|entry| {
            let mut parts = entry.split('|').filter(|p| !p.is_empty());
            let script = parts.next()?.to_string();
            Some(Hook {
                script,
                args: parts.map(str::to_string).collect(),
            })
        })
        .collect()
}

/// `NAME_extension="path"` inside the declarations line.
fn extension_path(text: &str, name: &str) -> Option<String> {
    let key = format!("{name}_extension=\"");
    text.lines().find_map(|line| {
        if line.trim_start().starts_with('#') {
            return None;
        }
        let at = line.find(&key)?;
        let before = &line[..at];
        if !(before.trim().is_empty() || before.ends_with(';')) {
            return None;
        }
        let rest = &line[at + key.len()..];
        Some(rest[..rest.find('"')?].to_string())
    })
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// A trimmed extended script with hooks and extensions, as relx renders them.
    pub(crate) const EXTENDED: &str = "#!/bin/sh\n\nset -e\n\
export REL_NAME=\"hooked\"\nREL_VSN=\"0.1.0\"\n\nERTS_VSN=\"13.1.5\"\n\
PRE_START_HOOKS=\"hooks/pre_start\"\n\
POST_START_HOOKS=\"hooks/builtin/wait_for_vm_start hooks/builtin/pid|foo.pid hooks/post_start\"\n\
PRE_STOP_HOOKS=\"\"\nPOST_STOP_HOOKS=\"hooks/post_stop\"\nPRE_INSTALL_UPGRADE_HOOKS=\"\"\n\
POST_INSTALL_UPGRADE_HOOKS=\"\"\nSTATUS_HOOK=\"hooks/status\"\nEXTENSIONS=\"bar|foo|undefined\"\n\
\nrelx_usage() {\n    command=\"$1\"\n}\n\
relx_get_extension_script() {\n    EXTENSION=$1\n\
    # foo_extension=\"path/to/foo_script\";bar_extension=\"path/to/bar_script\"\n\
    bar_extension=\"extensions/bar\";foo_extension=\"extensions/foo\"\n}\n\
\x20       echo \"$RELEASE_ROOT_DIR\"\n";
}

#[cfg(test)]
mod tests {
    use super::tests_support::EXTENDED;
    use super::*;

    #[test]
    fn reads_the_baked_values() {
        let s = RelxScript::parse(EXTENDED).unwrap();
        assert_eq!(s.flavour, Flavour::Extended);
        assert_eq!(
            (s.rel_name.as_str(), s.rel_vsn.as_str(), s.erts_vsn.as_str()),
            ("hooked", "0.1.0", "13.1.5")
        );
        assert_eq!(s.hooks.pre_start.len(), 1);
        assert_eq!(
            s.hooks.post_start[1],
            Hook {
                script: "hooks/builtin/pid".into(),
                args: vec!["foo.pid".into()]
            }
        );
        assert!(s.hooks.pre_stop.is_empty());
        assert_eq!(s.hooks.status.as_deref(), Some("hooks/status"));
        assert_eq!(s.extension("foo"), Some("extensions/foo"));
        assert_eq!(s.extension("undefined"), None);
        assert_eq!(s.extensions_usage(), "bar|foo");
        assert!(s.echoes_root);
    }

    #[test]
    fn refuses_other_scripts() {
        assert_eq!(RelxScript::parse("#!/bin/sh\nRELEASE_ROOT=x\n"), None);
        assert_eq!(RelxScript::parse("\x7fELF"), None);
        let no_vsn = EXTENDED.replace("REL_VSN=", "X=");
        assert_eq!(RelxScript::parse(&no_vsn), None);
    }

    #[test]
    fn plain_script_is_recognised() {
        let plain = "#!/bin/sh\nexport REL_NAME=\"p\"\nREL_VSN=\"1\"\nERTS_VSN=\"2\"\n\
ERL_OPTS=\"\"\n\nfind_sys_config() {\n}\n";
        let s = RelxScript::parse(plain).unwrap();
        assert_eq!(s.flavour, Flavour::Plain);
        assert!(s.hooks == Hooks::default() && s.extensions.is_empty());
        assert_eq!(s.extensions_usage(), "undefined");
    }
}
