//! `sys.config`: the include planner (which files to render, where, and the rewritten
//! references) and the `RUNTIME_CONFIG=true` marker.
//!
//! # Decisions
//!
//! * `sys.config.src` **always wins** over `sys.config` (see [`super::source`]); the same
//!   holds for included files (`other.config.src`).
//! * Values are written for where they land (see [`super::erl_terms`]); comments are
//!   copied verbatim and never substituted.
//! * When substituting, the files the sys.config includes are rendered too (relx leaves
//!   them alone, rebar3 #2885). An include is a string that is a whole element of the
//!   top-level list (`["/path/other.config", {app, [...]}]`), found in the *rendered*
//!   text, so its path may use `${VAR}`. As in OTP, `.config` is appended when the name
//!   does not end with it. Relative paths are resolved against the release root (OTP uses
//!   the cwd, which the scripts set to the root). The reference is rewritten to the
//!   absolute rendered target. Included files cannot include further files (OTP rule), so
//!   the walk is one level deep. A missing include is a configuration error.
//! * Rendered names in `render_dir`: `<stem>.config` for the entry (`sys.config`, so
//!   `entry_without_ext` is `render_dir/sys`), `<stem>.<n>-<name>.config` for includes.
//! * `runtime_config` is true when the (rendered) entry contains `RUNTIME_CONFIG=true`,
//!   as Elixir's script greps for it.
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::erl_strings::erlang_string;
use super::erl_terms::top_level_strings;
use super::render::RenderedFile;
use super::subst::UnsetPolicy;
use super::template::{self, Format, Problems, Subst};
use crate::error::Error;
use crate::paths::with_suffix;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SysConfigPlan {
    /// The path to pass as `-config` / `RELEASE_SYS_CONFIG` (without `.config`).
    pub entry_without_ext: PathBuf,
    /// Files to write, entry first; empty when nothing is substituted.
    pub files: Vec<RenderedFile>,
    /// The entry contains `RUNTIME_CONFIG=true`.
    pub runtime_config: bool,
}

const MARKER: &[u8] = b"RUNTIME_CONFIG=true";

