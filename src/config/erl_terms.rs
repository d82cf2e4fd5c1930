//! A lexer for Erlang terms (`sys.config` and the files it includes) that is just good
//! enough to find comments, strings, quoted atoms and list structure, and the
//! [`Syntax`] that writes substituted values into such a file.
//!
//! Where a value lands decides how it is written:
//! * inside a string (`"…"`, also `<<"…">>`) or a quoted atom (`'…'`) it is escaped, so
//!   the term holds exactly the value: `\` and the quote get a `\`, anything outside
//!   printable ASCII is written `\x{H…}` (right whatever the file's `coding:`);
//! * right after a `\` inside a string or atom it is refused (that escape would change it);
//! * anywhere else it is Erlang source, by design (as relx): `{port, ${PORT}}`.
//!
//! Comments (`%` to the end of the line, outside strings, quoted atoms and `$c`
//! character literals) are copied verbatim.
use std::ops::Range;

use super::subst::{self, CloseFinder, Syntax};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Open,
    Close,
    Comma,
    Str(Range<usize>),
    Other,
}

/// Where a `${…}` reference of a template stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Source,
    /// Inside `"…"` (or `'…'` for `quote == b'\''`); `escaped`: right after a `\`;
    /// `atom`: the index of the quoted atom in [`Lexed::atoms`].
    Quoted {
        quote: u8,
        escaped: bool,
        atom: Option<usize>,
    },
}

pub(crate) struct Lexed {
    pub toks: Vec<Tok>,
    pub comments: Vec<Range<usize>>,
    /// With `refs`: the offset of every reference outside comments and its place.
    pub refs: Vec<(usize, Place)>,
    /// With `refs`: for each quoted atom holding references, its characters without them.
    pub atoms: Vec<usize>,
}

/// Lexes `text`. With `refs`, `${…}` references and `$${` are skipped as opaque units
/// (for templates before substitution) and recorded in [`Lexed::refs`].
pub(crate) fn lex(text: &str, refs: bool) -> Lexed {
    let b = text.as_bytes();
    let mut finder = CloseFinder::default();
    let mut out = Lexed {
        toks: Vec::new(),
        comments: Vec::new(),
        refs: Vec::new(),
        atoms: Vec::new(),
    };
    let mut i = 0;
    let mut skip_ref = |i: usize, place: Place, out: &mut Lexed| -> Option<usize> {
        if !refs || b.get(i) != Some(&b'$') {
            return None;
        }
        let r = subst::reference_at(b, i, &mut finder)?;
        if matches!(r, subst::Ref::Var { .. }) {
            out.refs.push((i, place));
        }
        Some(r.end(i))
    };
    while i < b.len() {
        if let Some(end) = skip_ref(i, Place::Source, &mut out) {
            out.toks.push(Tok::Other);
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
                out.comments.push(i..end);
                i = end;
            }
            quote @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                let place = |escaped| Place::Quoted {
                    quote,
                    escaped,
                    atom: None,
                };
                let first_ref = out.refs.len();
                let mut literal = String::new();
                while i < b.len() && b[i] != quote {
                    if let Some(end) = skip_ref(i, place(false), &mut out) {
                        i = end;
                    } else if b[i] == b'\\' {
                        i += 1;
                        match skip_ref(i, place(true), &mut out) {
                            Some(end) => i = end,
                            None => {
                                // the escaped character, whole
                                let len = text[i..].chars().next().map_or(0, char::len_utf8);
                                literal.push_str(&text[i - 1..i + len]);
                                i += len.max(1);
                            }
                        }
                    } else {
                        let len = text[i..].chars().next().map_or(1, char::len_utf8);
                        literal.push_str(&text[i..i + len]);
                        i += len;
                    }
                }
                if quote == b'\'' && out.refs.len() > first_ref {
                    let chars = decode_string(&literal)
                        .map_or(literal.chars().count(), |s| s.chars().count());
                    let id = out.atoms.len();
                    out.atoms.push(chars);
                    for (_, p) in &mut out.refs[first_ref..] {
                        if let Place::Quoted { atom, .. } = p {
                            *atom = Some(id);
                        }
                    }
                }
                let closed = i < b.len();
                i = (i + 1).min(b.len());
                out.toks.push(if quote == b'"' && closed {
                    Tok::Str(start..i)
                } else {
                    Tok::Other
                });
            }
            b'$' => {
                // character literal: `$c` or `$\c`
                i += if b.get(i + 1) == Some(&b'\\') { 3 } else { 2 };
                i = i.min(b.len());
                out.toks.push(Tok::Other);
            }
            b'[' | b'{' | b'(' => {
                out.toks.push(Tok::Open);
                i += 1;
            }
            b']' | b'}' | b')' => {
                out.toks.push(Tok::Close);
                i += 1;
            }
            b'<' if b.get(i + 1) == Some(&b'<') => {
                out.toks.push(Tok::Open);
                i += 2;
            }
            b'>' if b.get(i + 1) == Some(&b'>') => {
                out.toks.push(Tok::Close);
                i += 2;
            }
            b',' => {
                out.toks.push(Tok::Comma);
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
                out.toks.push(Tok::Other);
            }
        }
    }
    out
}

