//! The command string handed to `run_erl -daemon`, which runs it with `sh -c`.
//!
//! The scripts escape every character outside a safe set with a backslash (1.14 also escapes
//! `-`) and join the parts with a leading space. We produce the same string, and additionally
//! get right what the scripts get wrong: a backslash (1.14 leaves it bare, and `echo`
//! interprets it) and a newline (backslash-newline is a line continuation in sh, so it would
//! vanish) — both are quoted so `sh -c` gives back the exact argument.
use crate::release::ElixirGen;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Whether `sed` sees characters (UTF-8 locale) or bytes (C/POSIX locale) — it decides
/// whether a multi-byte character gets one backslash or one per byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Utf8,
    Bytes,
}

impl Locale {
    /// From `LC_ALL`, `LC_CTYPE`, `LANG`, first non-empty wins, as for any C program.
    pub fn from_env(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> Locale {
        let value = [lc_all, lc_ctype, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())
            .unwrap_or("");
        let v = value.to_ascii_lowercase();
        if v.contains("utf-8") || v.contains("utf8") {
            Locale::Utf8
        } else {
            Locale::Bytes
        }
    }
}

fn is_safe(b: u8, generation: ElixirGen) -> bool {
    b.is_ascii_alphanumeric()
        || b == b'_'
        || b == b'/'
        || (b == b'-' && generation > ElixirGen::V1_14)
}

/// Escapes one argument.
pub fn escape_part(part: &[u8], generation: ElixirGen, locale: Locale) -> Vec<u8> {
    let mut out = Vec::with_capacity(part.len() * 2);
    let mut i = 0;
    while i < part.len() {
        let b = part[i];
        if b == b'\n' {
            out.extend_from_slice(b"'\n'");
            i += 1;
            continue;
        }
        if is_safe(b, generation) {
            out.push(b);
            i += 1;
            continue;
        }
        let len = match locale {
            Locale::Utf8 => utf8_len(&part[i..]),
            Locale::Bytes => 1,
        };
        out.push(b'\\');
        out.extend_from_slice(&part[i..i + len]);
        i += len;
    }
    out
}

/// Length of the UTF-8 character starting the slice (1 for invalid bytes, like sed).
fn utf8_len(s: &[u8]) -> usize {
    let want = match s[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return 1,
    };
    if s.len() >= want && std::str::from_utf8(&s[..want]).is_ok() {
        want
    } else {
        1
    }
}

/// `" part1 part2 …"`: every part escaped, each preceded by one space.
pub fn command_string(parts: &[OsString], generation: ElixirGen, locale: Locale) -> OsString {
    let mut out = Vec::new();
    for p in parts {
        out.push(b' ');
        out.extend(escape_part(p.as_bytes(), generation, locale));
    }
    std::ffi::OsStr::from_bytes(&out).to_os_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, g: ElixirGen) -> String {
        String::from_utf8(escape_part(s.as_bytes(), g, Locale::Utf8)).unwrap()
    }

    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(
            esc(
                "/R/releases/0.1.0/../../erts-13.1.5/bin/erl",
                ElixirGen::V1_17
            ),
            r"/R/releases/0\.1\.0/\.\./\.\./erts-13\.1\.5/bin/erl"
        );
        assert_eq!(
            esc(
                "/R/releases/0.1.0/../../erts-13.1.5/bin/erl",
                ElixirGen::V1_14
            ),
            r"/R/releases/0\.1\.0/\.\./\.\./erts\-13\.1\.5/bin/erl"
        );
        assert_eq!(esc("+iex", ElixirGen::V1_17), r"\+iex");
        assert_eq!(esc("--no-halt", ElixirGen::V1_14), r"\-\-no\-halt");
        assert_eq!(esc("ABC====", ElixirGen::V1_17), r"ABC\=\=\=\=");
        assert_eq!(
            esc(":elixir.start_iex()", ElixirGen::V1_15),
            r"\:elixir\.start_iex\(\)"
        );
    }

    #[test]
    fn awkward_characters_survive_sh() {
        for s in [
            "a b",
            "it's",
            "say \"hi\"",
            "é ü ✓",
            "back\\slash",
            "new\nline",
            "$HOME",
            "`x`",
            "*",
        ] {
            let escaped = command_string(&[s.into()], ElixirGen::V1_17, Locale::Utf8);
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", escaped.to_str().unwrap()))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "{s:?}");
        }
    }

    #[test]
    fn bytes_locale_escapes_each_byte() {
        let e = escape_part("é".as_bytes(), ElixirGen::V1_17, Locale::Bytes);
        assert_eq!(e, vec![b'\\', 0xC3, b'\\', 0xA9]);
        assert_eq!(
            Locale::from_env(None, Some(""), Some("C.UTF-8")),
            Locale::Utf8
        );
        assert_eq!(
            Locale::from_env(Some("C"), None, Some("en_US.UTF-8")),
            Locale::Bytes
        );
    }
}
