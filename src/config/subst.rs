//! OS-variable substitution: the `${VAR}` / `${VAR:-default}` engine used for `vm.args`,
//! `sys.config` and the files they pull in.
//!
//! # Grammar
//!
//! * `${NAME}` is replaced by the value of `NAME`. A variable that is set but empty gives
//!   the empty string. An unset variable is an error (reported with its line) under
//!   [`UnsetPolicy::Error`], or the empty string under [`UnsetPolicy::Empty`] (relx's
//!   behaviour, selected with `BEAMRC_SUBST_UNSET=empty`).
//! * `${NAME:-default}` is replaced by the value of `NAME` when it is set and non-empty,
//!   otherwise by `default` (like sh `:-`). `default` is everything after the first `:-`
//!   up to the **first** `}` on the same line, so `${A:-x:-y}` defaults to `x:-y` and
//!   `${A:-${B}}` defaults to the literal text `${B` followed by a literal `}`.
//! * `NAME` must match `[A-Za-z_][A-Za-z0-9_]*`. When `${` is not followed by such a name
//!   and then `}` or `:-`, the `${` is copied literally and scanning resumes right after
//!   it (so `${A-def}`, `${ A }`, `${1}` stay as written, unlike relx which looks up a
//!   variable named `A-def` or ` A `).
//! * A `${NAME:-…` whose line has no `}` after it is copied literally (relx works line by
//!   line too; this keeps a typo from swallowing the rest of a file).
//! * `$${` is an escape for a literal `${` (it is written out as `${`). Nothing else about
//!   `$` is special: a lone `$`, `$$` or `$VAR` without braces is copied unchanged (relx
//!   compatible).
//!
//! Values and defaults are data: no regular expressions, no recursion (a value or default
//! containing `${X}` is not expanded again). Each is handed to the file's [`Syntax`],
//! which writes it so that the file's reader gets exactly that text where the reference
//! stood (escaped for vm.args; escaped inside sys.config strings and quoted atoms; as
//! source elsewhere in sys.config), or refuses it. The scan is a single left-to-right
//! pass, linear in the size of the input, so it cannot hang the way relx's awk loop does.
use std::ops::Range;

use crate::environment::EnvMap;
use crate::error::Error;

/// What to do with `${VAR}` when `VAR` is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnsetPolicy {
    /// Refuse to render; every missing variable is reported (beamrc's default).
    #[default]
    Error,
    /// Substitute the empty string silently (relx behaviour, `BEAMRC_SUBST_UNSET=empty`).
    Empty,
}

impl UnsetPolicy {
    /// Interprets the `BEAMRC_SUBST_UNSET` setting: unset, empty or `error` → `Error`,
    /// `empty` → `Empty`; anything else is a configuration error.
    pub(crate) fn from_setting(value: Option<&str>) -> Result<UnsetPolicy, Error> {
        match value {
            None | Some("") | Some("error") => Ok(UnsetPolicy::Error),
            Some("empty") => Ok(UnsetPolicy::Empty),
            Some(other) => Err(Error::Config(format!(
                "BEAMRC_SUBST_UNSET must be \"error\" or \"empty\", not {other:?}"
            ))),
        }
    }
}

/// What [`env_lookup`] gives for a value that is not UTF-8: a NUL cannot come from the
/// environment, so it marks the value as one that cannot be substituted (the engine then
/// refuses it instead of writing a changed value).
const NOT_UTF8: &str = "\0not UTF-8";

/// A lookup function over an [`EnvMap`]; a value that is not UTF-8 is refused when used.
pub(crate) fn env_lookup(env: &EnvMap) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| {
        env.get(name).map(|v| match v.to_str() {
            Some(s) => s.to_string(),
            None => NOT_UTF8.to_string(),
        })
    }
}

/// How the file around a reference reads text, so that a value can be written to arrive
/// exactly as it is (or be refused). One implementation per file format.
pub(crate) trait Syntax {
    /// `bytes` were copied to the output unchanged (template text, or `${` from `$${`).
    fn copied(&mut self, bytes: &[u8]);
    /// A `$` at template offset `at` is inside a comment (comments are copied verbatim).
    fn in_comment(&mut self, at: usize) -> bool;
    /// Appends `value`, the result of the reference at template offset `at`, to `out`;
    /// `Err(reason)` refuses it (then nothing is appended).
    fn write(&mut self, at: usize, value: &str, out: &mut String) -> Result<(), String>;
}

/// No syntax: values are copied as they are and nothing is a comment.
pub(crate) struct Raw;

impl Syntax for Raw {
    fn copied(&mut self, _: &[u8]) {}
    fn in_comment(&mut self, _: usize) -> bool {
        false
    }
    fn write(&mut self, _: usize, value: &str, out: &mut String) -> Result<(), String> {
        out.push_str(value);
        Ok(())
    }
}

/// A reference that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub var: String,
    /// 1-based line of the reference in the template.
    pub line: usize,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// `${VAR}` without default, `VAR` unset, under [`UnsetPolicy::Error`].
    Unset,
    /// The syntax refused the value where it lands.
    Refused(String),
}

/// The rendered text (with nothing where a problem was) and every problem, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub text: String,
    pub problems: Vec<Problem>,
}

