//! The chunks of a `.beam` file (IFF: `FOR1`, size, `BEAM`, then `Id Size Data` padded to 4).
//!
//! release_handler reads the running module's version with `beam_lib:version/1`, which
//! needs the `Attr` chunk: a beam stripped of it makes `install_release` crash with
//! `{missing_chunk, …, "Attr"}` after the node has started changing.

/// The most a gzip-compressed beam may inflate to (the largest OTP beams are a few MB).
const MAX_BEAM: u64 = 64 << 20;

/// The chunk ids of a beam file (also gzip-compressed, as relx's prod mode and the
/// compiler's `compressed` option write them; the loader and beam_lib read both), or why it
/// is not one.
pub(crate) fn chunk_ids(bytes: &[u8]) -> Result<Vec<String>, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_BEAM)
            .read_to_end(&mut plain)
            .map_err(|e| format!("compressed beam: {e}"))?;
        return chunk_ids(&plain);
    }
    if bytes.len() < 12 || &bytes[0..4] != b"FOR1" || &bytes[8..12] != b"BEAM" {
        return Err("not a BEAM file".into());
    }
    let mut ids = Vec::new();
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let id = String::from_utf8_lossy(&bytes[i..i + 4]).into_owned();
        let size = u32::from_be_bytes(bytes[i + 4..i + 8].try_into().expect("4 bytes")) as usize;
        ids.push(id);
        let next = (i + 8).checked_add(size.div_ceil(4) * 4);
        match next {
            Some(n) if n <= bytes.len() + 3 => i = n,
            _ => return Err("truncated chunk".into()),
        }
    }
    Ok(ids)
}

/// The chunk `beam_lib:version/1` reads.
pub(crate) const VERSION_CHUNK: &str = "Attr";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal beam with these chunks (each with 5 bytes of data).
    pub(crate) fn beam(ids: &[&str]) -> Vec<u8> {
        let mut body = b"BEAM".to_vec();
        for id in ids {
            body.extend_from_slice(id.as_bytes());
            body.extend_from_slice(&5u32.to_be_bytes());
            body.extend_from_slice(&[1, 2, 3, 4, 5, 0, 0, 0]);
        }
        let mut out = b"FOR1".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn lists_chunks() {
        assert_eq!(
            chunk_ids(&beam(&["AtU8", "Code", "Attr"])).unwrap(),
            ["AtU8", "Code", "Attr"]
        );
        assert!(chunk_ids(b"FOR1\0\0\0\0BEAX").is_err());
        // gzip-compressed, as relx's prod mode writes them
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&beam(&["Attr", "Code"])).unwrap();
        assert_eq!(chunk_ids(&gz.finish().unwrap()).unwrap(), ["Attr", "Code"]);
        assert!(chunk_ids(&[0x1f, 0x8b, 8, 0, 1, 2]).is_err());
        let mut cut = beam(&["Code"]);
        cut.truncate(20);
        assert!(chunk_ids(&cut).is_err());
    }

    #[test]
    fn reads_a_real_beam_when_erlang_is_installed() {
        let Ok(dir) = std::fs::read_dir("/usr/lib/erlang/lib") else {
            return;
        };
        let Some(stdlib) = dir
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("stdlib-"))
        else {
            return;
        };
        let bytes = std::fs::read(stdlib.path().join("ebin/lists.beam")).unwrap();
        assert!(
            chunk_ids(&bytes)
                .unwrap()
                .iter()
                .any(|c| c == VERSION_CHUNK)
        );
    }
}
