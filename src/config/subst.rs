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
pub(crate) enum UnsetPolicy {
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(text: &str, pairs: &[(&str, &str)]) -> String {
        let e = env(pairs);
        substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Error).unwrap()
    }

    fn run_empty(text: &str, pairs: &[(&str, &str)]) -> String {
        let e = env(pairs);
        substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Empty).unwrap()
    }

    fn missing(text: &str, pairs: &[(&str, &str)]) -> Vec<(String, usize)> {
        let e = env(pairs);
        substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Error)
            .unwrap_err()
            .into_iter()
            .map(|m| {
                assert_eq!(m.why, Why::Unset);
                (m.var, m.line)
            })
            .collect()
    }

    #[test]
    fn plain_and_default() {
        assert_eq!(run("a ${A} b", &[("A", "x")]), "a x b");
        assert_eq!(run("${A}${B}", &[("A", "1"), ("B", "2")]), "12");
        assert_eq!(run("${UNSET:-def}", &[]), "def");
        assert_eq!(run("${A:-def}", &[("A", "v")]), "v");
        assert_eq!(run("${UNSET:-}", &[]), "");
        assert_eq!(run("${UNSET:-a:-b}", &[]), "a:-b");
        assert_eq!(run("{port, ${PORT:-4000}}.", &[]), "{port, 4000}.");
        assert_eq!(run("${_x9}", &[("_x9", "ok")]), "ok");
    }

    #[test]
    fn empty_versus_unset() {
        // set-but-empty: `${VAR}` gives empty, `:-` takes the default
        assert_eq!(run("[${EMPTY}]", &[("EMPTY", "")]), "[]");
        assert_eq!(run("[${EMPTY:-def}]", &[("EMPTY", "")]), "[def]");
        assert_eq!(missing("[${UNSET}]", &[]), vec![("UNSET".into(), 1)]);
        assert_eq!(run_empty("[${UNSET}]", &[]), "[]");
    }

    #[test]
    fn literal_escape_and_dollars() {
        assert_eq!(run("$${A}", &[("A", "x")]), "${A}");
        assert_eq!(run("$${NOT_SET}", &[]), "${NOT_SET}");
        assert_eq!(run("$$${A}", &[("A", "x")]), "$${A}");
        assert_eq!(run("$A ${A} $ $$ a$", &[("A", "aa")]), "$A aa $ $$ a$");
        assert_eq!(run("cost: 5$", &[]), "cost: 5$");
    }

    #[test]
    fn not_a_reference_is_literal() {
        assert_eq!(run("${A-def}", &[("A", "x")]), "${A-def}");
        assert_eq!(run("${ A }", &[("A", "x")]), "${ A }");
        assert_eq!(run("${1}", &[]), "${1}");
        assert_eq!(run("${}", &[]), "${}");
        assert_eq!(run("${A:x}", &[("A", "x")]), "${A:x}");
        // scanning resumes after the literal `${`
        assert_eq!(run("${A-${B}}", &[("B", "b")]), "${A-b}");
        // unterminated on its line
        assert_eq!(run("${A", &[("A", "x")]), "${A");
        assert_eq!(run("${A:-abc\n}", &[]), "${A:-abc\n}");
        assert_eq!(run("x ${A:-abc", &[]), "x ${A:-abc");
    }

    #[test]
    fn values_are_literal() {
        let cases = [
            "p&q",
            "x\\y",
            "$HOME",
            "a\nb",
            "${A}",
            "\\1 \\0 & $1",
            "${",
            ".*+?()[]{}|^",
        ];
        for v in cases {
            assert_eq!(run("<${V}>", &[("V", v), ("A", "no")]), format!("<{v}>"));
        }
        // self-referential value is not expanded again
        assert_eq!(run("${SELF}", &[("SELF", "${SELF}")]), "${SELF}");
    }

    #[test]
    fn defaults_are_literal() {
        assert_eq!(run("${U:-x.y*z}", &[]), "x.y*z");
        assert_eq!(run("${U:-(p)}", &[]), "(p)");
        assert_eq!(run("${U:-p&q\\1$}", &[]), "p&q\\1$");
        assert_eq!(run("${U:-$A}", &[("A", "no")]), "$A");
        assert_eq!(run("${U:-$${A}", &[("A", "no")]), "$${A");
    }

    #[test]
    fn nested_default_ends_at_first_brace() {
        // The default is `${B`; the outer `}` stays. Documented, and it must not hang.
        assert_eq!(run("${UNSET:-${A}}", &[("A", "aa")]), "${A}");
        assert_eq!(run("${X:-${A}}", &[("X", "x"), ("A", "aa")]), "x}");
    }

    #[test]
    fn all_missing_with_lines() {
        let text = "one ${A}\n${B} ${C:-c}\n\n${D}${A}\n$${E}\n";
        assert_eq!(
            missing(text, &[]),
            vec![
                ("A".into(), 1),
                ("B".into(), 2),
                ("D".into(), 4),
                ("A".into(), 4)
            ]
        );
    }

    #[test]
    fn large_input_is_linear() {
        // 5 MB of mixed references and pathological unterminated defaults
        let chunk = "-env X ${A} ${U:-d} $${L} $ ${ ${A:-${A:-${A:- }} & \\\n";
        let mut text = String::new();
        while text.len() < 5 * 1024 * 1024 {
            text.push_str(chunk);
        }
        let mut patho = "${A:-".repeat(200_000);
        patho.push('\n');
        text.push_str(&patho);
        let start = std::time::Instant::now();
        let out = run(&text, &[("A", "a")]);
        assert!(out.len() > 3 * 1024 * 1024);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn policy_from_setting() {
        assert_eq!(UnsetPolicy::from_setting(None).unwrap(), UnsetPolicy::Error);
        assert_eq!(
            UnsetPolicy::from_setting(Some("empty")).unwrap(),
            UnsetPolicy::Empty
        );
        assert!(UnsetPolicy::from_setting(Some("yes")).is_err());
    }

    #[test]
    fn env_lookup_reads_envmap() {
        let mut m = EnvMap::new();
        m.set("A", "1");
        let l = env_lookup(&m);
        assert_eq!(l("A").as_deref(), Some("1"));
        assert_eq!(l("B"), None);
    }

    #[test]
    fn values_that_are_not_text_are_refused() {
        use std::os::unix::ffi::OsStringExt;
        let mut m = EnvMap::new();
        m.set("BAD", std::ffi::OsString::from_vec(b"caf\xe9".to_vec()));
        m.set("OK", "caf\u{e9}");
        let l = env_lookup(&m);
        let e = substitute("a ${OK} ${BAD}\n${BAD:-x}", &l, UnsetPolicy::Error).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            matches!(&e[0].why, Why::Refused(r) if r.contains("UTF-8")),
            "{e:?}"
        );
        assert_eq!((e[0].var.as_str(), e[1].line), ("BAD", 2));
        // a NUL in a default cannot be written either
        let e = substitute("${U:-a\0b}", &l, UnsetPolicy::Error).unwrap_err();
        assert!(
            matches!(&e[0].why, Why::Refused(r) if r.contains("NUL")),
            "{e:?}"
        );
        assert_eq!(
            substitute("${OK}", &l, UnsetPolicy::Error).unwrap(),
            "caf\u{e9}"
        );
    }

    /// relx's awk renderer (the loop from `extended_bin`), for the cases where it neither
    /// hangs nor silently empties: the outputs must agree.
    #[test]
    fn differential_against_relx_awk() {
        let awk = ["mawk", "awk", "gawk"].into_iter().find(|a| {
            std::process::Command::new(a)
                .arg("BEGIN{}")
                .output()
                .is_ok()
        });
        let awk = awk.expect("no awk found: install mawk (apt-get install mawk)");
        let program = r#"{
  while (match($0, "[$]{[^}]*}")) {
    var = substr($0, RSTART+2, RLENGTH-3)
    split(var, parts, ":-")
    val = ENVIRON[parts[1]]
    gsub("&", "\\\\&", val)
    if (index(var, ":-") && val == "") {
      def = substr(var, index(var, ":-") + 2)
      gsub("&", "\\\\&", def)
      gsub("[$]{"var"}", def)
    } else {
      gsub("[$]{"var"}", val)
    }
  }
  print
}"#;
        let input = "-sname ${A}\n\
                     -setcookie ${AMP}\n\
                     {a, \"${UNSET:-def}\"}\n\
                     x ${EMPTY:-fallback} y\n\
                     $A ${A} ${BS} ${DOL}\n\
                     ${UNSET:-a:-b} ${UNSET:-}\n\
                     plain line & stuff\n";
        let vars = [
            ("A", "aa"),
            ("AMP", "p&q"),
            ("EMPTY", ""),
            ("BS", "x\\y"),
            ("DOL", "$HOME"),
        ];
        let out = std::process::Command::new(awk)
            .arg(program)
            .env_remove("UNSET")
            .envs(vars)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(input.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        let relx = String::from_utf8(out.stdout).unwrap();
        assert_eq!(run(input, &vars), relx);
    }
}
