//! Terms from the node printed as `io:format("~p")` prints short terms (one line), for
//! relx's messages (`Unpack failed: ~p`).
use crate::dist::Term;

pub(crate) fn term(t: &Term) -> String {
    let mut out = String::new();
    write(&mut out, t);
    out
}

/// A charlist, a list of character codes, or a binary, as text.
pub(crate) fn text(t: &Term) -> Option<String> {
    match t {
        Term::Nil => Some(String::new()),
        Term::Charlist(b) => Some(b.iter().map(|&c| char::from(c)).collect()),
        Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_string),
        Term::List(items, tail) if matches!(**tail, Term::Nil) => items
            .iter()
            .map(|i| i.as_int().and_then(|c| char::from_u32(c as u32)))
            .collect(),
        _ => None,
    }
}

fn printable(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\t'))
}

fn quote(out: &mut String, s: &str, q: char) {
    out.push(q);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

fn atom(out: &mut String, a: &str) {
    let bare = a.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    if bare {
        out.push_str(a);
    } else {
        quote(out, a, '\'');
    }
}

fn seq(out: &mut String, items: &[Term]) {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, t);
    }
}

fn write(out: &mut String, t: &Term) {
    match t {
        Term::Atom(a) => atom(out, a),
        Term::Int(n) => out.push_str(&n.to_string()),
        Term::Float(f) => out.push_str(&format!("{f:?}")),
        Term::Tuple(items) => {
            out.push('{');
            seq(out, items);
            out.push('}');
        }
        Term::Nil => out.push_str("[]"),
        Term::Binary(b) => match std::str::from_utf8(b) {
            Ok(s) if printable(s) => {
                out.push_str("<<");
                quote(out, s, '"');
                out.push_str(">>");
            }
            _ => {
                out.push_str("<<");
                out.push_str(&b.iter().map(u8::to_string).collect::<Vec<_>>().join(","));
                out.push_str(">>");
            }
        },
        other => match text(other) {
            Some(s) if !s.is_empty() && printable(&s) => quote(out, &s, '"'),
            _ => match other {
                Term::List(items, tail) => {
                    out.push('[');
                    seq(out, items);
                    if !matches!(**tail, Term::Nil) {
                        out.push('|');
                        write(out, tail);
                    }
                    out.push(']');
                }
                Term::Charlist(b) => {
                    out.push('[');
                    out.push_str(&b.iter().map(u8::to_string).collect::<Vec<_>>().join(","));
                    out.push(']');
                }
                Term::Pid(_) => out.push_str("<pid>"),
                Term::Ref(_) => out.push_str("#Ref<>"),
                Term::Map(pairs) => {
                    out.push_str("#{");
                    for (i, (k, v)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write(out, k);
                        out.push_str(" => ");
                        write(out, v);
                    }
                    out.push('}');
                }
                _ => out.push_str("<term>"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_tilde_p() {
        let t = Term::Tuple(vec![
            Term::atom("enoent"),
            Term::charlist("/r/releases/0.2.0/demo.rel"),
        ]);
        assert_eq!(term(&t), "{enoent,\"/r/releases/0.2.0/demo.rel\"}");
        let t = Term::Tuple(vec![
            Term::atom("no_matching_relup"),
            Term::charlist("0.3.0"),
            Term::atom("Elixir.X"),
            Term::Int(3),
            Term::Nil,
        ]);
        assert_eq!(term(&t), "{no_matching_relup,\"0.3.0\",'Elixir.X',3,[]}");
        assert_eq!(text(&Term::charlist("0.1.0")).unwrap(), "0.1.0");
    }
}
