//! The scanner for Erlang terms: atoms, strings, numbers, characters, punctuation and
//! the final dot, each with its line (comments skipped).
use super::terms::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Atom(String),
    Str(String),
    Int(i128),
    Float(f64),
    Var(String),
    Punct(&'static str),
    Dot,
}

const PUNCT: [&str; 16] = [
    "<<", ">>", "=>", ":=", "#{", "{", "}", "[", "]", "(", ")", ",", "|", "-", ":", "/",
];

pub(crate) fn describe(t: &Tok) -> String {
    match t {
        Tok::Atom(a) => format!("'{a}'"),
        Tok::Str(s) => format!("the string \"{}\"", s.chars().take(30).collect::<String>()),
        Tok::Int(i) => i.to_string(),
        Tok::Float(f) => f.to_string(),
        Tok::Var(v) => format!("{v} (a variable: quote it, '{v}', to make it an atom)"),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Dot => "'.'".into(),
    }
}

pub(crate) fn err(line: usize, what: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line,
        what: what.into(),
    }
}

pub(crate) fn scan(text: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    while i < b.len() {
        let c = b[i];
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '%' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        let kind = if c == '"' { "string" } else { "quoted atom" };
                        return Err(err(
                            start_line,
                            format!("unterminated {kind} that starts on line {start_line}"),
                        ));
                    }
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        i += 1;
                        let e = b.get(i).copied().unwrap_or('\\');
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            's' => ' ',
                            other => other,
                        });
                    }
                    Some(&ch) => {
                        if ch == '\n' {
                            line += 1;
                        }
                        s.push(ch);
                    }
                }
                i += 1;
            }
            i += 1;
            out.push((
                if c == '"' { Tok::Str(s) } else { Tok::Atom(s) },
                start_line,
            ));
        } else if c == '$' {
            // $c, $\n: a character code
            let ch = match b.get(i + 1) {
                Some('\\') => {
                    i += 1;
                    b.get(i + 1).copied()
                }
                other => other.copied(),
            };
            let ch = ch.ok_or_else(|| err(line, "'$' at the end of the file"))?;
            i += 2;
            out.push((Tok::Int(ch as i128), line));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || "_#".contains(b[i])) {
                i += 1;
            }
            let mut is_float = false;
            if b.get(i) == Some(&'.') && b.get(i + 1).is_some_and(char::is_ascii_digit) {
                is_float = true;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || (matches!(b[i], '-' | '+') && matches!(b[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
            }
            let raw: String = b[start..i].iter().filter(|&&c| c != '_').collect();
            out.push((
                number(&raw, is_float).ok_or_else(|| err(line, format!("bad number {raw}")))?,
                line,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '@') {
                i += 1;
            }
            let word: String = b[start..i].iter().collect();
            out.push((
                if c.is_lowercase() {
                    Tok::Atom(word)
                } else {
                    Tok::Var(word)
                },
                line,
            ));
        } else if c == '.' && b.get(i + 1).is_none_or(|n| n.is_whitespace() || *n == '%') {
            out.push((Tok::Dot, line));
            i += 1;
        } else {
            let rest: String = b[i..(i + 2).min(b.len())].iter().collect();
            let p = PUNCT
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| err(line, format!("unexpected character '{c}'")))?;
            i += p.chars().count();
            out.push((Tok::Punct(p), line));
        }
    }
    Ok(out)
}

fn number(raw: &str, is_float: bool) -> Option<Tok> {
    if is_float {
        return raw.parse().ok().map(Tok::Float);
    }
    match raw.split_once('#') {
        Some((base, digits)) => {
            let base: u32 = base.parse().ok().filter(|b| (2..=36).contains(b))?;
            i128::from_str_radix(digits, base).ok().map(Tok::Int)
        }
        None => raw.parse().ok().map(Tok::Int),
    }
}