fn is_pair(b: &[u8], i: usize) -> bool {
    b.get(i + 1) == Some(&b[i])
}

/// [`Syntax`] for Erlang terms; built from the template's [`lex`].
pub(crate) struct ErlangTerms {
    comments: Vec<Range<usize>>,
    refs: Vec<(usize, Place)>,
    /// Characters of each quoted atom so far (the VM refuses atoms over 255).
    atoms: Vec<usize>,
    next_comment: usize,
    next_ref: usize,
}

impl ErlangTerms {
    pub(crate) fn new(template: &str) -> ErlangTerms {
        let lexed = lex(template, true);
        ErlangTerms {
            comments: lexed.comments,
            refs: lexed.refs,
            atoms: lexed.atoms,
            next_comment: 0,
            next_ref: 0,
        }
    }

    fn place(&mut self, at: usize) -> Place {
        while self.refs.get(self.next_ref).is_some_and(|(p, _)| *p < at) {
            self.next_ref += 1;
        }
        match self.refs.get(self.next_ref) {
            Some((p, place)) if *p == at => *place,
            _ => Place::Source,
        }
    }
}

impl Syntax for ErlangTerms {
    fn copied(&mut self, _: &[u8]) {}

    fn in_comment(&mut self, at: usize) -> bool {
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.end <= at)
        {
            self.next_comment += 1;
        }
        self.comments
            .get(self.next_comment)
            .is_some_and(|c| c.start <= at)
    }

    fn write(&mut self, at: usize, value: &str, out: &mut String) -> Result<(), String> {
        match self.place(at) {
            Place::Source => out.push_str(value),
            Place::Quoted { escaped: true, .. } => {
                return Err("follows a `\\` inside a quoted string or atom, \
                            which would change it; remove the `\\`"
                    .into());
            }
            Place::Quoted { quote, atom, .. } => {
                if let Some(chars) = atom.and_then(|a| self.atoms.get_mut(a)) {
                    *chars += value.chars().count();
                    if *chars > MAX_ATOM_CHARS {
                        return Err(format!(
                            "makes a quoted atom {chars} characters long; the VM's limit is \
                             {MAX_ATOM_CHARS} (use a string: \"${{…}}\")"
                        ));
                    }
                }
                push_quoted_body(out, value, quote as char)
            }
        }
        Ok(())
    }
}

/// The VM's limit on the characters of an atom.
const MAX_ATOM_CHARS: usize = 255;

/// Appends `value` as the inside of an Erlang `quote`-quoted string or atom.
fn push_quoted_body(out: &mut String, value: &str, quote: char) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\x{{{:X}}}", c as u32)),
        }
    }
}

/// `s` as an Erlang string literal.
pub(crate) fn erlang_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    push_quoted_body(&mut out, s, '"');
    out.push('"');
    out
}

