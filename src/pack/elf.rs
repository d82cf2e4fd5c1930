//! A minimal ELF reader: class, machine, program interpreter, and where the ELF image ends.
//!
//! Just enough for the pack: `pack-info` shows the packed ERTS's class, machine and loader
//! (recorded at pack time), and the end of the image tells a truncated pack (bytes after the
//! ELF, no trailer) from a plain beamrc. The first-run preflight is `check`'s (preflight.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    /// `e_machine` (62 = x86-64, 183 = AArch64).
    pub machine: u16,
    /// `PT_INTERP` (the dynamic loader), when the program is dynamically linked.
    pub interp: Option<String>,
}

/// Reads class and machine from an ELF header (the first 64 bytes suffice) and, when the
/// program headers are inside `bytes`, the interpreter. `None` when it is not ELF.
pub(crate) fn parse(bytes: &[u8]) -> Option<ElfInfo> {
    let h = Header::parse(bytes)?;
    let mut interp = None;
    for i in 0..u64::from(h.phnum) {
        let off = usize::try_from(h.phoff + i * u64::from(h.phentsize)).ok()?;
        let ph = bytes.get(off..off + usize::from(h.phentsize))?;
        if h.u32_at(ph, 0)? == 3 {
            // PT_INTERP
            let (p_off, p_size) = if h.class == 64 {
                (h.u64_at(ph, 8)?, h.u64_at(ph, 32)?)
            } else {
                (u64::from(h.u32_at(ph, 4)?), u64::from(h.u32_at(ph, 16)?))
            };
            let start = usize::try_from(p_off).ok()?;
            let end = start.checked_add(usize::try_from(p_size).ok()?)?;
            let text = bytes.get(start..end)?;
            let text = text.split(|&b| b == 0).next().unwrap_or_default();
            interp = Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    Some(ElfInfo {
        class: h.class,
        machine: h.machine,
        interp,
    })
}

/// The end of the section header table, which linkers place last: the length of an ELF
/// file with nothing appended. `None` when the header is not ELF or names no sections.
pub(crate) fn image_end(header: &[u8]) -> Option<u64> {
    let h = Header::parse(header)?;
    (h.shnum > 0).then(|| h.shoff + u64::from(h.shnum) * u64::from(h.shentsize))
}

/// A readable name for `e_machine`.
pub(crate) fn machine_name(machine: u16) -> String {
    match machine {
        3 => "x86".into(),
        21 => "ppc64".into(),
        22 => "s390x".into(),
        40 => "arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv64".into(),
        m => format!("machine {m}"),
    }
}

struct Header {
    class: u8,
    little: bool,
    machine: u16,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
}

impl Header {
    fn parse(b: &[u8]) -> Option<Header> {
        if b.get(0..4)? != b"\x7fELF" {
            return None;
        }
        let class = match b.get(4)? {
            1 => 32,
            2 => 64,
            _ => return None,
        };
        let little = *b.get(5)? == 1;
        let mut h = Header {
            class,
            little,
            machine: 0,
            phoff: 0,
            phentsize: 0,
            phnum: 0,
            shoff: 0,
            shentsize: 0,
            shnum: 0,
        };
        h.machine = h.u16_at(b, 18)?;
        if class == 64 {
            h.phoff = h.u64_at(b, 32)?;
            h.shoff = h.u64_at(b, 40)?;
            h.phentsize = h.u16_at(b, 54)?;
            h.phnum = h.u16_at(b, 56)?;
            h.shentsize = h.u16_at(b, 58)?;
            h.shnum = h.u16_at(b, 60)?;
        } else {
            h.phoff = u64::from(h.u32_at(b, 28)?);
            h.shoff = u64::from(h.u32_at(b, 32)?);
            h.phentsize = h.u16_at(b, 42)?;
            h.phnum = h.u16_at(b, 44)?;
            h.shentsize = h.u16_at(b, 46)?;
            h.shnum = h.u16_at(b, 48)?;
        }
        Some(h)
    }

    fn bytes<const N: usize>(&self, b: &[u8], at: usize) -> Option<[u8; N]> {
        let mut a: [u8; N] = b.get(at..at + N)?.try_into().ok()?;
        if !self.little {
            a.reverse();
        }
        Some(a)
    }

    fn u16_at(&self, b: &[u8], at: usize) -> Option<u16> {
        self.bytes(b, at).map(u16::from_le_bytes)
    }

    fn u32_at(&self, b: &[u8], at: usize) -> Option<u32> {
        self.bytes(b, at).map(u32::from_le_bytes)
    }

    fn u64_at(&self, b: &[u8], at: usize) -> Option<u64> {
        self.bytes(b, at).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_exe() -> Vec<u8> {
        std::fs::read("/proc/self/exe").unwrap()
    }

    #[test]
    fn reads_the_running_test_binary() {
        let bytes = own_exe();
        let info = parse(&bytes).unwrap();
        let class = if cfg!(target_pointer_width = "64") {
            64
        } else {
            32
        };
        assert_eq!(info.class, class);
        assert_eq!(image_end(&bytes[..64]), Some(bytes.len() as u64));
    }

    #[test]
    fn finds_the_interpreter_of_a_dynamic_program() {
        let sh = std::fs::read("/bin/sh").unwrap();
        let interp = parse(&sh).unwrap().interp.unwrap();
        assert!(interp.starts_with('/') && interp.contains("ld"), "{interp}");
    }

    #[test]
    fn rejects_what_is_not_elf_or_is_cut() {
        assert_eq!(parse(b"#!/bin/sh\n"), None);
        assert_eq!(parse(b"\x7fELF"), None);
        assert_eq!(image_end(&[0u8; 64]), None);
        assert_eq!(machine_name(62), "x86_64");
        assert_eq!(machine_name(9999), "machine 9999");
    }
}
