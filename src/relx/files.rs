//! Which `vm.args` / `sys.config` a relx release runs with, and what has to be rendered:
//! relx's `check_replace_os_vars` (reference §1.4), with beamrc's substitution engine
//! (`config::template`: comments left verbatim, values written for where they land) and without writing into the template.
//!
//! Rules, for `FILE` = `vm.args` or `sys.config`:
//! 1. `IN` = the user's path (`VMARGS_PATH` / `RELX_CONFIG_PATH`), else `ROOT/FILE` if it
//!    exists, else `REL_DIR/FILE`.
//! 2. `IN.src` exists: it is always rendered, to `out(IN)`.
//! 3. Else with `RELX_REPLACE_OS_VARS`: `IN.orig` (left by an earlier relx run) or `IN` is
//!    rendered to `out(IN)`. relx writes that over `IN` itself (keeping a `.orig`); beamrc
//!    never overwrites the template: when `out(IN)` is `IN`, the rendering goes to
//!    `ROOT/tmp/rendered/` instead.
//! 4. Else an `IN.orig` is the pristine template: used as is (relx copies it back over `IN`;
//!    with `RELX_OUT_FILE_PATH` the copy is written there, as relx does).
//! 5. Else `IN` is used as it is.
//!
//! `out(F)`: the directory is `RELX_OUT_FILE_PATH` if that is an existing directory, else
//! `F`'s; the name is `F`'s, with `.NAME` inserted before the last extension under
//! `RELX_MULTI_NODE` (`vm.NAME.args`, `sys.NAME.config`).
use std::path::{Path, PathBuf};

use crate::config::subst::UnsetPolicy;
use crate::config::template::{self, Format, Problems, Subst};
use crate::paths::with_suffix;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VmArgs,
    SysConfig,
}

impl Kind {
    pub fn file_name(self) -> &'static str {
        match self {
            Kind::VmArgs => "vm.args",
            Kind::SysConfig => "sys.config",
        }
    }
}

/// The settings that decide file locations (all read from the environment by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub root: PathBuf,
    pub rel_dir: PathBuf,
    /// `RELX_REPLACE_OS_VARS` is non-empty.
    pub replace_os_vars: bool,
    /// `RELX_OUT_FILE_PATH`, when it names an existing directory.
    pub out_dir: Option<PathBuf>,
    /// `RELX_MULTI_NODE` is non-empty.
    pub multi_node: bool,
}

/// Where a config file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub kind: Kind,
    /// relx's `IN`.
    pub input: PathBuf,
    /// The file whose text is used (`IN.src`, `IN.orig` or `IN`).
    pub read_from: PathBuf,
    /// `${}` references are substituted.
    pub substitute: bool,
    /// The text reaches the VM through a generated file (else `read_from` is passed).
    pub generated: bool,
}

/// The file erlexec gets, and the contents to put there first (when generated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub path: PathBuf,
    pub text: String,
    /// `Some` when `path` must hold `text` before the VM starts.
    pub write: bool,
}

/// Rules 1–5: where `kind`'s text comes from. `user_path` is `VMARGS_PATH` /
/// `RELX_CONFIG_PATH` (a relative one is taken relative to the caller's cwd, as the script
/// does).
pub fn source(kind: Kind, user_path: Option<&Path>, rules: &Rules) -> Source {
    let name = kind.file_name();
    let input = match user_path {
        Some(p) => p.to_path_buf(),
        None if rules.root.join(name).is_file() => rules.root.join(name),
        None => rules.rel_dir.join(name),
    };
    let src = with_suffix(&input, ".src");
    let orig = with_suffix(&input, ".orig");
    let (read_from, substitute, generated) = if src.is_file() {
        (src, true, true)
    } else if orig.is_file() {
        (orig, rules.replace_os_vars, true)
    } else {
        (input.clone(), rules.replace_os_vars, rules.replace_os_vars)
    };
    Source {
        kind,
        input,
        read_from,
        substitute,
        generated,
    }
}

