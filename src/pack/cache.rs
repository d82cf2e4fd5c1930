//! Where packed releases are extracted, and how an entry is named and recognised. Pure.
//!
//! `$BEAMRC_PACK_DIR` or `$XDG_CACHE_HOME/beamrc` or `~/.cache/beamrc`, holding one
//! directory per pack, `NAME-VSN-DIGEST16`. Extraction goes to `.ENTRY.tmp-PID-N` beside it
//! and is renamed into place; a damaged entry is first moved to `.ENTRY.old-PID-N`. The
//! marker file, written last, holds the full digest.
use super::manifest::Manifest;
use crate::environment::EnvMap;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Written last into an extracted entry; its presence with the right digest means complete.
pub(crate) const MARKER: &str = ".beamrc-pack";

/// The cache directory holding the entries.
pub(crate) fn root(env: &EnvMap) -> Result<PathBuf> {
    if let Some(dir) = env.non_empty("BEAMRC_PACK_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = env.non_empty("XDG_CACHE_HOME").map(Path::new)
        && xdg.is_absolute()
    {
        return Ok(xdg.join("beamrc"));
    }
    match env.non_empty("HOME") {
        Some(home) => Ok(Path::new(home).join(".cache/beamrc")),
        None => Err(Error::Config(
            "no cache directory for the packed release: set BEAMRC_PACK_DIR (or HOME or XDG_CACHE_HOME)"
                .into(),
        )),
    }
}

/// `NAME-VSN-DIGEST16`; characters that cannot be in one path component become `_`.
pub(crate) fn entry_name(m: &Manifest, digest_hex: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c == '/' || c == '\0' { '_' } else { c })
            .collect::<String>()
            .trim_start_matches('.')
            .to_string()
    };
    format!(
        "{}-{}-{}",
        clean(&m.name),
        clean(&m.vsn),
        &digest_hex[..digest_hex.len().min(16)]
    )
}

/// What kind of name a directory in the cache has.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Name<'a> {
    /// An entry (to be confirmed by its marker).
    Entry(&'a str),
    /// An extraction in progress (or killed) by `pid`, or a damaged entry being removed.
    Scratch {
        entry: &'a str,
        pid: u32,
    },
    Other,
}

pub(crate) fn temp_name(entry: &str, pid: u32, nonce: u64) -> String {
    format!(".{entry}.tmp-{pid}-{nonce}")
}

pub(crate) fn old_name(entry: &str, pid: u32, nonce: u64) -> String {
    format!(".{entry}.old-{pid}-{nonce}")
}

pub(crate) fn classify(name: &str) -> Name<'_> {
    let Some(rest) = name.strip_prefix('.') else {
        return if name.is_empty() {
            Name::Other
        } else {
            Name::Entry(name)
        };
    };
    for tag in [".tmp-", ".old-"] {
        if let Some(i) = rest.rfind(tag) {
            let (entry, tail) = (&rest[..i], &rest[i + tag.len()..]);
            let pid = tail.split_once('-').and_then(|(p, n)| {
                n.parse::<u64>().ok()?;
                p.parse::<u32>().ok()
            });
            if let Some(pid) = pid
                && !entry.is_empty()
            {
                return Name::Scratch { entry, pid };
            }
        }
    }
    Name::Other
}

pub(crate) fn marker_text(digest_hex: &str, m: &Manifest) -> String {
    format!(
        "digest={digest_hex}\nname={}\nvsn={}\nentries={}\n",
        m.name, m.vsn, m.entries
    )
}

/// The marker says this entry is the complete extraction of the pack with `digest_hex`.
pub(crate) fn marker_ok(text: &[u8], digest_hex: &str) -> bool {
    let want = format!("digest={digest_hex}\n");
    text.starts_with(want.as_bytes())
}

/// Whoever can write an entry, or rename entries in the cache directory, can run code as
/// whoever runs the pack: the entry must be ours or root's, and the directory closed to
/// others unless sticky (like `/tmp`).
pub(crate) fn trust(entry_owner: u32, root_mode: u32, uid: u32) -> Result<(), String> {
    if entry_owner != uid && entry_owner != 0 {
        return Err(format!(
            "it belongs to uid {entry_owner}, not to this user ({uid}) or root"
        ));
    }
    if root_mode & 0o022 != 0 && root_mode & 0o1000 == 0 {
        return Err(format!(
            "its cache directory is writable by others (mode {:o})",
            root_mode & 0o7777
        ));
    }
    Ok(())
}

