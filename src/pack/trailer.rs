//! The fixed-size trailer at the very end of a packed executable.
//!
//! ```text
//! [beamrc (the stub)][payload: release.tar.gz][manifest: key=value text][trailer: 80 bytes]
//! ```
//! The trailer's last 8 bytes are the magic, so detecting a pack is one `pread` of the file's
//! tail. All integers are little-endian. The digest is SHA-256 over everything before the
//! trailer (stub included, so the cache key changes with beamrc too): `head -c -80 FILE |
//! sha256sum` reproduces it. The payload is a plain `.tar.gz` without `bin/NAME`, which is
//! the stub itself and is written out of the file's first part at extraction.
use std::fmt;

pub(crate) const MAGIC: [u8; 8] = *b"BEAMRCPK";
pub(crate) const FORMAT: u32 = 1;
pub(crate) const LEN: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trailer {
    pub payload_off: u64,
    pub payload_len: u64,
    pub manifest_len: u64,
    pub digest: [u8; 32],
}

/// Why a tail that ends in the magic is still not a usable trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrailerError {
    /// Written by a newer beamrc.
    Format(u32),
    /// Offsets that do not add up to the file's length (truncated, appended to, damaged).
    Inconsistent { file_len: u64, expected: u64 },
}

impl fmt::Display for TrailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrailerError::Format(v) => write!(
                f,
                "it was packed in format {v}, this beamrc reads format {FORMAT} (use a newer beamrc)"
            ),
            TrailerError::Inconsistent { file_len, expected } => write!(
                f,
                "its trailer describes a file of {expected} bytes, but it has {file_len}"
            ),
        }
    }
}

impl Trailer {
    pub fn manifest_off(&self) -> u64 {
        self.payload_off.saturating_add(self.payload_len)
    }

    /// The file length this trailer describes.
    pub fn file_len(&self) -> u64 {
        self.manifest_off()
            .saturating_add(self.manifest_len)
            .saturating_add(LEN as u64)
    }

    pub fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0..8].copy_from_slice(&self.payload_off.to_le_bytes());
        out[8..16].copy_from_slice(&self.payload_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.manifest_off().to_le_bytes());
        out[24..32].copy_from_slice(&self.manifest_len.to_le_bytes());
        out[32..64].copy_from_slice(&self.digest);
        out[64..68].copy_from_slice(&FORMAT.to_le_bytes());
        out[68..72].copy_from_slice(&(LEN as u32).to_le_bytes());
        out[72..80].copy_from_slice(&MAGIC);
        out
    }

    /// `None` when `tail` (the file's last bytes) does not end in the magic: not a pack.
    pub fn decode(tail: &[u8], file_len: u64) -> Option<Result<Trailer, TrailerError>> {
        let t = tail.get(tail.len().checked_sub(LEN)?..)?;
        if t[72..80] != MAGIC {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(t[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(t[i..i + 4].try_into().unwrap_or_default());
        let format = u32_at(64);
        if format != FORMAT || u32_at(68) != LEN as u32 {
            return Some(Err(TrailerError::Format(format)));
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&t[32..64]);
        let trailer = Trailer {
            payload_off: u64_at(0),
            payload_len: u64_at(8),
            manifest_len: u64_at(24),
            digest,
        };
        let expected = trailer
            .payload_off
            .checked_add(trailer.payload_len)
            .filter(|&m| m == u64_at(16))
            .and_then(|m| m.checked_add(trailer.manifest_len))
            .and_then(|e| e.checked_add(LEN as u64));
        match expected {
            Some(e) if e == file_len => Some(Ok(trailer)),
            e => Some(Err(TrailerError::Inconsistent {
                file_len,
                expected: e.unwrap_or(u64::MAX),
            })),
        }
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trailer {
        Trailer {
            payload_off: 1000,
            payload_len: 500,
            manifest_len: 60,
            digest: [7; 32],
        }
    }

    #[test]
    fn round_trips_at_the_end_of_a_tail() {
        let t = sample();
        let mut tail = vec![9u8; 300];
        tail.extend_from_slice(&t.encode());
        assert_eq!(Trailer::decode(&tail, 1640), Some(Ok(t)));
    }

    #[test]
    fn no_magic_is_not_a_pack() {
        assert_eq!(Trailer::decode(&[0u8; 200], 200), None);
        assert_eq!(Trailer::decode(&[0u8; 10], 10), None);
    }

    #[test]
    fn truncation_and_growth_are_inconsistent() {
        let bytes = sample().encode();
        assert_eq!(
            Trailer::decode(&bytes, 1639),
            Some(Err(TrailerError::Inconsistent {
                file_len: 1639,
                expected: 1640
            }))
        );
        let mut huge = sample();
        huge.payload_len = u64::MAX;
        let mut b = huge.encode();
        b[16..24].copy_from_slice(&0u64.to_le_bytes());
        assert!(matches!(
            Trailer::decode(&b, 1640),
            Some(Err(TrailerError::Inconsistent { .. }))
        ));
    }

    #[test]
    fn a_newer_format_is_named() {
        let mut b = sample().encode();
        b[64..68].copy_from_slice(&2u32.to_le_bytes());
        let err = Trailer::decode(&b, 1640).unwrap().unwrap_err();
        assert!(err.to_string().contains("format 2"), "{err}");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }
}
