//! Erlang string and quoted-atom bodies: writing a value so that the term holds exactly
//! it (`\` and the quote get a `\`, anything outside printable ASCII is `\x{H…}`, right
//! whatever the file's `coding:`), and decoding them as `erl_scan` does.

/// The VM's limit on the characters of an atom.
pub(crate) const MAX_ATOM_CHARS: usize = 255;

/// Appends `value` as the inside of an Erlang `quote`-quoted string or atom.
pub(crate) fn push_quoted_body(out: &mut String, value: &str, quote: char) {
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
}
