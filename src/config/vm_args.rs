//! `vm.args` chains: substitution, `-args_file` following, and the facts the launcher
//! needs (node name, cookie, flags).
//!
//! # File syntax (erlexec's `read_args_file`, emulated exactly)
//!
//! Two passes, as in `erts/etc/common/erlexec.c`:
//! 1. `\` makes the next byte literal (the `\` itself is dropped, and an escaped newline or
//!    tab is kept as is); an unescaped `#` starts a comment to the end of the line (even
//!    inside quotes); newlines, tabs, CR, FF and VT become spaces; runs of spaces collapse.
//! 2. The result is split on spaces; `"…"` and `'…'` quote (no escapes inside) and `\`
//!    outside quotes makes the next byte literal.
//!
//! An `-args_file F` pair is replaced by the arguments of `F`; an `-extra` makes the rest
//! of *that* file plain arguments (moved to the end, after `-extra`).
//!
//! # Decisions
//!
//! * `vm.args.src` **always wins** over `vm.args` when it exists (relx: the `.src` is the
//!   template, a `vm.args` next to it is a stale render), and is always substituted.
//!   The same rule applies to every file reached through `-args_file`.
//! * A relative `-args_file` path is resolved against the directory of the file naming it
//!   (erlexec resolves it against its cwd). Rendered copies always name their includes by
//!   the rendered target path, so they do not depend on the cwd; pass an absolute
//!   `render_dir`.
//! * Comments are copied verbatim and never substituted, so `# ${X}` in a comment cannot
//!   fail a boot. Values are inserted as written: a value containing `#` or spaces changes
//!   how erlexec splits the line, as with relx.
//! * Rendered names in `render_dir`: the entry keeps its file name (`vm.args`); every
//!   included file is `<entry>.<n>-<file name>` (`vm.args.1-extra.args`, …), `n` counting
//!   distinct files in discovery order, so equal basenames never collide and `vm.args`
//!   and `remote.vm.args` chains can share a directory. A file included twice is rendered
//!   once.
//! * `-args_file` cycles are an error in every mode (erlexec would loop forever).
//!   A missing included file is an error when rendering; without rendering it is only a
//!   warning, since erlexec will look for it relative to its own cwd. Line numbers in
//!   include errors refer to the rendered text (they differ from the template only when
//!   a substituted value contains a newline).
//! * Node name, as the VM decides (`erl_distribution`): a `-sname`/`-name` counts only if
//!   its **first** occurrence has exactly one value; a valid `-sname` beats `-name`;
//!   duplicates produce a warning (OTP logs "Multiple -sname given to erl, using the
//!   first").
//! * Cookie, as `auth` decides: our cookie comes from `-setcookie C` only when there is
//!   exactly one `-setcookie` with zero or one value; with more (or an argless one) OTP
//!   ignores them all and reads `~/.erlang.cookie`, so `cookie` is `None` and a warning
//!   explains why. `-setcookie NODE C` (two values) sets another node's cookie and is not
//!   counted. `setcookie_count` lets the launcher avoid adding a second `-setcookie` on
//!   the command line (which would make OTP ignore both).
use std::collections::HashMap;
use std::ffi::OsString;
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::subst::{self, CloseFinder, MissingVar, UnsetPolicy};
use crate::error::Error;

/// A file to write: `contents` rendered from `source` goes to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub source: PathBuf,
    pub target: PathBuf,
    pub contents: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// `-sname`
    Short,
    /// `-name`
    Long,
}

/// What the VM will make of the (rendered) `vm.args` chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmArgsInfo {
    /// The node name the VM will use, if any (see the module documentation).
    pub name: Option<(NameKind, String)>,
    /// Our cookie, if exactly one `-setcookie C` is given.
    pub cookie: Option<String>,
    /// Number of `-setcookie` occurrences with zero or one value.
    pub setcookie_count: usize,
    /// Every argument in the order erlexec assembles them: the chain expanded (the
    /// `-args_file F` pairs removed), then `-extra` and the extra arguments if any.
    pub flags: Vec<String>,
    /// Human-readable notes (duplicate names, ignored cookies, missing includes when not
    /// rendering).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmArgsPlan {
    /// The path to pass as `-args_file` / `RELEASE_VM_ARGS`.
    pub entry: PathBuf,
    /// Files to write with `render::write_rendered`, entry first; empty when nothing is
    /// substituted.
    pub files: Vec<RenderedFile>,
    pub info: VmArgsInfo,
}

