//! `sys.config`: substitution, included config files, and the `RUNTIME_CONFIG=true` marker.
//!
//! # Decisions
//!
//! * `sys.config.src` **always wins** over `sys.config` when it exists and is always
//!   substituted (relx); the same holds for included files (`other.config.src`).
//! * Comments (`%` to the end of the line, outside strings, quoted atoms and `$c`
//!   character literals) are copied verbatim and never substituted.
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

use super::subst::{self, CloseFinder, MissingVar, UnsetPolicy};
use super::vm_args::{RenderedFile, with_suffix};
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysConfigPlan {
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
pub fn plan_sys_config(
    path_without_ext: &Path,
    root: &Path,
    render_dir: &Path,
    substitute: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<SysConfigPlan, Error> {
    let path = with_suffix(path_without_ext, ".config");
    let (source, substitute) = super::vm_args::pick_source(&path, substitute)?;
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
    let mut missing: Vec<(String, MissingVar)> = Vec::new();
    let text = render(&source, lookup, policy, &mut missing)?;
    let mut files = vec![RenderedFile {
        source: source.clone(),
        target: render_dir.join(format!("{stem}.config")),
        contents: Vec::new(),
    }];
    let display = source.display().to_string();
    let mut rendered: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut rewrites: Vec<(Range<usize>, String)> = Vec::new();
    for (span, value) in top_level_strings(&text) {
        let line = 1 + text[..span.start].matches('\n').count();
        let named = config_file_name(&value);
        let named = if named.is_absolute() {
            named
        } else {
            root.join(named)
        };
        let inc_src = with_suffix(&named, ".src");
        let inc = if inc_src.is_file() {
            inc_src
        } else if named.exists() {
            named
        } else {
            return Err(Error::Config(format!(
                "{display}:{line}: included config file {value:?}: {} not found",
                named.display()
            )));
        };
        let key = std::fs::canonicalize(&inc)
            .map_err(|e| Error::io(format!("cannot read {}", inc.display()), e))?;
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
                let contents = render(&inc, lookup, policy, &mut missing)?;
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
    if !missing.is_empty() {
        return Err(subst::missing_error("cannot render sys.config", &missing));
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
pub fn is_runtime_config(contents: &[u8]) -> bool {
    contents.windows(MARKER.len()).any(|w| w == MARKER)
}

/// Substitutes one file (comments verbatim); missing variables are collected and the
/// text rendered with empty values so the walk can go on.
fn render(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
    missing: &mut Vec<(String, MissingVar)>,
) -> Result<String, Error> {
    let text = String::from_utf8(read(path)?).map_err(|_| {
        Error::Config(format!(
            "{}: not valid UTF-8, cannot substitute",
            path.display()
        ))
    })?;
    let comments = lex(&text, true).comments;
    Ok(
        match subst::substitute_except(&text, &comments, lookup, policy) {
            Ok(t) => t,
            Err(m) => {
                let display = path.display().to_string();
                missing.extend(m.into_iter().map(|m| (display.clone(), m)));
                subst::substitute_except(&text, &comments, lookup, UnsetPolicy::Empty)
                    .unwrap_or_default()
            }
        },
    )
}

/// The byte ranges of `%` comments (never substituted).
pub(crate) fn comment_ranges(text: &str) -> Vec<Range<usize>> {
    lex(text, true).comments
}

/// OTP's rule: `dirname(F)/basename(F, ".config") ++ ".config"`.
fn config_file_name(name: &str) -> PathBuf {
    if name.ends_with(".config") {
        PathBuf::from(name)
    } else {
        PathBuf::from(format!("{name}.config"))
    }
}

fn erlang_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Comma,
    Str(Range<usize>),
    Other,
}

struct Lexed {
    toks: Vec<Tok>,
    comments: Vec<Range<usize>>,
}

/// A lexer for Erlang terms that is just good enough to find comments, strings and
/// structure. With `refs`, `${…}` references and `$${` are skipped as opaque units (for
/// templates before substitution).
fn lex(text: &str, refs: bool) -> Lexed {
    let b = text.as_bytes();
    let mut finder = CloseFinder::default();
    let mut toks = Vec::new();
    let mut comments = Vec::new();
    let mut i = 0;
    let skip_ref = |i: usize, finder: &mut CloseFinder| -> Option<usize> {
        if refs && b[i] == b'$' {
            subst::reference_at(b, i, finder).map(|r| r.end(i))
        } else {
            None
        }
    };
    while i < b.len() {
        if let Some(end) = skip_ref(i, &mut finder) {
            toks.push(Tok::Other);
            i = end;
            continue;
        }
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'%' => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| p + i);
                comments.push(i..end);
                i = end;
            }
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    if let Some(end) = skip_ref(i, &mut finder) {
                        i = end;
                    } else if b[i] == b'\\' {
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                i = (i + 1).min(b.len());
                toks.push(if q == b'"' {
                    Tok::Str(start..i)
                } else {
                    Tok::Other
                });
            }
            b'$' => {
                // character literal: `$c` or `$\c`
                i += if b.get(i + 1) == Some(&b'\\') { 3 } else { 2 };
                i = i.min(b.len());
                toks.push(Tok::Other);
            }
            b'[' | b'{' | b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b']' | b'}' | b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                toks.push(Tok::Open);
                i += 2;
            }
            b'>' if b.get(i + 1) == Some(&b'>') => {
                toks.push(Tok::Close);
                i += 2;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            _ => {
                // a run of anything else (atoms, numbers, operators, the final dot)
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !b"%\"'$[]{}(),<>".contains(&b[i])
                {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'<' || b[i] == b'>') && !is_pair(b, i) {
                    i += 1;
                }
                toks.push(Tok::Other);
            }
        }
    }
    Lexed { toks, comments }
}

fn is_pair(b: &[u8], i: usize) -> bool {
    b.get(i + 1) == Some(&b[i])
}

/// Strings that are whole elements of the top-level list, with their decoded values.
fn top_level_strings(text: &str) -> Vec<(Range<usize>, String)> {
    let toks = lex(text, false).toks;
    let mut out = Vec::new();
    if !text.trim_start().starts_with('[') && !starts_with_list_after_comments(text) {
        return out;
    }
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Str(span) if depth == 1 => {
                let before = k.checked_sub(1).map(|p| &toks[p]);
                let after = toks.get(k + 1);
                if matches!(before, Some(Tok::Open) | Some(Tok::Comma))
                    && matches!(after, Some(Tok::Comma) | Some(Tok::Close))
                    && let Some(v) = decode_string(&text[span.start + 1..span.end - 1])
                {
                    out.push((span.clone(), v));
                }
            }
            _ => {}
        }
    }
    out
}

fn starts_with_list_after_comments(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('%'))
        .is_some_and(|l| l.starts_with('['))
}

/// Decodes the simple escapes of an Erlang string; `None` for anything fancier (octal,
/// `\x`, `\^`), which is then not treated as an include.
fn decode_string(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            's' => out.push(' '),
            c @ ('\\' | '"' | '\'') => out.push(c),
            _ => return None,
        }
    }
    Some(out)
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

    #[test]
    fn string_helpers() {
        assert_eq!(erlang_string("/a\"b\\c"), "\"/a\\\"b\\\\c\"");
        assert_eq!(decode_string("/a\\\"b\\\\c").as_deref(), Some("/a\"b\\c"));
        assert_eq!(decode_string("\\x41"), None);
        assert_eq!(
            top_level_strings("[\"a\" \"b\", <<\"bin\">>, \"c\"]."),
            vec![(21..24, "c".to_string())]
        );
        assert!(top_level_strings("{not, \"a list\"}.").is_empty());
    }
}
