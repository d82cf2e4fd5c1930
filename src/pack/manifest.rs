//! The manifest: a few `key=value` lines stored uncompressed before the trailer, so the
//! start-up path, `pack-info` and the preflight read it without touching the payload.
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Manifest {
    pub name: String,
    pub vsn: String,
    pub erts_vsn: String,
    /// `mix` or `relx` (informative: the format does not depend on it).
    pub kind: String,
    /// Entries in the archive, and the bytes of their regular files (uncompressed).
    pub entries: u64,
    pub bytes: u64,
    /// ELF class, machine and interpreter of the packed `erlexec`.
    pub elf_class: u8,
    pub elf_machine: u16,
    pub interp: Option<String>,
    /// The beamrc version that packed it (the stub).
    pub beamrc: String,
}

impl Manifest {
    pub fn encode(&self) -> String {
        let mut s = String::from("beamrc-pack=1\n");
        let mut line = |k: &str, v: &str| {
            let _ = writeln!(s, "{k}={v}");
        };
        line("name", &self.name);
        line("vsn", &self.vsn);
        line("erts", &self.erts_vsn);
        line("kind", &self.kind);
        line("entries", &self.entries.to_string());
        line("bytes", &self.bytes.to_string());
        line("elf_class", &self.elf_class.to_string());
        line("elf_machine", &self.elf_machine.to_string());
        line("interp", self.interp.as_deref().unwrap_or(""));
        line("beamrc", &self.beamrc);
        s
    }

    /// Parses what [`Manifest::encode`] wrote; unknown keys are ignored (newer packers may
    /// add some), a missing name or version is `None`.
    pub fn decode(text: &[u8]) -> Option<Manifest> {
        let text = std::str::from_utf8(text).ok()?;
        let mut m = Manifest::default();
        let mut tagged = false;
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.to_string();
            match k {
                "beamrc-pack" => tagged = true,
                "name" => m.name = v,
                "vsn" => m.vsn = v,
                "erts" => m.erts_vsn = v,
                "kind" => m.kind = v,
                "entries" => m.entries = v.parse().ok()?,
                "bytes" => m.bytes = v.parse().ok()?,
                "elf_class" => m.elf_class = v.parse().ok()?,
                "elf_machine" => m.elf_machine = v.parse().ok()?,
                "interp" => m.interp = (!v.is_empty()).then_some(v),
                "beamrc" => m.beamrc = v,
                _ => {}
            }
        }
        (tagged && !m.name.is_empty() && !m.vsn.is_empty()).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Manifest {
        Manifest {
            name: "demo".into(),
            vsn: "0.1.0".into(),
            erts_vsn: "13.1.5".into(),
            kind: "mix".into(),
            entries: 12,
            bytes: 3456,
            elf_class: 64,
            elf_machine: 62,
            interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
            beamrc: "0.1.0".into(),
        }
    }

    #[test]
    fn round_trips() {
        let m = sample();
        assert_eq!(Manifest::decode(m.encode().as_bytes()), Some(m.clone()));
        let statik = Manifest { interp: None, ..m };
        assert_eq!(
            Manifest::decode(statik.encode().as_bytes()),
            Some(statik.clone())
        );
    }

    #[test]
    fn rejects_untagged_or_nameless_text() {
        assert_eq!(Manifest::decode(b"name=demo\nvsn=1\n"), None);
        assert_eq!(Manifest::decode(b"beamrc-pack=1\nvsn=1\n"), None);
        assert_eq!(
            Manifest::decode(b"beamrc-pack=1\nname=a\nvsn=1\nbytes=x\n"),
            None
        );
        assert!(Manifest::decode(b"beamrc-pack=1\nname=a\nvsn=1\nfuture=3\n").is_some());
    }
}