/// Plans `path` (a `vm.args`, or `remote.vm.args`): see the module documentation.
///
/// Errors: neither `path` nor `path.src` exists → `Error::Release`; unset variables (all
/// of them, across the chain), cycles, missing includes, `-args_file` without a file →
/// `Error::Config`; unreadable files → `Error::Io`.
pub fn plan_vm_args(
    path: &Path,
    render_dir: &Path,
    substitute: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<VmArgsPlan, Error> {
    let (source, substitute) = pick_source(path, substitute)?;
    let entry_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| OsString::from("vm.args"));
    let mut walk = Walk {
        render_dir,
        entry_name: entry_name.clone(),
        substitute,
        lookup,
        policy,
        files: Vec::new(),
        rendered: HashMap::new(),
        missing: Vec::new(),
        stack: Vec::new(),
        args: Vec::new(),
        extra: Vec::new(),
        warnings: Vec::new(),
    };
    let entry_target = render_dir.join(&entry_name);
    walk.visit(&source, substitute.then_some(entry_target.clone()))?;
    if !walk.missing.is_empty() {
        return Err(subst::missing_error("cannot render vm.args", &walk.missing));
    }
    let mut info = analyse(&walk.args, walk.warnings);
    info.flags = walk.args;
    if !walk.extra.is_empty() {
        info.flags.push("-extra".to_string());
        info.flags.extend(walk.extra);
    }
    Ok(VmArgsPlan {
        entry: if substitute {
            entry_target
        } else {
            path.to_path_buf()
        },
        files: walk.files,
        info,
    })
}

struct Walk<'a> {
    render_dir: &'a Path,
    entry_name: OsString,
    substitute: bool,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
    files: Vec<RenderedFile>,
    /// canonical source → target, for files already rendered
    rendered: HashMap<PathBuf, PathBuf>,
    missing: Vec<(String, MissingVar)>,
    /// canonical paths of the files being visited, with their display form
    stack: Vec<(PathBuf, String)>,
    args: Vec<String>,
    extra: Vec<String>,
    warnings: Vec<String>,
}