/// Plans `path_without_ext.config` (see the module documentation).
///
/// Errors: neither `.config` nor `.config.src` exists → `Error::Release`; unset variables
/// (all of them, across the entry and its includes), missing includes, non-UTF-8 text →
/// `Error::Config`; unreadable files → `Error::Io`.
pub(crate) fn plan_sys_config(
    path_without_ext: &Path,
    root: &Path,
    render_dir: &Path,
    substitute: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<SysConfigPlan, Error> {
    let path = with_suffix(path_without_ext, ".config");
    let (source, substitute) = super::source::entry_source(&path, substitute)?;
    if !substitute {
        let raw = read(&source)?;
        return Ok(SysConfigPlan {
            entry_without_ext: path_without_ext.to_path_buf(),
            files: Vec::new(),
            runtime_config: is_runtime_config(&raw),
        });
    }

    let stem = path_without_ext
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("sys")
        .to_string();
    super::private_dir::check(render_dir)?;
    let subst = Subst { lookup, policy };
    let mut problems = Problems::new();
    let text = template::render_file(&source, Format::ErlangTerms, subst, Some(&mut problems))?;
    let mut files = vec![RenderedFile {
        source: source.clone(),
        target: render_dir.join(format!("{stem}.config")),
        contents: Vec::new(),
    }];
    let display = source.display().to_string();
    let mut rendered: HashMap<super::source::FileId, PathBuf> = HashMap::new();
    let mut rewrites: Vec<(Range<usize>, String)> = Vec::new();
    for (span, value) in top_level_strings(&text) {
        let line = 1 + text[..span.start].matches('\n').count();
        let named = config_file_name(&value);
        let named = if named.is_absolute() {
            named
        } else {
            root.join(named)
        };
        let Some((inc, _)) = super::source::source_of(&named) else {
            return Err(Error::Config(format!(
                "{display}:{line}: included config file {value:?}: {} not found",
                named.display()
            )));
        };
        let key = super::source::file_id(&inc)?;
        let target = match rendered.get(&key) {
            Some(t) => t.clone(),
            None => {
                let base = inc
                    .file_name()
                    .and_then(|b| b.to_str())
                    .unwrap_or("included");
                let base = base.strip_suffix(".src").unwrap_or(base);
                let base = base.strip_suffix(".config").unwrap_or(base);
                let target =
                    render_dir.join(format!("{stem}.{}-{base}.config", rendered.len() + 1));
                let contents =
                    template::render_file(&inc, Format::ErlangTerms, subst, Some(&mut problems))?;
                files.push(RenderedFile {
                    source: inc.clone(),
                    target: target.clone(),
                    contents: contents.into_bytes(),
                });
                rendered.insert(key, target.clone());
                target
            }
        };
        let target_str = target.to_str().ok_or_else(|| {
            Error::Config(format!(
                "render directory {} is not valid UTF-8",
                render_dir.display()
            ))
        })?;
        rewrites.push((span, erlang_string(target_str)));
    }
    if !problems.is_empty() {
        return Err(template::problems_error(
            "cannot render sys.config",
            &problems,
        ));
    }
    let mut contents = String::with_capacity(text.len());
    let mut at = 0;
    for (span, repl) in rewrites {
        contents.push_str(&text[at..span.start]);
        contents.push_str(&repl);
        at = span.end;
    }
    contents.push_str(&text[at..]);
    let runtime_config = is_runtime_config(contents.as_bytes());
    files[0].contents = contents.into_bytes();
    Ok(SysConfigPlan {
        entry_without_ext: render_dir.join(&stem),
        files,
        runtime_config,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
}

/// The script's `grep -q "RUNTIME_CONFIG=true"`: anywhere in the file, not only line 2.
pub(crate) fn is_runtime_config(contents: &[u8]) -> bool {
    contents.windows(MARKER.len()).any(|w| w == MARKER)
}

/// OTP's rule: `dirname(F)/basename(F, ".config") ++ ".config"`.
fn config_file_name(name: &str) -> PathBuf {
    if name.ends_with(".config") {
        PathBuf::from(name)
    } else {
        PathBuf::from(format!("{name}.config"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::test_support::scratch;

    fn env(k: &str) -> Option<String> {
        match k {
            "VAR1" => Some("101".into()),
            "DIR" => Some("cfg".into()),
            "Q" => Some("a\"b".into()),
            _ => None,
        }
    }

    #[test]
    fn no_substitution() {
        let d = scratch("nosub");
        fs::write(
            d.join("sys.config"),
            "%% coding: utf-8\n%% RUNTIME_CONFIG=true\n[{a, [{b, \"${X}\"}]}].\n",
        )
        .unwrap();
        let plan = plan_sys_config(
            &d.join("sys"),
            &d,
            &d.join("r"),
            false,
            &env,
            UnsetPolicy::Error,
        )
        .unwrap();
        assert_eq!(plan.entry_without_ext, d.join("sys"));
        assert!(plan.files.is_empty());
        assert!(plan.runtime_config);
        let e = plan_sys_config(&d.join("nope"), &d, &d, false, &env, UnsetPolicy::Error);
        assert!(matches!(e, Err(Error::Release(_))));
    }

    #[test]
    fn src_rendered_with_comments_verbatim() {
        let d = scratch("src");
        fs::write(
            d.join("sys.config.src"),
            "%% RUNTIME_CONFIG=false ${NOT_HERE}\n[{app, [{var1, ${VAR1}}, {var8, ${VAR8:-888}}, \
             {pct, \"100% ${VAR1}\"}, {c, $%}, {s, '${VAR1}'}]}]. % ${NOR_HERE}\n",
        )
        .unwrap();
        let r = d.join("r");
        let plan =
            plan_sys_config(&d.join("sys"), &d, &r, false, &env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.entry_without_ext, r.join("sys"));
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].target, r.join("sys.config"));
        assert_eq!(
            String::from_utf8(plan.files[0].contents.clone()).unwrap(),
            "%% RUNTIME_CONFIG=false ${NOT_HERE}\n[{app, [{var1, 101}, {var8, 888}, \
             {pct, \"100% 101\"}, {c, $%}, {s, '101'}]}]. % ${NOR_HERE}\n"
        );
        assert!(!plan.runtime_config);
    }

    #[test]
    fn includes_are_rendered_and_rewritten() {
        let d = scratch("inc");
        fs::create_dir_all(d.join("cfg")).unwrap();
        fs::write(
            d.join("sys.config"),
            "%% top\n[\"${DIR}/included.config\",\n {app, [{k, \"${VAR1}\"}, \"not/an/include\"]},\n \"cfg/other\", \"cfg/included\"].\n",
        )
        .unwrap();
        fs::write(
            d.join("cfg/included.config"),
            "[{inc, [{v, \"${VAR1}\"}]}].\n",
        )
        .unwrap();
        fs::write(
            d.join("cfg/other.config.src"),
            "[{other, [{v, ${VAR1}}]}].\n",
        )
        .unwrap();
        let r = d.join("render");
        let plan = plan_sys_config(&d.join("sys"), &d, &r, true, &env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.files.len(), 3);
        let inc = r.join("sys.1-included.config");
        let other = r.join("sys.2-other.config");
        assert_eq!(plan.files[1].target, inc);
        assert_eq!(plan.files[1].contents, b"[{inc, [{v, \"101\"}]}].\n");
        assert_eq!(plan.files[2].target, other);
        assert_eq!(plan.files[2].contents, b"[{other, [{v, 101}]}].\n");
        let top = String::from_utf8(plan.files[0].contents.clone()).unwrap();
        assert_eq!(
            top,
            format!(
                "%% top\n[\"{}\",\n {{app, [{{k, \"101\"}}, \"not/an/include\"]}},\n \"{}\", \"{}\"].\n",
                inc.display(),
                other.display(),
                inc.display()
            )
        );
    }

    #[test]
    fn missing_include_and_missing_vars() {
        let d = scratch("missing");
        fs::write(d.join("sys.config"), "[\n\"gone.config\"].\n").unwrap();
        let e = plan_sys_config(
            &d.join("sys"),
            &d,
            &d.join("r"),
            true,
            &env,
            UnsetPolicy::Error,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sys.config:2:") && e.contains("gone.config"),
            "{e}"
        );

        fs::write(
            d.join("sys.config"),
            "[\"inc\", {a, [{b, \"${NOPE}\"}]}].\n",
        )
        .unwrap();
        fs::write(d.join("inc.config"), "\n[{c, ${ALSO_NOPE}}].\n").unwrap();
        let e = plan_sys_config(
            &d.join("sys"),
            &d,
            &d.join("r"),
            true,
            &env,
            UnsetPolicy::Error,
        )
        .unwrap_err();
        assert_eq!(e.code(), 4);
        let e = e.to_string();
        assert!(e.contains("sys.config:1: NOPE"), "{e}");
        assert!(e.contains("inc.config:2: ALSO_NOPE"), "{e}");
    }
}
