//! The bytes the VM hashes for a cookie.
//!
//! The VM's cookie is an atom: `auth` makes it with `list_to_atom/1` from the `-setcookie`
//! argument, and `dist_util:gen_digest/2` hashes `erlang:md5([atom_to_list(Cookie) | …])`,
//! an iolist of the atom's *characters*, so each character must be a byte (≤ U+00FF):
//! the digest is over the cookie's Latin-1 bytes, not over our UTF-8 bytes.
//!
//! The argument reaches `init` as bytes and is decoded with the VM's native name encoding
//! (`init:b2s/1`): `utf8` in a UTF-8 locale (the usual case), `latin1` otherwise (`LANG=C`,
//! `+fnl`). So (measured on OTP 25):
//! * UTF-8 locale: `ünï` becomes the atom of the three characters ü n ï; its digest is over
//!   `FC 6E EF`. A character beyond Latin-1 (`€`) makes an atom fine, but every handshake
//!   then crashes in `erlang:md5` (`badarg`): the VM starts and nobody can connect to it,
//!   not even another VM with the same cookie (`net_adm:ping` → `pang`). Bytes that are not
//!   UTF-8 make `auth` crash at boot (the VM does not start).
//! * latin1 locale: every byte is a character, so the digest is over the raw bytes.
//! * More than 255 characters: `list_to_atom` fails (`system_limit`) and the VM does not boot.
use std::fmt;

/// Longest atom, hence longest cookie, the VM accepts (characters).
pub const MAX_COOKIE_CHARS: usize = 255;

/// Why the VM could not use a cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieError {
    /// The character at this 1-based position is beyond U+00FF (the cookie itself is
    /// never shown: it is a secret).
    BeyondLatin1 { position: usize },
    /// Longer than an atom may be.
    TooLong { chars: usize },
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::BeyondLatin1 { position } => write!(
                f,
                "the cookie's character {position} is beyond Latin-1 (U+00FF): the VM would start, but no node could connect to it"
            ),
            CookieError::TooLong { chars } => write!(
                f,
                "the cookie has {chars} characters; the VM accepts at most {MAX_COOKIE_CHARS}"
            ),
        }
    }
}

impl std::error::Error for CookieError {}

/// The bytes the VM hashes for `cookie` when it decodes its arguments as UTF-8 (a UTF-8
/// locale): the Latin-1 bytes of its characters. `Err` for a cookie the VM cannot use, so
/// the launcher can refuse it before anything starts.
pub fn cookie_bytes(cookie: &str) -> Result<Vec<u8>, CookieError> {
    let mut out = Vec::with_capacity(cookie.len());
    for (i, c) in cookie.chars().enumerate() {
        if i >= MAX_COOKIE_CHARS {
            return Err(CookieError::TooLong {
                chars: cookie.chars().count(),
            });
        }
        out.push(
            u8::try_from(u32::from(c))
                .map_err(|_| CookieError::BeyondLatin1 { position: i + 1 })?,
        );
    }
    Ok(out)
}

/// Whether a VM started with this environment decodes its arguments as UTF-8: glibc's
/// `setlocale(LC_CTYPE, "")` takes the first non-empty of LC_ALL, LC_CTYPE, LANG, and erts
/// uses utf8 when that locale's codeset is UTF-8. (A locale that is named but not installed
/// falls back to C; the client copes by trying the other reading, see `candidates`.)
pub fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    let name = [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .unwrap_or("C");
    let codeset = name
        .split_once('.')
        .map_or("", |(_, rest)| rest.split('@').next().unwrap_or(""));
    codeset
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .eq_ignore_ascii_case("utf8")
}

/// The byte strings the node may be hashing, most likely first: both readings when they
/// differ (a non-ASCII cookie), ordered by the locale a VM started like us would have.
pub(crate) fn candidates(cookie: &str, utf8_locale: bool) -> Vec<Vec<u8>> {
    let raw = cookie.as_bytes().to_vec();
    match cookie_bytes(cookie) {
        Ok(latin1) if latin1 == raw => vec![raw],
        Ok(latin1) if utf8_locale => vec![latin1, raw],
        Ok(latin1) => vec![raw, latin1],
        // Only a VM in a latin1 locale can use it, and it hashes the raw bytes.
        Err(_) => vec![raw],
    }
}

/// `locale_is_utf8` for this process's environment (a VM started by us inherits it).
pub(crate) fn our_locale_is_utf8() -> bool {
    let var = |k: &str| std::env::var(k).ok();
    locale_is_utf8(
        var("LC_ALL").as_deref(),
        var("LC_CTYPE").as_deref(),
        var("LANG").as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_cookies_hash_their_latin1_bytes() {
        assert_eq!(cookie_bytes("abc").unwrap(), b"abc");
        // The atom's characters, as `atom_to_list` returns them on OTP 25: [252,110,239].
        assert_eq!(cookie_bytes("ünï").unwrap(), vec![252, 110, 239]);
        assert_eq!(cookie_bytes("").unwrap(), b"");
    }

    #[test]
    fn cookies_the_vm_cannot_use() {
        assert_eq!(
            cookie_bytes("ab€").unwrap_err(),
            CookieError::BeyondLatin1 { position: 3 }
        );
        let long = "x".repeat(256);
        assert_eq!(
            cookie_bytes(&long).unwrap_err(),
            CookieError::TooLong { chars: 256 }
        );
        assert!(cookie_bytes(&"ü".repeat(255)).is_ok());
        let msg = cookie_bytes("s3cr€t").unwrap_err().to_string();
        assert!(!msg.contains("s3cr"), "the cookie is a secret: {msg}");
    }

    #[test]
    fn locale_rule() {
        assert!(locale_is_utf8(None, None, Some("C.UTF-8")));
        assert!(locale_is_utf8(None, None, Some("en_US.utf8")));
        assert!(locale_is_utf8(None, Some("de_DE.UTF-8@euro"), Some("C")));
        assert!(!locale_is_utf8(Some("C"), None, Some("C.UTF-8")));
        assert!(locale_is_utf8(Some(""), None, Some("C.UTF-8")));
        assert!(!locale_is_utf8(None, None, None));
        assert!(!locale_is_utf8(None, None, Some("POSIX")));
        assert!(!locale_is_utf8(None, None, Some("de_DE.ISO-8859-1")));
    }

    #[test]
    fn candidate_order() {
        assert_eq!(candidates("abc", true), vec![b"abc".to_vec()]);
        let utf8 = "ü".as_bytes().to_vec();
        assert_eq!(candidates("ü", true), vec![vec![252], utf8.clone()]);
        assert_eq!(candidates("ü", false), vec![utf8, vec![252]]);
        assert_eq!(candidates("€", true), vec!["€".as_bytes().to_vec()]);
    }
}