impl Walk<'_> {
    /// Visits `source`; `target` is where its rendering goes (`None` when not rendering,
    /// or when it was already rendered).
    fn visit(&mut self, source: &Path, target: Option<PathBuf>) -> Result<(), Error> {
        let canonical = std::fs::canonicalize(source)
            .map_err(|e| Error::io(format!("cannot read {}", source.display()), e))?;
        let display = source.display().to_string();
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == canonical) {
            let mut chain: Vec<&str> = self.stack[pos..].iter().map(|(_, d)| d.as_str()).collect();
            chain.push(&display);
            return Err(Error::Config(format!(
                "-args_file cycle: {}",
                chain.join(" -> ")
            )));
        }
        let raw = std::fs::read(source)
            .map_err(|e| Error::io(format!("cannot read {}", source.display()), e))?;
        let text = if self.substitute {
            let text = String::from_utf8(raw).map_err(|_| {
                Error::Config(format!("{display}: not valid UTF-8, cannot substitute"))
            })?;
            let comments = comment_ranges(&text);
            match subst::substitute_except(&text, &comments, self.lookup, self.policy) {
                Ok(t) => t,
                Err(missing) => {
                    if target.is_some() {
                        self.missing
                            .extend(missing.into_iter().map(|m| (display.clone(), m)));
                    }
                    // keep walking to find every missing variable in the chain
                    subst::substitute_except(&text, &comments, self.lookup, UnsetPolicy::Empty)
                        .unwrap_or_default()
                }
            }
        } else {
            String::from_utf8_lossy(&raw).into_owned()
        };
        let slot = target.as_ref().map(|t| {
            self.rendered.insert(canonical.clone(), t.clone());
            self.files.push(RenderedFile {
                source: source.to_path_buf(),
                target: t.clone(),
                contents: Vec::new(),
            });
            self.files.len() - 1
        });
        self.stack.push((canonical, display.clone()));

        let tokens = tokenize(&text);
        let mut rewrites: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let base_dir = source.parent().unwrap_or(Path::new("."));
        let mut it = tokens.into_iter();
        while let Some(tok) = it.next() {
            if tok.value == "-extra" {
                self.extra.extend(it.by_ref().map(|t| t.value));
                break;
            }
            if tok.value != "-args_file" {
                self.args.push(tok.value);
                continue;
            }
            let Some(file) = it.next() else {
                return Err(Error::Config(format!(
                    "{display}:{}: -args_file without a file name",
                    tok.line
                )));
            };
            let named = base_dir.join(&file.value);
            let src = with_suffix(&named, ".src");
            let child = if self.substitute && src.is_file() {
                src
            } else if named.exists() {
                named
            } else if self.substitute {
                return Err(Error::Config(format!(
                    "{display}:{}: -args_file {}: {} not found",
                    file.line,
                    file.value,
                    named.display()
                )));
            } else {
                self.warnings.push(format!(
                    "{display}:{}: -args_file {}: {} not found",
                    file.line,
                    file.value,
                    named.display()
                ));
                continue;
            };
            if !self.substitute {
                self.visit(&child, None)?;
                continue;
            }
            let key = std::fs::canonicalize(&child)
                .map_err(|e| Error::io(format!("cannot read {}", child.display()), e))?;
            let (child_target, fresh) = match self.rendered.get(&key) {
                Some(t) => (t.clone(), false),
                None => (self.include_target(&child), true),
            };
            rewrites.push((file.span, quote_arg(child_target.as_os_str().as_bytes())));
            self.visit(&child, fresh.then_some(child_target))?;
        }
        self.stack.pop();

        if let Some(slot) = slot {
            let mut contents = Vec::with_capacity(text.len());
            let mut at = 0;
            for (span, repl) in rewrites {
                contents.extend_from_slice(&text.as_bytes()[at..span.start]);
                contents.extend_from_slice(&repl);
                at = span.end;
            }
            contents.extend_from_slice(&text.as_bytes()[at..]);
            self.files[slot].contents = contents;
        }
        Ok(())
    }

    fn include_target(&self, source: &Path) -> PathBuf {
        let n = self.rendered.len();
        let mut base = source
            .file_name()
            .map(|b| b.as_bytes().to_vec())
            .unwrap_or_default();
        if base.ends_with(b".src") {
            base.truncate(base.len() - 4);
        }
        let mut name = self.entry_name.as_bytes().to_vec();
        name.extend_from_slice(format!(".{n}-").as_bytes());
        name.extend_from_slice(&base);
        self.render_dir.join(OsString::from_vec(name))
    }
}

/// `path` with `suffix` appended to its last component (`vm.args` → `vm.args.src`).
/// The file to read for `path`: `path.src` when it exists (always substituted, relx style),
/// else `path` itself; neither is `Error::Release`.
pub(crate) fn pick_source(path: &Path, substitute: bool) -> Result<(PathBuf, bool), Error> {
    let src = with_suffix(path, ".src");
    if src.is_file() {
        Ok((src, true))
    } else if path.exists() {
        Ok((path.to_path_buf(), substitute))
    } else {
        Err(Error::Release(format!(
            "{} not found (nor {})",
            path.display(),
            src.display()
        )))
    }
}

pub(crate) use crate::paths::with_suffix;

