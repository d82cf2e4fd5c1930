//! What a pack holds and where it is cached: `beamrc pack-info FILE`, `BEAMRC_PACK_INFO=1`.
use super::reader::{self, Packed};
use super::{elf, trailer};
use std::path::Path;

/// The text printed; `cache` is the entry directory and whether it is complete. Pure.
pub(crate) fn render(p: &Packed, cache: Option<(&Path, bool)>) -> String {
    let m = &p.manifest;
    let t = &p.trailer;
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let mut s = format!(
        "packed release: {} {} ({}), ERTS {} for {} ({}-bit)\n",
        m.name,
        m.vsn,
        m.kind,
        m.erts_vsn,
        elf::machine_name(m.elf_machine),
        m.elf_class
    );
    s.push_str(&format!(
        "file:      {} ({} bytes: beamrc {}, payload {}, manifest {}, trailer {})\n",
        p.path.display(),
        t.file_len(),
        t.payload_off,
        t.payload_len,
        t.manifest_len,
        trailer::LEN
    ));
    s.push_str(&format!(
        "payload:   tar.gz at offset {}, {} entries, {:.1} MiB uncompressed\n",
        t.payload_off,
        m.entries,
        mib(m.bytes)
    ));
    s.push_str(&format!("sha256:    {}\n", reader::digest_hex(p)));
    if let Some(interp) = &m.interp {
        s.push_str(&format!("loader:    {interp}\n"));
    }
    s.push_str(&format!("packed by: beamrc {}\n", m.beamrc));
    match cache {
        Some((dir, true)) => s.push_str(&format!("cache:     {} (extracted)\n", dir.display())),
        Some((dir, false)) => s.push_str(&format!(
            "cache:     {} (not extracted yet)\n",
            dir.display()
        )),
        None => s.push_str("cache:     none (set BEAMRC_PACK_DIR or HOME)\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::manifest::Manifest;
    use crate::pack::trailer::Trailer;

    #[test]
    fn says_what_and_where() {
        let p = Packed {
            at: "/proc/self/exe".into(),
            path: "/opt/demo".into(),
            trailer: Trailer {
                payload_off: 100,
                payload_len: 2000,
                manifest_len: 50,
                digest: [0xab; 32],
            },
            manifest: Manifest {
                name: "demo".into(),
                vsn: "0.1.0".into(),
                erts_vsn: "13.1.5".into(),
                kind: "mix".into(),
                entries: 3,
                bytes: 1 << 20,
                elf_class: 64,
                elf_machine: 62,
                interp: None,
                beamrc: "0.1.0".into(),
            },
        };
        let text = render(&p, Some((Path::new("/c/demo-0.1.0-abab"), false)));
        assert!(
            text.starts_with("packed release: demo 0.1.0 (mix), ERTS 13.1.5 for x86_64 (64-bit)\n")
        );
        assert!(
            text.contains(
                "/opt/demo (2230 bytes: beamrc 100, payload 2000, manifest 50, trailer 80)"
            )
        );
        assert!(text.contains(&format!("sha256:    {}\n", "ab".repeat(32))));
        assert!(text.contains("/c/demo-0.1.0-abab (not extracted yet)"));
        assert!(!text.contains("loader"));
    }
}