/// `RELEASE_TMP` for an entry that cannot be written (a read-only cache): per user, under
/// `$XDG_RUNTIME_DIR/beamrc` or `/tmp/beamrc-UID`.
pub(crate) fn writable_tmp(env: &EnvMap, entry: &str, uid: u32) -> PathBuf {
    let base = match env.non_empty("XDG_RUNTIME_DIR").map(Path::new) {
        Some(run) if run.is_absolute() => run.join("beamrc"),
        _ => PathBuf::from(format!("/tmp/beamrc-{uid}")),
    };
    base.join(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        pairs.iter().copied().collect()
    }

    #[test]
    fn root_follows_override_then_xdg_then_home() {
        let all = env(&[
            ("BEAMRC_PACK_DIR", "/srv/packs"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(root(&all).unwrap(), PathBuf::from("/srv/packs"));
        let xdg = env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(root(&xdg).unwrap(), PathBuf::from("/x/beamrc"));
        let relative_xdg = env(&[("XDG_CACHE_HOME", "x"), ("HOME", "/h")]);
        assert_eq!(
            root(&relative_xdg).unwrap(),
            PathBuf::from("/h/.cache/beamrc")
        );
        let err = root(&env(&[("BEAMRC_PACK_DIR", "")])).unwrap_err();
        assert!(err.to_string().contains("BEAMRC_PACK_DIR"), "{err}");
        assert_eq!(err.code(), 4);
    }

    #[test]
    fn entry_names_are_one_safe_component() {
        let m = Manifest {
            name: "demo".into(),
            vsn: "0.1.0+b/1".into(),
            ..Manifest::default()
        };
        assert_eq!(
            entry_name(&m, &"ab".repeat(32)),
            "demo-0.1.0+b_1-abababababababab"
        );
        let dotted = Manifest {
            name: "..x".into(),
            vsn: "1".into(),
            ..Manifest::default()
        };
        assert_eq!(entry_name(&dotted, "00"), "x-1-00");
    }

    #[test]
    fn scratch_names_round_trip_and_others_are_left_alone() {
        let e = "demo-0.1.0-0123456789abcdef";
        assert_eq!(
            classify(&temp_name(e, 42, 7)),
            Name::Scratch { entry: e, pid: 42 }
        );
        assert_eq!(
            classify(&old_name(e, 9, 1)),
            Name::Scratch { entry: e, pid: 9 }
        );
        assert_eq!(classify(e), Name::Entry(e));
        assert_eq!(classify(".hidden"), Name::Other);
        assert_eq!(classify(".x.tmp-abc-1"), Name::Other);
        assert_eq!(classify(".x.tmp-1-"), Name::Other);
    }

    #[test]
    fn marker_matches_only_its_digest() {
        let m = Manifest::default();
        let text = marker_text("abc", &m);
        assert!(marker_ok(text.as_bytes(), "abc"));
        assert!(!marker_ok(text.as_bytes(), "abd"));
        assert!(!marker_ok(b"", "abc"));
        assert!(!marker_ok(b"digest=abcd\n", "abc"));
    }

    #[test]
    fn only_our_or_roots_entries_in_a_closed_or_sticky_directory_are_trusted() {
        assert_eq!(trust(1000, 0o40755, 1000), Ok(()));
        assert_eq!(trust(0, 0o40755, 1000), Ok(()));
        assert_eq!(trust(1000, 0o41777, 1000), Ok(()));
        let other = trust(1001, 0o40755, 1000).unwrap_err();
        assert!(other.contains("uid 1001"), "{other}");
        let open = trust(1000, 0o40777, 1000).unwrap_err();
        assert!(open.contains("mode 777"), "{open}");
    }

    #[test]
    fn writable_tmp_is_per_user() {
        let e = "demo-1-00";
        assert_eq!(
            writable_tmp(&env(&[("XDG_RUNTIME_DIR", "/run/user/1000")]), e, 1000),
            PathBuf::from("/run/user/1000/beamrc/demo-1-00")
        );
        assert_eq!(
            writable_tmp(&env(&[]), e, 65534),
            PathBuf::from("/tmp/beamrc-65534/demo-1-00")
        );
    }
}