/// Strings that are whole elements of the top-level list, with their decoded values.
pub(crate) fn top_level_strings(text: &str) -> Vec<(Range<usize>, String)> {
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

/// Decodes the body of an Erlang string as `erl_scan` does; `None` when it is malformed.
pub(crate) fn decode_string(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let code = match e {
            'b' => 8,
            'd' => 127,
            'e' => 27,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            's' => 32,
            't' => 9,
            'v' => 11,
            '0'..='7' => {
                let mut n = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                n
            }
            'x' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut hex = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        h if h.is_ascii_hexdigit() && hex.len() < 8 => hex.push(h),
                        _ => return None,
                    }
                }
                u32::from_str_radix(&hex, 16).ok()?
            }
            'x' => {
                let hi = chars.next()?.to_digit(16)?;
                let lo = chars.next()?.to_digit(16)?;
                hi * 16 + lo
            }
            '^' => (chars.next()? as u32) & 31,
            c => c as u32,
        };
        out.push(char::from_u32(code)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::subst::{UnsetPolicy, render};

    #[test]
    fn string_helpers() {
        assert_eq!(erlang_string("/a\"b\\c"), "\"/a\\\"b\\\\c\"");
        assert_eq!(erlang_string("\u{e9}\n"), "\"\\x{E9}\\x{A}\"");
        assert_eq!(decode_string("/a\\\"b\\\\c").as_deref(), Some("/a\"b\\c"));
        assert_eq!(
            decode_string("\\x41\\x{1F600}\\101\\^a\\s\\q").as_deref(),
            Some("A\u{1F600}A\u{1} q")
        );
        assert_eq!(decode_string("\\x{zz}"), None);
        assert_eq!(decode_string("trailing\\"), None);
        assert_eq!(
            top_level_strings("[\"a\" \"b\", <<\"bin\">>, \"c\"]."),
            vec![(21..24, "c".to_string())]
        );
        assert!(top_level_strings("{not, \"a list\"}.").is_empty());
        for s in [
            "plain",
            "q\"uo'te\\",
            "\u{e9}\u{20ac}\u{1F600}",
            "\t\r\n\0\x7f",
        ] {
            let lit = erlang_string(s);
            assert_eq!(decode_string(&lit[1..lit.len() - 1]).as_deref(), Some(s));
        }
    }

    fn render_terms(
        template: &str,
        value: &str,
    ) -> Result<String, Vec<crate::config::subst::Problem>> {
        let v = value.to_string();
        let r = render(
            template,
            &mut ErlangTerms::new(template),
            &|k| (k == "V").then(|| v.clone()),
            UnsetPolicy::Error,
        );
        if r.problems.is_empty() {
            Ok(r.text)
        } else {
            Err(r.problems)
        }
    }

    #[test]
    fn values_by_place() {
        let t = "[{a, [{s, \"<${V}>\"}, {q, '${V}'}, {b, <<\"${V}\">>}, {n, ${V}}]}]. % ${V}\n";
        assert_eq!(
            render_terms(t, "x\"y'z\\\u{e9}").unwrap(),
            "[{a, [{s, \"<x\\\"y'z\\\\\\x{E9}>\"}, {q, 'x\"y\\'z\\\\\\x{E9}'}, \
             {b, <<\"x\\\"y'z\\\\\\x{E9}\">>}, {n, x\"y'z\\\u{e9}}]}]. % ${V}\n"
        );
        assert_eq!(render_terms("{n, ${V}}", "42").unwrap(), "{n, 42}");
        // the VM refuses atoms over 255 characters: say so before it crashes at boot
        let t = format!("{{q, '{}${{V}}'}}", "a".repeat(200));
        assert!(render_terms(&t, &"b".repeat(55)).is_ok());
        let e = render_terms(&t, &"\u{e9}".repeat(56)).unwrap_err();
        assert!(
            matches!(&e[0].why, crate::config::subst::Why::Refused(r) if r.contains("256")),
            "{e:?}"
        );
        assert!(render_terms(&format!("{{s, \"{}${{V}}\"}}", "a".repeat(300)), "x").is_ok());
        let e = render_terms("{s, \"\\${V}\"}", "x").unwrap_err();
        assert!(matches!(&e[0].why, crate::config::subst::Why::Refused(r) if r.contains('\\')));
    }
}
