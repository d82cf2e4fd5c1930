//! `/etc/ld.so.cache`: the "glibc-ld.so.cache1.1" format (optionally after the old
//! "ld.so-1.7.0" table), as `(library name, path)` pairs in cache order.

pub(crate) const CACHE_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
pub(crate) const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";

/// Parses `/etc/ld.so.cache` ("glibc-ld.so.cache1.1", optionally after the old
/// "ld.so-1.7.0" table): `(library name, path)` pairs. Unknown formats give nothing.
pub(crate) fn parse(bytes: &[u8]) -> Vec<(String, String)> {
    let mut base = 0usize;
    if bytes.starts_with(OLD_MAGIC) {
        let Some(n) = read_u32(bytes, 12) else {
            return Vec::new();
        };
        // struct cache_file (16 bytes) + 12-byte entries, aligned to 8.
        base = (16 + 12 * n as usize).next_multiple_of(8);
    }
    let Some(new) = bytes.get(base..) else {
        return Vec::new();
    };
    if !new.starts_with(CACHE_MAGIC) {
        return Vec::new();
    }
    let Some(nlibs) = read_u32(new, 20) else {
        return Vec::new();
    };
    let string = |off: u32| {
        let tail = new.get(off as usize..)?;
        let end = tail.iter().position(|&c| c == 0)?;
        std::str::from_utf8(&tail[..end]).ok().map(str::to_string)
    };
    (0..nlibs.min(1 << 20) as usize)
        .map_while(|i| {
            let at = 48 + 24 * i;
            Some((read_u32(new, at + 4)?, read_u32(new, at + 8)?))
        })
        .filter_map(|(k, v)| Some((string(k)?, string(v)?)))
        .collect()
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::cache_bytes;

    #[test]
    fn parses_new_and_old_plus_new_caches() {
        let new = cache_bytes(&[("libfoo.so.1", "/x/libfoo.so.1")]);
        assert_eq!(
            parse(&new),
            [("libfoo.so.1".to_string(), "/x/libfoo.so.1".to_string())]
        );
        let mut old = OLD_MAGIC.to_vec();
        old.resize(12, 0);
        old.extend_from_slice(&1u32.to_ne_bytes());
        old.extend_from_slice(&[0; 12]);
        old.resize(32, 0);
        old.extend_from_slice(&new);
        assert_eq!(parse(&old).len(), 1);
        assert!(parse(b"garbage").is_empty());
        assert!(parse(&new[..60]).is_empty());
        if let Ok(real) = std::fs::read("/etc/ld.so.cache") {
            assert!(parse(&real).iter().any(|(n, _)| n == "libc.so.6"));
        }
    }
}
