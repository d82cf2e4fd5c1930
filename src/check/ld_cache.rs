//! `/etc/ld.so.cache`: the "glibc-ld.so.cache1.1" format (optionally after the old
//! "ld.so-1.7.0" table), read as `(library name, path)` pairs in cache order.

pub(crate) const CACHE_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
pub(crate) const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";

/// The cache's bytes; entries are read on lookup, without copying them.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    bytes: Vec<u8>,
    /// Offset of the "glibc-ld.so.cache1.1" table (after an old-format table, if any).
    base: usize,
    nlibs: usize,
}

impl Cache {
    /// `/etc/ld.so.cache`'s bytes; an unknown format gives an empty cache.
    pub(crate) fn new(bytes: Vec<u8>) -> Cache {
        let mut base = 0usize;
        if bytes.starts_with(OLD_MAGIC) {
            let Some(n) = read_u32(&bytes, 12) else {
                return Cache::default();
            };
            // struct cache_file (16 bytes) + 12-byte entries, aligned to 8.
            base = (16 + 12 * n as usize).next_multiple_of(8);
        }
        let new = bytes.get(base..).unwrap_or_default();
        if !new.starts_with(CACHE_MAGIC) {
            return Cache::default();
        }
        let nlibs = read_u32(new, 20).unwrap_or(0).min(1 << 20) as usize;
        Cache { bytes, base, nlibs }
    }

    /// `(library name, path)` pairs in cache order (strings are relative to the table).
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        let new = self.bytes.get(self.base..).unwrap_or_default();
        let string = move |off: u32| {
            let tail = new.get(off as usize..)?;
            let end = tail.iter().position(|&c| c == 0)?;
            std::str::from_utf8(&tail[..end]).ok()
        };
        (0..self.nlibs)
            .map_while(move |i| {
                let at = 48 + 24 * i;
                Some((read_u32(new, at + 4)?, read_u32(new, at + 8)?))
            })
            .filter_map(move |(k, v)| Some((string(k)?, string(v)?)))
    }
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
            Cache::new(new.clone())
                .entries()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>(),
            [("libfoo.so.1".to_string(), "/x/libfoo.so.1".to_string())]
        );
        let mut old = OLD_MAGIC.to_vec();
        old.resize(12, 0);
        old.extend_from_slice(&1u32.to_ne_bytes());
        old.extend_from_slice(&[0; 12]);
        old.resize(32, 0);
        old.extend_from_slice(&new);
        assert_eq!(Cache::new(old).entries().count(), 1);
        assert_eq!(Cache::new(b"garbage".to_vec()).entries().count(), 0);
        assert_eq!(Cache::new(new[..60].to_vec()).entries().count(), 0);
        if let Ok(real) = std::fs::read("/etc/ld.so.cache") {
            assert!(Cache::new(real).entries().any(|(n, _)| n == "libc.so.6"));
        }
    }
}