fn analyse(args: &[String], mut warnings: Vec<String>) -> VmArgsInfo {
    // (flag, values) for every `-flag`
    let mut occurrences: Vec<(&str, Vec<&str>)> = Vec::new();
    for a in args {
        if a.starts_with('-') {
            occurrences.push((a.as_str(), Vec::new()));
        } else if a.starts_with('+') {
            occurrences.push(("+", Vec::new()));
        } else if let Some((_, vals)) = occurrences.last_mut() {
            vals.push(a.as_str());
        }
    }
    let dist_name = |flag: &str, warnings: &mut Vec<String>| -> Option<String> {
        let all: Vec<&Vec<&str>> = occurrences
            .iter()
            .filter(|(f, _)| *f == flag)
            .map(|(_, v)| v)
            .collect();
        let first = all.first()?;
        if all.len() > 1 {
            warnings.push(format!(
                "{flag} given {} times in vm.args; the VM uses the first",
                all.len()
            ));
        }
        match first.as_slice() {
            [name] => Some(name.to_string()),
            _ => {
                warnings.push(format!(
                    "{flag} in vm.args needs exactly one value; the VM ignores it"
                ));
                None
            }
        }
    };
    let long = dist_name("-name", &mut warnings);
    let short = dist_name("-sname", &mut warnings);
    let name = match (short, long) {
        (Some(s), Some(l)) => {
            warnings.push(format!(
                "both -sname {s} and -name {l} in vm.args; the VM uses -sname"
            ));
            Some((NameKind::Short, s))
        }
        (Some(s), None) => Some((NameKind::Short, s)),
        (None, Some(l)) => Some((NameKind::Long, l)),
        (None, None) => None,
    };
    let ours: Vec<&[&str]> = occurrences
        .iter()
        .filter(|(f, v)| *f == "-setcookie" && v.len() <= 1)
        .map(|(_, v)| v.as_slice())
        .collect();
    let cookie = match ours.as_slice() {
        [[c]] => Some(c.to_string()),
        [] => None,
        [_] => {
            warnings.push("-setcookie without a value in vm.args; the VM ignores it".into());
            None
        }
        many => {
            warnings.push(format!(
                "-setcookie given {} times in vm.args; the VM ignores all of them and reads ~/.erlang.cookie",
                many.len()
            ));
            None
        }
    };
    VmArgsInfo {
        name,
        cookie,
        setcookie_count: ours.len(),
        flags: Vec::new(),
        warnings,
    }
}

/// Byte ranges of comments (`#` to the end of the line, excluding the newline) in a
/// `vm.args` template, skipping over `${…}` references and `\` escapes.
/// The byte ranges of `#` comments (never substituted).
pub(crate) fn comment_ranges(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut finder = CloseFinder::default();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'#' => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| p + i);
                out.push(i..end);
                i = end;
            }
            b'$' => match subst::reference_at(bytes, i, &mut finder) {
                Some(r) => i = r.end(i),
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    out
}

/// One argument of an args file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub value: String,
    /// Source bytes covered (quotes and escapes included).
    pub span: Range<usize>,
    /// 1-based line of the first byte.
    pub line: usize,
}

