//! A lexer for Erlang terms (`sys.config` and the files it includes) that is just good
//! enough to find comments, strings, quoted atoms and list structure — and, in templates,
//! where each `${…}` reference stands ([`Place`]).
//!
//! Comments are `%` to the end of the line, outside strings, quoted atoms and `$c`
//! character literals.
use std::ops::Range;

use super::erl_strings::decode_string;
use super::subst::{self, CloseFinder};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_strings_are_includes() {
        assert_eq!(
            top_level_strings("[\"a\" \"b\", <<\"bin\">>, \"c\"]."),
            vec![(21..24, "c".to_string())]
        );
        assert!(top_level_strings("{not, \"a list\"}.").is_empty());
        let l = lex("[{a, '${V}x'}, \"${V}\", ${V}]. % ${V}\n", true);
        assert_eq!(l.comments.len(), 1);
        assert_eq!(l.atoms, [1]);
        assert!(matches!(
            l.refs[0].1,
            Place::Quoted {
                quote: b'\'',
                atom: Some(0),
                ..
            }
        ));
        assert!(matches!(
            l.refs[1].1,
            Place::Quoted {
                quote: b'"',
                atom: None,
                ..
            }
        ));
        assert_eq!(l.refs[2].1, Place::Source);
    }
}