/// Reads (and substitutes) the text of `source`. A missing file is an error naming it
/// (exit 2); unset variables are an error listing every one (exit 4) unless `policy` says
/// empty (relx's behaviour).
pub fn text(
    source: &Source,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<String> {
    let raw = std::fs::read(&source.read_from).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Release(format!(
            "{} not found (nor {}.src)",
            source.input.display(),
            source.input.display()
        )),
        _ => Error::io(format!("cannot read {}", source.read_from.display()), e),
    })?;
    if !source.substitute {
        return Ok(String::from_utf8_lossy(&raw).into_owned());
    }
    let text = String::from_utf8(raw).map_err(|_| {
        Error::Config(format!(
            "{}: not valid UTF-8, cannot substitute",
            source.read_from.display()
        ))
    })?;
    let format = match source.kind {
        Kind::VmArgs => Format::ArgsFile,
        Kind::SysConfig => Format::ErlangTerms,
    };
    let mut problems = Problems::new();
    let display = source.read_from.display().to_string();
    let out = template::render_text(
        &text,
        &display,
        format,
        Subst { lookup, policy },
        Some(&mut problems),
    );
    if !problems.is_empty() {
        return Err(template::problems_error(
            &format!("cannot render {}", source.kind.file_name()),
            &problems,
        ));
    }
    Ok(out)
}

/// The path erlexec gets for `source` with `text`; `node` is the full node name (used
/// under `RELX_MULTI_NODE`).
pub fn resolve(source: &Source, text: String, rules: &Rules, node: &str) -> Resolved {
    if !source.generated {
        return Resolved {
            path: source.read_from.clone(),
            text,
            write: false,
        };
    }
    let mut out = out_path(&source.input, rules, node);
    if !source.substitute && out == source.input {
        // An unsubstituted `.orig`: relx copies it back over IN; reading it in place is
        // the same text without touching the release.
        return Resolved {
            path: source.read_from.clone(),
            text,
            write: false,
        };
    }
    let from_src = source.read_from == with_suffix(&source.input, ".src");
    if out == source.read_from || (out == source.input && !from_src) {
        let dir = rules.root.join("tmp").join("rendered");
        out = out_path(&dir.join(source.kind.file_name()), &Rules::default(), node);
        if rules.multi_node {
            out = multi_node_name(&out, node);
        }
    }
    Resolved {
        path: out,
        text,
        write: true,
    }
}