/// Splits args-file text the way erlexec does (see the module documentation).
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    // pass 1: (byte, source range)
    let mut stream: Vec<(u8, Range<usize>)> = Vec::with_capacity(bytes.len());
    let save = |stream: &mut Vec<(u8, Range<usize>)>, c: u8, r: Range<usize>| {
        if c != b' ' || stream.last().is_some_and(|(l, _)| *l != b' ') {
            stream.push((c, r));
        }
    };
    let mut quote: Option<usize> = None;
    let mut comment = false;
    for (pos, &c) in bytes.iter().enumerate() {
        if comment {
            if c == b'\n' {
                comment = false;
                save(&mut stream, b' ', pos..pos + 1);
            }
            continue;
        }
        if let Some(q) = quote.take() {
            save(&mut stream, c, q..pos + 1);
            continue;
        }
        match c {
            b'\\' => quote = Some(pos),
            b'#' => comment = true,
            b'\n' | b'\x0c' | b'\r' | b'\t' | b'\x0b' => save(&mut stream, b' ', pos..pos + 1),
            _ => save(&mut stream, c, pos..pos + 1),
        }
    }
    // pass 2
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut line_at = 0;
    let mut i = 0;
    let n = stream.len();
    loop {
        while i < n && stream[i].0 == b' ' {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = stream[i].1.start;
        let mut value = Vec::new();
        while i < n && stream[i].0 != b' ' {
            match stream[i].0 {
                q @ (b'"' | b'\'') => {
                    i += 1;
                    while i < n && stream[i].0 != q {
                        value.push(stream[i].0);
                        i += 1;
                    }
                    if i < n {
                        i += 1;
                    }
                }
                b'\\' => {
                    i += 1;
                    if i < n {
                        value.push(stream[i].0);
                        i += 1;
                    }
                }
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        let end = stream[i - 1].1.end;
        line += bytes[line_at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        line_at = start;
        tokens.push(Token {
            value: String::from_utf8_lossy(&value).into_owned(),
            span: start..end,
            line,
        });
    }
    tokens
}

/// Writes `arg` so that [`tokenize`] (and erlexec) read it back as exactly one argument
/// with these bytes.
pub(crate) fn quote_arg(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len() + 2);
    if arg.is_empty() {
        out.extend_from_slice(b"''");
        return out;
    }
    for &c in arg {
        let plain = c.is_ascii_alphanumeric() || b"/._-+,:=@%~^".contains(&c) || c >= 0x80;
        if plain {
            out.push(c);
            continue;
        }
        // pass 2 wants `\c`; pass 1 needs its own escape for the `\` and for `c`
        out.extend_from_slice(b"\\\\");
        match c {
            b'#' | b'\\' | b'\n' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => {
                out.push(b'\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::test_support::scratch;

    fn values(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.value).collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn tokenizer_follows_erlexec() {
        assert_eq!(
            values("-sname demo # comment\n+K true\n\t-a  'b c'  \"d  e\"\n"),
            ["-sname", "demo", "+K", "true", "-a", "b c", "d e"]
        );
        assert_eq!(values("a#b c\nd"), ["a", "d"]);
        assert_eq!(values("\"a#b\" c"), ["a"]);
        assert_eq!(values("a\\#b"), ["a#b"]);
        // pass 1 eats one backslash, pass 2 another
        assert_eq!(values("a\\\\ b"), ["a b"]);
        assert_eq!(values("a\\ b"), ["a", "b"]);
        assert_eq!(values("a\\\\\\\\b"), ["a\\b"]);
        assert_eq!(values("''  x"), ["", "x"]);
        assert_eq!(values("   \n# only comment\n"), Vec::<String>::new());
        let toks = tokenize("x\n\n  -args_file 'my file'\n");
        assert_eq!(toks[2].line, 3);
        assert_eq!(
            &"x\n\n  -args_file 'my file'\n"[toks[2].span.clone()],
            "'my file'"
        );
    }

    #[test]
    fn quote_arg_round_trips() {
        let samples: [&[u8]; 7] = [
            b"/tmp/plain/vm.args",
            b"/tmp/with space/a  b",
            b"/x/#hash'quote\"dq",
            b"back\\slash",
            b"tab\tnl\ncr\r",
            b"",
            "/t\u{e9}st/\u{1F600}".as_bytes(),
        ];
        for s in samples {
            let q = quote_arg(s);
            let text = format!("-args_file {} -x", String::from_utf8(q).unwrap());
            let toks = tokenize(&text);
            assert_eq!(toks.len(), 3, "{text:?}");
            assert_eq!(toks[1].value.as_bytes(), s, "{text:?}");
        }
        assert_eq!(quote_arg(b"/tmp/x/vm.args"), b"/tmp/x/vm.args");
    }

    #[test]
    fn no_substitution_uses_original() {
        let d = scratch("nosub");
        let p = d.join("vm.args");
        fs::write(&p, "-sname ${NAME}\n-setcookie abc\n").unwrap();
        let plan = plan_vm_args(&p, &d.join("out"), false, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.entry, p);
        assert!(plan.files.is_empty());
        assert_eq!(plan.info.name, Some((NameKind::Short, "${NAME}".into())));
        assert_eq!(plan.info.cookie.as_deref(), Some("abc"));
        assert_eq!(plan.info.setcookie_count, 1);
    }

    #[test]
    fn missing_entry_is_release_error() {
        let d = scratch("missing");
        let e =
            plan_vm_args(&d.join("vm.args"), &d, true, &no_env, UnsetPolicy::Error).unwrap_err();
        assert!(matches!(e, Error::Release(_)), "{e}");
    }

    #[test]
    fn src_is_always_rendered_and_wins() {
        let d = scratch("src");
        let p = d.join("vm.args");
        fs::write(
            with_suffix(&p, ".src"),
            "-name ${N:-x@h} # ${NOT_IN_COMMENT}\n",
        )
        .unwrap();
        let out = d.join("render");
        let plan = plan_vm_args(&p, &out, false, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.entry, out.join("vm.args"));
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].source, with_suffix(&p, ".src"));
        assert_eq!(plan.files[0].contents, b"-name x@h # ${NOT_IN_COMMENT}\n");
        assert_eq!(plan.info.name, Some((NameKind::Long, "x@h".into())));
        // a stale vm.args next to the .src is ignored
        fs::write(&p, "-name stale@h\n").unwrap();
        let plan = plan_vm_args(&p, &out, false, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.info.name, Some((NameKind::Long, "x@h".into())));
    }

    #[test]
    fn chain_is_rendered_and_references_rewritten() {
        let d = scratch("chain");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::create_dir_all(d.join("other")).unwrap();
        let p = d.join("vm.args");
        fs::write(
            &p,
            "-sname ${NODE}\n-args_file sub/extra.args\n-args_file other/extra.args\n+A ${A:-4}\n",
        )
        .unwrap();
        // relative to the including file's directory
        fs::write(
            d.join("sub/extra.args"),
            "-setcookie ${COOKIE}\n-args_file ../last.args\n",
        )
        .unwrap();
        fs::write(d.join("other/extra.args"), "-env OTHER 1\n").unwrap();
        fs::write(d.join("last.args"), "-proto_dist inet6_tcp\n").unwrap();
        let env = |k: &str| match k {
            "NODE" => Some("demo".to_string()),
            "COOKIE" => Some("sec&ret".to_string()),
            _ => None,
        };
        let out = d.join("render dir");
        let plan = plan_vm_args(&p, &out, true, &env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.entry, out.join("vm.args"));
        let targets: Vec<_> = plan.files.iter().map(|f| f.target.clone()).collect();
        assert_eq!(
            targets,
            [
                out.join("vm.args"),
                out.join("vm.args.1-extra.args"),
                out.join("vm.args.2-last.args"),
                out.join("vm.args.3-extra.args"),
            ]
        );
        let top = String::from_utf8(plan.files[0].contents.clone()).unwrap();
        let toks = tokenize(&top);
        assert_eq!(
            toks[3].value,
            out.join("vm.args.1-extra.args").to_str().unwrap()
        );
        assert_eq!(
            toks[5].value,
            out.join("vm.args.3-extra.args").to_str().unwrap()
        );
        assert!(top.starts_with("-sname demo\n"));
        assert!(top.ends_with("+A 4\n"));
        let extra = String::from_utf8(plan.files[1].contents.clone()).unwrap();
        assert_eq!(
            tokenize(&extra)[3].value,
            out.join("vm.args.2-last.args").to_str().unwrap()
        );
        assert!(extra.starts_with("-setcookie sec&ret\n"));
        assert_eq!(plan.info.name, Some((NameKind::Short, "demo".into())));
        assert_eq!(plan.info.cookie.as_deref(), Some("sec&ret"));
        assert_eq!(
            plan.info.flags,
            [
                "-sname",
                "demo",
                "-setcookie",
                "sec&ret",
                "-proto_dist",
                "inet6_tcp",
                "-env",
                "OTHER",
                "1",
                "+A",
                "4"
            ]
        );
    }

    #[test]
    fn diamond_renders_once_but_flags_twice() {
        let d = scratch("diamond");
        let p = d.join("vm.args");
        fs::write(&p, "-args_file a.args -args_file b.args").unwrap();
        fs::write(d.join("a.args"), "-args_file common.args").unwrap();
        fs::write(d.join("b.args"), "-args_file common.args").unwrap();
        fs::write(d.join("common.args"), "+K true").unwrap();
        let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.files.len(), 4);
        assert_eq!(plan.info.flags, ["+K", "true", "+K", "true"]);
    }

    #[test]
    fn cycles_are_errors() {
        let d = scratch("cycle");
        let p = d.join("vm.args");
        fs::write(&p, "-args_file b.args\n").unwrap();
        fs::write(d.join("b.args"), "-args_file vm.args\n").unwrap();
        for substitute in [true, false] {
            let e = plan_vm_args(&p, &d.join("r"), substitute, &no_env, UnsetPolicy::Error)
                .unwrap_err()
                .to_string();
            assert!(e.contains("cycle"), "{e}");
            let want = format!(
                "{} -> {} -> {}",
                p.display(),
                d.join("b.args").display(),
                p.display()
            );
            assert!(e.contains(&want), "{e}");
        }
        // self-inclusion
        fs::write(&p, "-args_file vm.args\n").unwrap();
        assert!(plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).is_err());
    }

    #[test]
    fn missing_include() {
        let d = scratch("missinc");
        let p = d.join("vm.args");
        fs::write(&p, "-sname a\n\n-args_file nope.args\n").unwrap();
        let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
        assert!(matches!(e, Error::Config(_)));
        let e = e.to_string();
        assert!(e.contains("vm.args:3:") && e.contains("nope.args"), "{e}");
        // not rendering: a warning only
        let plan = plan_vm_args(&p, &d.join("r"), false, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(plan.info.warnings.len(), 1);
        assert_eq!(plan.info.flags, ["-sname", "a"]);
        // -args_file at the end of a file
        fs::write(&p, "-args_file").unwrap();
        let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
        assert!(e.to_string().contains("without a file name"));
    }

    #[test]
    fn all_missing_variables_across_the_chain() {
        let d = scratch("allmissing");
        let p = d.join("vm.args");
        fs::write(
            &p,
            "-sname ${NAME}\n-args_file x.args\n-env ${E1} ${E2:-ok}\n",
        )
        .unwrap();
        fs::write(d.join("x.args"), "\n-setcookie ${COOKIE}\n").unwrap();
        let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
        assert_eq!(e.code(), 4);
        let e = e.to_string();
        assert!(e.contains(&format!("{}:1: NAME", p.display())), "{e}");
        assert!(e.contains(&format!("{}:3: E1", p.display())), "{e}");
        assert!(e.contains("x.args:2: COOKIE"), "{e}");
        assert!(!e.contains("E2"), "{e}");
        assert!(e.contains("export NAME=") && e.contains("BEAMRC_SUBST_UNSET=empty"));
        // relx behaviour on request
        let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Empty).unwrap();
        assert_eq!(plan.info.flags, ["-sname", "-setcookie", "-env", "ok"]);
    }

    #[test]
    fn extra_stops_processing_in_its_file() {
        let d = scratch("extra");
        let p = d.join("vm.args");
        fs::write(&p, "-args_file x.args\n-sname n\n").unwrap();
        fs::write(d.join("x.args"), "-a 1 -extra -args_file nope -sname z\n").unwrap();
        let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap();
        assert_eq!(
            plan.info.flags,
            [
                "-a",
                "1",
                "-sname",
                "n",
                "-extra",
                "-args_file",
                "nope",
                "-sname",
                "z"
            ]
        );
        assert_eq!(plan.info.name, Some((NameKind::Short, "n".into())));
    }

    #[test]
    fn name_and_cookie_rules() {
        let info = |text: &str| {
            let args = values(text);
            analyse(&args, Vec::new())
        };
        let i = info("-name a@h -sname b");
        assert_eq!(i.name, Some((NameKind::Short, "b".into())));
        assert_eq!(i.warnings.len(), 1);
        let i = info("-sname first -sname second");
        assert_eq!(i.name, Some((NameKind::Short, "first".into())));
        let i = info("-sname -name l@h");
        assert_eq!(i.name, Some((NameKind::Long, "l@h".into())));
        let i = info("-sname a b");
        assert_eq!(i.name, None);
        let i = info("-setcookie c1 -setcookie c2");
        assert_eq!((i.cookie, i.setcookie_count), (None, 2));
        let i = info("-setcookie othernode@h c2 -setcookie mine +K true");
        assert_eq!((i.cookie.as_deref(), i.setcookie_count), (Some("mine"), 1));
        let i = info("-setcookie");
        assert_eq!((i.cookie, i.setcookie_count), (None, 1));
        let i = info("-hidden");
        assert_eq!((i.name, i.cookie, i.setcookie_count), (None, None, 0));
    }
}
