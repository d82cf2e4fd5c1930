//! Text between the IO protocol and our stdio: chardata to UTF-8 output, input as the
//! reply's binary or character list, in the request's encoding (unicode or latin1).
use super::etf::Term;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    Unicode,
    Latin1,
}

pub(crate) fn encoding(term: &Term) -> Enc {
    if term.is_atom("latin1") {
        Enc::Latin1
    } else {
        Enc::Unicode
    }
}

/// Byte length of the first `n` characters of `bytes`, if it holds that many.
pub(crate) fn utf8_char_end(bytes: &[u8], n: usize) -> Option<usize> {
    let mut pos = 0;
    for _ in 0..n {
        let width = match bytes.get(pos)? {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let end = pos + width;
        if end > bytes.len() {
            return None;
        }
        // A malformed sequence counts its lead byte alone.
        pos = if std::str::from_utf8(&bytes[pos..end]).is_ok() {
            end
        } else {
            pos + 1
        };
    }
    Some(pos)
}

/// Input as the reply binary: UTF-8 for unicode requests; for latin1 ones the characters
/// are narrowed to bytes (stdin is unicode), failing on characters above 255.
pub(crate) fn input_reply(bytes: Vec<u8>, enc: Enc) -> Term {
    match enc {
        Enc::Unicode => Term::Binary(bytes),
        Enc::Latin1 => match to_latin1(&bytes) {
            Some(narrow) => Term::Binary(narrow),
            None => Term::Tuple(vec![
                Term::atom("error"),
                Term::Tuple(vec![
                    Term::atom("no_translation"),
                    Term::atom("unicode"),
                    Term::atom("latin1"),
                ]),
            ]),
        },
    }
}

/// Input as a list of characters, for `get_until` functions.
pub(crate) fn chars_term(bytes: &[u8], enc: Enc) -> Term {
    let codes: Vec<u32> = match enc {
        Enc::Unicode => decode_lossy(bytes),
        Enc::Latin1 => to_latin1(bytes)
            .unwrap_or_else(|| bytes.to_vec())
            .into_iter()
            .map(u32::from)
            .collect(),
    };
    Term::list(codes.into_iter().map(|c| Term::Int(i64::from(c))).collect())
}

/// Code points of UTF-8 text; invalid bytes stand for themselves.
fn decode_lossy(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend(s.chars().map(u32::from));
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                let valid = std::str::from_utf8(valid).unwrap_or_default();
                out.extend(valid.chars().map(u32::from));
                out.push(u32::from(bad[0]));
                rest = &bad[1..];
            }
        }
    }
    out
}

fn to_latin1(bytes: &[u8]) -> Option<Vec<u8>> {
    decode_lossy(bytes)
        .into_iter()
        .map(|c| u8::try_from(c).ok())
        .collect()
}

/// Flattens chardata (nested lists of characters and binaries) to UTF-8 output bytes.
/// Binaries are UTF-8 for unicode requests (invalid bytes pass through, as with the script's
/// client) and latin1 for latin1 requests. None if it is not chardata.
pub(crate) fn chardata_to_utf8(data: &Term, latin1: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    push_chardata(data, latin1, &mut out).then_some(out)
}

fn push_chardata(data: &Term, latin1: bool, out: &mut Vec<u8>) -> bool {
    match data {
        Term::Binary(b) if latin1 => b.iter().for_each(|c| push_char(u32::from(*c), out)),
        Term::Binary(b) => out.extend_from_slice(b),
        Term::Charlist(b) => b.iter().for_each(|c| push_char(u32::from(*c), out)),
        Term::Nil => {}
        Term::Int(c) => {
            let limit = if latin1 { 0xFF } else { 0x10FFFF };
            match u32::try_from(*c) {
                Ok(c) if c <= limit && char::from_u32(c).is_some() => push_char(c, out),
                _ => return false,
            }
        }
        Term::List(items, tail) => {
            let tail_ok = matches!(**tail, Term::Nil | Term::Binary(_));
            return tail_ok
                && items.iter().all(|t| push_chardata(t, latin1, out))
                && push_chardata(tail, latin1, out);
        }
        _ => return false,
    }
    true
}

fn push_char(c: u32, out: &mut Vec<u8>) {
    if let Some(ch) = char::from_u32(c) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chardata_flattening() {
        let data = Term::List(
            vec![
                Term::binary("héllo ".as_bytes()),
                Term::Int(0x2713),
                Term::Charlist(vec![b'!', 0xe9]),
                Term::list(vec![Term::Int(10)]),
            ],
            Box::new(Term::binary(b"end".to_vec())),
        );
        assert_eq!(
            chardata_to_utf8(&data, false).unwrap(),
            "héllo ✓!é\nend".as_bytes()
        );
        // latin1 binaries are widened; characters above 255 are not latin1.
        assert_eq!(
            chardata_to_utf8(&Term::binary(vec![0xe9]), true).unwrap(),
            "é".as_bytes()
        );
        assert!(chardata_to_utf8(&Term::Int(0x2713), true).is_none());
        assert!(chardata_to_utf8(&Term::atom("x"), false).is_none());
        // Invalid UTF-8 in unicode binaries passes through, as the script's client does.
        assert_eq!(
            chardata_to_utf8(&Term::binary(vec![0xff]), false).unwrap(),
            vec![0xff]
        );
    }

    #[test]
    fn char_counting() {
        let s = "üx✓".as_bytes();
        assert_eq!(utf8_char_end(s, 0), Some(0));
        assert_eq!(utf8_char_end(s, 1), Some(2));
        assert_eq!(utf8_char_end(s, 3), Some(s.len()));
        assert_eq!(utf8_char_end(s, 4), None);
        assert_eq!(utf8_char_end(&s[..1], 1), None); // incomplete character: need more input
        assert_eq!(utf8_char_end(&[0xff, b'a'], 2), Some(2));
    }

    #[test]
    fn latin1_input() {
        assert_eq!(
            input_reply("é\n".as_bytes().to_vec(), Enc::Latin1),
            Term::Binary(vec![0xe9, b'\n'])
        );
        assert!(matches!(
            input_reply("✓".as_bytes().to_vec(), Enc::Latin1),
            Term::Tuple(_)
        ));
        assert_eq!(
            chars_term("ü".as_bytes(), Enc::Unicode),
            Term::list(vec![Term::Int(0xfc)])
        );
    }
}