/// `make_out_file_path`.
fn out_path(input: &Path, rules: &Rules, node: &str) -> PathBuf {
    let dir = match &rules.out_dir {
        Some(d) => d.clone(),
        None => input.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let file = dir.join(input.file_name().unwrap_or_default());
    if rules.multi_node {
        multi_node_name(&file, node)
    } else {
        file
    }
}

/// `PFX.SFX` → `PFX.NAME.SFX` (on the file name; a name without a dot gets `.NAME.`, as
/// relx's awk gives).
fn multi_node_name(file: &Path, node: &str) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let renamed = match name.rfind('.') {
        Some(i) if i > 0 => format!("{}.{node}.{}", &name[..i], &name[i + 1..]),
        _ => format!("{name}.{node}."),
    };
    file.with_file_name(renamed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::scratch;

    fn rules(root: &Path) -> Rules {
        Rules {
            root: root.to_path_buf(),
            rel_dir: root.join("releases/0.1.0"),
            ..Rules::default()
        }
    }

    fn setup(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = scratch(name);
        for (p, t) in files {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        }
        root
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("aa&\\".into()),
            _ => None,
        }
    }

    #[test]
    fn plain_file_is_used_in_place() {
        let root = setup("plain", &[("releases/0.1.0/vm.args", "-sname x ${A}\n")]);
        let r = rules(&root);
        let s = source(Kind::VmArgs, None, &r);
        assert!(!s.substitute && !s.generated);
        let t = text(&s, &env, UnsetPolicy::Error).unwrap();
        let res = resolve(&s, t, &r, "x@h");
        assert_eq!(res.path, root.join("releases/0.1.0/vm.args"));
        assert_eq!(res.text, "-sname x ${A}\n");
        assert!(!res.write);
    }

    #[test]
    fn root_file_wins_over_rel_dir() {
        let root = setup(
            "rootfile",
            &[
                ("vm.args", "-sname r\n"),
                ("releases/0.1.0/vm.args", "-sname v\n"),
            ],
        );
        let s = source(Kind::VmArgs, None, &rules(&root));
        assert_eq!(s.input, root.join("vm.args"));
    }

    #[test]
    fn src_is_always_rendered_next_to_it() {
        let root = setup(
            "src",
            &[(
                "releases/0.1.0/sys.config.src",
                "[{a, \"${A}\"}]. % ${UNSET}\n",
            )],
        );
        let r = rules(&root);
        let s = source(Kind::SysConfig, None, &r);
        let t = text(&s, &env, UnsetPolicy::Error).unwrap();
        // the value's `\` is escaped for an Erlang string (config's issue-15 writer)
        assert_eq!(t, "[{a, \"aa&\\\\\"}]. % ${UNSET}\n");
        let res = resolve(&s, t, &r, "x@h");
        assert_eq!(res.path, root.join("releases/0.1.0/sys.config"));
        assert!(res.write);
    }

    #[test]
    fn replace_in_place_goes_to_tmp_and_multi_node_names() {
        let root = setup("inplace", &[("releases/0.1.0/vm.args", "-sname ${A}\n")]);
        let mut r = rules(&root);
        r.replace_os_vars = true;
        let s = source(Kind::VmArgs, None, &r);
        let t = text(&s, &env, UnsetPolicy::Error).unwrap();
        let res = resolve(&s, t.clone(), &r, "n@h");
        assert_eq!(res.path, root.join("tmp/rendered/vm.args"));
        r.multi_node = true;
        let res = resolve(&s, t.clone(), &r, "n@h");
        assert_eq!(res.path, root.join("releases/0.1.0/vm.n@h.args"));
        r.out_dir = Some(root.join("out"));
        let res = resolve(&s, t, &r, "n@h");
        assert_eq!(res.path, root.join("out/vm.n@h.args"));
    }

    #[test]
    fn orig_is_the_template() {
        let root = setup(
            "orig",
            &[
                ("releases/0.1.0/vm.args", "-sname rendered\n"),
                ("releases/0.1.0/vm.args.orig", "-sname ${A}\n"),
            ],
        );
        let mut r = rules(&root);
        let s = source(Kind::VmArgs, None, &r);
        let res = resolve(&s, text(&s, &env, UnsetPolicy::Error).unwrap(), &r, "n");
        assert_eq!(res.path, root.join("releases/0.1.0/vm.args.orig"));
        assert!(!res.write);
        r.replace_os_vars = true;
        let s = source(Kind::VmArgs, None, &r);
        let res = resolve(&s, text(&s, &env, UnsetPolicy::Error).unwrap(), &r, "n");
        assert_eq!(res.text, "-sname aa&\\\\\n");
        assert_eq!(res.path, root.join("tmp/rendered/vm.args"));
    }

    #[test]
    fn unset_variables_are_listed_or_empty() {
        let root = setup(
            "unset",
            &[("releases/0.1.0/vm.args.src", "-sname ${NOPE}\n")],
        );
        let s = source(Kind::VmArgs, None, &rules(&root));
        let err = text(&s, &env, UnsetPolicy::Error).unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
        assert_eq!(err.code(), 4);
        assert_eq!(text(&s, &env, UnsetPolicy::Empty).unwrap(), "-sname \n");
        let missing = source(Kind::SysConfig, None, &rules(&root));
        assert_eq!(
            text(&missing, &env, UnsetPolicy::Error).unwrap_err().code(),
            2
        );
    }
}
