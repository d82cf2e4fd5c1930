//! Finding the pack inside an executable: one open and one `pread` of the file's tail
//! (a second, of the ELF header, only when the tail has no trailer).
use super::elf;
use super::manifest::Manifest;
use super::trailer::{self, Trailer};
use crate::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How much of the tail is read at once: the trailer and, nearly always, the manifest.
const TAIL: u64 = 4096;

#[derive(Debug, Clone)]
pub(crate) struct Packed {
    /// Where to read it (`/proc/self/exe` for the running program).
    pub at: PathBuf,
    /// Its name for people.
    pub path: PathBuf,
    pub trailer: Trailer,
    pub manifest: Manifest,
}

/// What the tail (and, for an unpacked file, the ELF header) says about a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No trailer and nothing after the ELF image: a plain beamrc.
    Plain,
    /// A trailer; the manifest is at `manifest` in the tail when it was read with it.
    Packed {
        trailer: Trailer,
        manifest: Option<std::ops::Range<usize>>,
    },
}

/// Pure: the tail's verdict. `header` is asked for only when there is no trailer.
pub(crate) fn shape(
    tail: &[u8],
    file_len: u64,
    header: impl FnOnce() -> Option<Vec<u8>>,
) -> std::result::Result<Shape, String> {
    match Trailer::decode(tail, file_len) {
        Some(Ok(t)) => {
            let tail_start = file_len - tail.len() as u64;
            let manifest = t
                .manifest_off()
                .checked_sub(tail_start)
                .and_then(|s| usize::try_from(s).ok())
                .map(|s| s..s + t.manifest_len as usize);
            Ok(Shape::Packed {
                trailer: t,
                manifest,
            })
        }
        Some(Err(e)) => Err(e.to_string()),
        None => match header().as_deref().and_then(elf::image_end) {
            Some(end) if file_len > end => Err(format!(
                "{} bytes follow the program but end in no pack trailer: the file is truncated or damaged",
                file_len - end
            )),
            Some(end) if file_len < end => Err(format!(
                "it has {file_len} bytes, its program alone should have {end}: the file is truncated"
            )),
            _ => Ok(Shape::Plain),
        },
    }
}

/// Reads the pack of the file at `at` (`/proc/self/exe`, say), `None` for a plain beamrc;
/// a damaged pack is an error naming `path`, the file's name for people.
pub(crate) fn open(at: &Path, path: &Path) -> Result<Option<Packed>> {
    let file = File::open(at).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    let len = file
        .metadata()
        .map_err(|e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        })?
        .len();
    let start = len.saturating_sub(TAIL);
    let mut tail = vec![0u8; (len - start) as usize];
    file.read_exact_at(&mut tail, start)
        .map_err(|e| Error::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
    let header = || {
        let mut h = vec![0u8; 64];
        file.read_exact_at(&mut h, 0).ok().map(|_| h)
    };
    let damaged = |why: String| damaged(path, &why);
    let (trailer, range) = match shape(&tail, len, header).map_err(damaged)? {
        Shape::Plain => return Ok(None),
        Shape::Packed { trailer, manifest } => (trailer, manifest),
    };
    let manifest_bytes = match range.and_then(|r| tail.get(r)) {
        Some(b) => b.to_vec(),
        None => {
            let n = usize::try_from(trailer.manifest_len)
                .ok()
                .filter(|&n| n <= 1 << 20)
                .ok_or_else(|| damaged("its manifest is implausibly large".into()))?;
            let mut b = vec![0u8; n];
            file.read_exact_at(&mut b, trailer.manifest_off())
                .map_err(|e| Error::Read {
                    path: path.to_path_buf(),
                    source: e,
                })?;
            b
        }
    };
    let manifest = Manifest::decode(&manifest_bytes)
        .ok_or_else(|| damaged("its manifest cannot be read".into()))?;
    Ok(Some(Packed {
        at: at.to_path_buf(),
        path: path.to_path_buf(),
        trailer,
        manifest,
    }))
}

/// The one error for a pack that cannot be used as it is.
pub(crate) fn damaged(path: &Path, why: &str) -> Error {
    Error::Release(format!(
        "{} is a damaged packed release: {why}; copy the file again or pack the release again",
        path.display()
    ))
}

/// The trailer's digest as hex.
pub(crate) fn digest_hex(p: &Packed) -> String {
    trailer::hex(&p.trailer.digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trailer() -> Trailer {
        Trailer {
            payload_off: 100,
            payload_len: 50,
            manifest_len: 10,
            digest: [1; 32],
        }
    }

    #[test]
    fn a_tail_with_trailer_locates_the_manifest() {
        let t = trailer();
        let mut file = vec![0u8; 160];
        file[150..160].copy_from_slice(b"0123456789");
        file.extend_from_slice(&t.encode());
        let len = file.len() as u64;
        let tail = &file[40..];
        let got = shape(tail, len, || panic!("no header needed")).unwrap();
        let Shape::Packed { manifest, .. } = got else {
            panic!("{got:?}")
        };
        assert_eq!(&tail[manifest.unwrap()], b"0123456789");
        // A tail too short to hold the manifest asks for a second read.
        let short = &file[file.len() - 85..];
        assert_eq!(
            shape(short, len, || None).unwrap(),
            Shape::Packed {
                trailer: t,
                manifest: None
            }
        );
    }

    #[test]
    fn bytes_after_the_elf_without_trailer_are_a_truncated_pack() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let header = || Some(exe[..64].to_vec());
        let len = exe.len() as u64;
        assert_eq!(
            shape(&exe[exe.len() - 100..], len, header),
            Ok(Shape::Plain)
        );
        let err = shape(&[0u8; 100], len + 5000, || Some(exe[..64].to_vec())).unwrap_err();
        assert!(err.contains("5000 bytes follow"), "{err}");
        assert_eq!(shape(b"#!/bin/sh", 9, || None), Ok(Shape::Plain));
        let cut = shape(&[0u8; 100], 1000, || Some(exe[..64].to_vec())).unwrap_err();
        assert!(cut.contains("the file is truncated"), "{cut}");
    }

    #[test]
    fn a_cut_trailer_names_the_lengths() {
        let bytes = trailer().encode();
        let err = shape(&bytes, 999, || None).unwrap_err();
        assert!(err.contains("240 bytes") && err.contains("999"), "{err}");
    }
}