/// Substitutes every reference in `text` (see the module documentation for the grammar)
/// without regard to any file syntax. Returns every problem (in order of appearance, one
/// entry per reference) when there is one. (relx's script emulation substitutes single
/// lines this way, as its shell does.)
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<String, Vec<Problem>> {
    let r = render(text, &mut Raw, lookup, policy);
    if r.problems.is_empty() {
        Ok(r.text)
    } else {
        Err(r.problems)
    }
}

/// The engine: one left-to-right pass; comments (as `syntax` sees them) are copied
/// verbatim and every value is written by `syntax` for the place it lands in.
pub(crate) fn render(
    text: &str,
    syntax: &mut dyn Syntax,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Rendered {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut finder = CloseFinder::default();
    let mut line = 1usize;
    // `lit` is the start of the pending literal run, copied lazily.
    let mut lit = 0usize;
    let mut flush = |out: &mut String, syntax: &mut dyn Syntax, range: Range<usize>| {
        let chunk = &text[range];
        line += chunk.bytes().filter(|&b| b == b'\n').count();
        out.push_str(chunk);
        syntax.copied(chunk.as_bytes());
        line
    };
    let mut i = 0usize;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let line = flush(&mut out, syntax, lit..i);
        lit = i;
        if syntax.in_comment(i) {
            i += 1;
            continue;
        }
        match reference_at(bytes, i, &mut finder) {
            None => i += 1,
            Some(Ref::Escape) => {
                out.push_str("${");
                syntax.copied(b"${");
                i += 3;
                lit = i;
            }
            Some(Ref::Var { name, default, end }) => {
                let name = &text[name];
                let value = match (lookup(name), default) {
                    (Some(v), Some(d)) if v.is_empty() => Ok(text[d].to_string()),
                    (None, Some(d)) => Ok(text[d].to_string()),
                    (Some(v), _) => Ok(v),
                    (None, None) if policy == UnsetPolicy::Empty => Ok(String::new()),
                    (None, None) => Err(Why::Unset),
                };
                let written = value.and_then(|v| match v.as_str() {
                    NOT_UTF8 => Err(Why::Refused(
                        "is not valid UTF-8, so it cannot be written unchanged".into(),
                    )),
                    v if v.contains('\0') => Err(Why::Refused(
                        "contains a NUL byte, which no config file can hold".into(),
                    )),
                    v => syntax.write(i, v, &mut out).map_err(Why::Refused),
                });
                if let Err(why) = written {
                    problems.push(Problem {
                        var: name.to_string(),
                        line,
                        why,
                    });
                }
                i = end;
                lit = i;
            }
        }
    }
    flush(&mut out, syntax, lit..bytes.len());
    Rendered {
        text: out,
        problems,
    }
}

/// A recognised construct starting at a `$`.
pub(crate) enum Ref {
    /// `$${`, three bytes.
    Escape,
    /// `${NAME}` or `${NAME:-default}`; `end` is exclusive.
    Var {
        name: Range<usize>,
        default: Option<Range<usize>>,
        end: usize,
    },
}

impl Ref {
    pub(crate) fn end(&self, start: usize) -> usize {
        match self {
            Ref::Escape => start + 3,
            Ref::Var { end, .. } => *end,
        }
    }
}

/// Recognises `$${`, `${NAME}` or `${NAME:-…}` at `i` (where `bytes[i] == b'$'`).
///
/// Queries must be made with non-decreasing `i` for a given `finder` (that is what makes
/// the scan linear even on pathological input such as a long line of `${A:-${A:-…`).
pub(crate) fn reference_at(bytes: &[u8], i: usize, finder: &mut CloseFinder) -> Option<Ref> {
    debug_assert_eq!(bytes[i], b'$');
    let rest = &bytes[i..];
    if rest.starts_with(b"$${") {
        return Some(Ref::Escape);
    }
    if !rest.starts_with(b"${") {
        return None;
    }
    let name_start = i + 2;
    let first = *bytes.get(name_start)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut j = name_start + 1;
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    let name = name_start..j;
    match bytes.get(j) {
        Some(b'}') => Some(Ref::Var {
            name,
            default: None,
            end: j + 1,
        }),
        Some(b':') if bytes.get(j + 1) == Some(&b'-') => {
            let d_start = j + 2;
            let close = finder.find(bytes, d_start)?;
            (bytes[close] == b'}').then_some(Ref::Var {
                name,
                default: Some(d_start..close),
                end: close + 1,
            })
        }
        _ => None,
    }
}

/// Finds the first `}` or `\n` at or after a position, caching the answer so that a
/// sequence of queries with non-decreasing positions costs O(n) in total.
#[derive(Default)]
pub(crate) struct CloseFinder {
    /// `Some(Some(p))`: the stop byte found last time is at `p`; `Some(None)`: none up to
    /// the end of the text.
    cached: Option<Option<usize>>,
}

impl CloseFinder {
    fn find(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        match self.cached {
            Some(None) => return None,
            Some(Some(p)) if p >= from => return Some(p),
            _ => {}
        }
        let found = bytes[from..]
            .iter()
            .position(|&b| b == b'}' || b == b'\n')
            .map(|p| p + from);
        self.cached = Some(found);
        found
    }
}

#[cfg(test)]
#[path = "subst_tests.rs"]
mod tests;
