//! A small ELF reader: what the kernel and the dynamic loader look at before a program
//! runs — class, byte order, machine, OS ABI, the interpreter (`PT_INTERP`), and the
//! dynamic section (`DT_NEEDED`, `DT_RPATH`, `DT_RUNPATH`, `DT_SONAME`, the GNU
//! version-needed and version-definition tables).
//!
//! Only what is read is trusted: every offset is bounds-checked, every count is capped,
//! and a malformed file is an `Err` naming what was wrong, never a panic. Files are read
//! with positioned reads (`pread`) through an 8 KiB window, so a 10 MiB `beam.smp` costs a
//! handful of reads.
use std::cell::RefCell;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub(crate) const EM_386: u16 = 3;
pub(crate) const EM_ARM: u16 = 40;
pub(crate) const EM_X86_64: u16 = 62;
pub(crate) const EM_AARCH64: u16 = 183;
pub(crate) const EM_RISCV: u16 = 243;

pub(super) const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
/// Caps on counts read from the file, so a hostile header cannot make us loop or allocate.
pub(super) const MAX_ENTRIES: u64 = 4096;
pub(super) const MAX_TEXT: u64 = 1 << 20;

/// Something bytes can be read from at an offset: a file, or a buffer in tests.
pub(crate) trait Source {
    fn bytes_at(&self, offset: u64, len: usize) -> Option<Vec<u8>>;
}

impl Source for [u8] {
    fn bytes_at(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        self.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }
}

/// A file read through an 8 KiB window: the headers, tables and strings the loader looks
/// at sit close together, so a few reads serve hundreds of small lookups.
pub(crate) struct FileSource {
    file: std::fs::File,
    window: RefCell<(u64, Vec<u8>)>,
}

const WINDOW: usize = 8 * 1024;

impl FileSource {
    pub(crate) fn new(file: std::fs::File) -> FileSource {
        FileSource {
            file,
            window: RefCell::new((0, Vec::new())),
        }
    }
}

impl Source for FileSource {
    fn bytes_at(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let mut w = self.window.borrow_mut();
        let inside = |(start, buf): &(u64, Vec<u8>)| {
            let at = usize::try_from(offset.checked_sub(*start)?).ok()?;
            buf.get(at..at.checked_add(len)?).map(<[u8]>::to_vec)
        };
        if let Some(b) = inside(&w) {
            return Some(b);
        }
        // Reuse the window's buffer: no allocation per miss.
        let mut buf = std::mem::take(&mut w.1);
        buf.clear();
        buf.resize(len.max(WINDOW), 0);
        let mut filled = 0;
        while filled < buf.len() {
            match self
                .file
                .read_at(&mut buf[filled..], offset + filled as u64)
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        buf.truncate(filled);
        *w = (offset, buf);
        inside(&w)
    }
}

/// What a file is, judged by its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    Elf(Box<Elf>),
    /// `#!` — a script, run by its interpreter.
    Script,
    /// Mach-O (macOS), PE (Windows) or anything else: the name of what it looks like.
    Foreign(&'static str),
}

/// A version the object needs from one of its libraries (`GLIBC_2.34` from `libc.so.6`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionNeed {
    pub file: String,
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Elf {
    /// 32 or 64.
    pub class: u8,
    pub little_endian: bool,
    pub machine: u16,
    pub os_abi: u8,
    /// `ET_EXEC` (2) or `ET_DYN` (3, PIE executables and shared objects).
    pub kind: u16,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    pub version_needs: Vec<VersionNeed>,
    /// Versions this object defines (`GLIBC_2.36` in libc.so.6).
    pub version_defs: Vec<String>,
}

pub(crate) fn read_path(path: &Path) -> Result<Format, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    read(&FileSource::new(file))
}

pub(crate) fn read(src: &(impl Source + ?Sized)) -> Result<Format, String> {
    let ident = src.bytes_at(0, 4).unwrap_or_default();
    match ident.as_slice() {
        [0x7f, b'E', b'L', b'F'] => parse(src).map(|e| Format::Elf(Box::new(e))),
        [b'#', b'!', ..] => Ok(Format::Script),
        [0xcf, 0xfa, 0xed, 0xfe] | [0xfe, 0xed, 0xfa, 0xcf] | [0xce, 0xfa, 0xed, 0xfe] => {
            Ok(Format::Foreign("a Mach-O (macOS) executable"))
        }
        [0xca, 0xfe, 0xba, 0xbe] => Ok(Format::Foreign("a universal Mach-O (macOS) executable")),
        [b'M', b'Z', ..] => Ok(Format::Foreign("a Windows (PE) executable")),
        [] => Err("empty file".into()),
        _ => Ok(Format::Foreign("not an executable format this host runs")),
    }
}

/// Reads integers of the file's class and byte order.
pub(super) struct Reader<'a, S: Source + ?Sized> {
    pub src: &'a S,
    pub wide: bool,
    pub le: bool,
}

impl<S: Source + ?Sized> Reader<'_, S> {
    pub(super) fn bytes(&self, off: u64, len: usize) -> Result<Vec<u8>, String> {
        self.src
            .bytes_at(off, len)
            .ok_or_else(|| format!("truncated ELF file (wanted {len} bytes at offset {off})"))
    }
    pub(super) fn uint(&self, b: &[u8]) -> u64 {
        let mut v = 0u64;
        for i in 0..b.len() {
            let byte = if self.le { b[b.len() - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        v
    }
    pub(super) fn u16_at(&self, b: &[u8], at: usize) -> u16 {
        self.uint(&b[at..at + 2]) as u16
    }
    pub(super) fn u32_at(&self, b: &[u8], at: usize) -> u64 {
        self.uint(&b[at..at + 4])
    }
    /// A word of the file's class (`Elf32_Addr`/`Elf64_Addr`, offsets, `d_val`).
    pub(super) fn word_at(&self, b: &[u8], at: usize) -> u64 {
        let n = if self.wide { 8 } else { 4 };
        self.uint(&b[at..at + n])
    }
}

pub(super) struct Segment {
    pub kind: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
}

fn parse(src: &(impl Source + ?Sized)) -> Result<Elf, String> {
    let ident = src.bytes_at(0, 16).ok_or("truncated ELF header")?;
    let class = match ident[4] {
        1 => 32,
        2 => 64,
        c => return Err(format!("unknown ELF class {c}")),
    };
    let le = match ident[5] {
        1 => true,
        2 => false,
        d => return Err(format!("unknown ELF byte order {d}")),
    };
    let r = Reader {
        src,
        wide: class == 64,
        le,
    };
    let header = r.bytes(0, if r.wide { 64 } else { 52 })?;
    let (phoff, phentsize, phnum) = if r.wide {
        (
            r.word_at(&header, 32),
            r.u16_at(&header, 54),
            r.u16_at(&header, 56),
        )
    } else {
        (
            r.word_at(&header, 28),
            r.u16_at(&header, 42),
            r.u16_at(&header, 44),
        )
    };
    let mut elf = Elf {
        class,
        little_endian: le,
        machine: r.u16_at(&header, 18),
        os_abi: ident[7],
        kind: r.u16_at(&header, 16),
        ..Elf::default()
    };
    let min_entsize = if r.wide { 56 } else { 32 };
    if phnum == 0 {
        return Ok(elf);
    }
    if usize::from(phentsize) < min_entsize {
        return Err(format!("bad program header size {phentsize}"));
    }
    let table = r.bytes(phoff, usize::from(phentsize) * usize::from(phnum))?;
    let segments: Vec<Segment> = table
        .chunks(usize::from(phentsize))
        .map(|p| {
            if r.wide {
                Segment {
                    kind: r.u32_at(p, 0) as u32,
                    offset: r.word_at(p, 8),
                    vaddr: r.word_at(p, 16),
                    filesz: r.word_at(p, 32),
                }
            } else {
                Segment {
                    kind: r.u32_at(p, 0) as u32,
                    offset: r.word_at(p, 4),
                    vaddr: r.word_at(p, 8),
                    filesz: r.word_at(p, 16),
                }
            }
        })
        .collect();
    if let Some(s) = segments.iter().find(|s| s.kind == PT_INTERP) {
        let raw = r.bytes(s.offset, s.filesz.min(4096) as usize)?;
        elf.interpreter = Some(super::dynamic::c_string(&raw, 0));
    }
    if let Some(s) = segments.iter().find(|s| s.kind == PT_DYNAMIC) {
        super::dynamic::read_dynamic(&r, s, &segments, &mut elf)?;
    }
    Ok(elf)
}

/// `x86-64`, `AArch64`, … for messages.
pub(crate) fn machine_name(machine: u16) -> String {
    match machine {
        EM_386 => "i386".into(),
        EM_ARM => "32-bit ARM".into(),
        EM_X86_64 => "x86-64".into(),
        EM_AARCH64 => "AArch64".into(),
        EM_RISCV => "RISC-V".into(),
        8 => "MIPS".into(),
        20 => "PowerPC".into(),
        21 => "PowerPC64".into(),
        22 => "s390".into(),
        other => format!("machine {other}"),
    }
}

pub(crate) fn os_abi_name(abi: u8) -> &'static str {
    match abi {
        0 => "System V",
        3 => "Linux",
        6 => "Solaris",
        9 => "FreeBSD",
        12 => "OpenBSD",
        2 => "NetBSD",
        _ => "another OS",
    }
}

/// `GLIBC_2.34` → `(2, 34, 0)`; `None` for other version names.
pub(crate) fn glibc_version(name: &str) -> Option<(u32, u32, u32)> {
    let v = name.strip_prefix("GLIBC_")?;
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut it = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        it.next()??,
        it.next().flatten().unwrap_or(0),
        it.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::tiny_elf;

    fn elf_of(bytes: &[u8]) -> Elf {
        match read(bytes).unwrap() {
            Format::Elf(e) => *e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_the_tiny_elf() {
        let bytes = tiny_elf(
            EM_X86_64,
            Some("/lib64/ld-linux-x86-64.so.2"),
            &["libc.so.6", "libmissing.so.1"],
            Some("$ORIGIN/../lib:/opt/x"),
            &[("libc.so.6", &["GLIBC_2.2.5", "GLIBC_99.0"])],
        );
        let e = elf_of(&bytes);
        assert_eq!((e.class, e.machine, e.os_abi), (64, EM_X86_64, 0));
        assert_eq!(
            e.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(e.needed, ["libc.so.6", "libmissing.so.1"]);
        assert_eq!(e.runpath, ["$ORIGIN/../lib", "/opt/x"]);
        assert_eq!(e.version_needs.len(), 1);
        assert_eq!(e.version_needs[0].versions, ["GLIBC_2.2.5", "GLIBC_99.0"]);
    }

    #[test]
    fn truncated_and_foreign_files_are_errors_not_panics() {
        let bytes = tiny_elf(EM_AARCH64, None, &["libc.so.6"], None, &[]);
        for cut in [5, 20, 63, 100, 200, bytes.len() - 1] {
            let _ = read(&bytes[..cut]);
        }
        assert_eq!(elf_of(&bytes).machine, EM_AARCH64);
        assert!(matches!(read(&b"#!/bin/sh\n"[..]), Ok(Format::Script)));
        assert!(matches!(
            read(&[0xcf, 0xfa, 0xed, 0xfe, 7][..]),
            Ok(Format::Foreign(m)) if m.contains("macOS")
        ));
        assert!(read(&b""[..]).is_err());
        let mut bad = bytes.clone();
        bad[4] = 9;
        assert!(read(&bad[..]).is_err());
        // a hostile program-header count pointing past the end
        let mut bad = bytes;
        bad[56] = 0xff;
        assert!(read(&bad[..]).is_err());
    }

    #[test]
    fn reads_a_real_binary_and_libc() {
        let me = std::env::current_exe().unwrap();
        let Format::Elf(e) = read_path(&me).unwrap() else {
            panic!("not ELF")
        };
        assert_eq!(
            e.class,
            if cfg!(target_pointer_width = "64") {
                64
            } else {
                32
            }
        );
        for libc in [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/lib/aarch64-linux-gnu/libc.so.6",
        ] {
            if let Ok(Format::Elf(l)) = read_path(Path::new(libc)) {
                assert!(l.version_defs.iter().any(|v| v == "GLIBC_2.17"), "{l:?}");
            }
        }
    }

    #[test]
    fn glibc_versions() {
        assert_eq!(glibc_version("GLIBC_2.34"), Some((2, 34, 0)));
        assert_eq!(glibc_version("GLIBC_2.2.5"), Some((2, 2, 5)));
        assert_eq!(glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version("OPENSSL_3.0.0"), None);
        assert_eq!(machine_name(EM_AARCH64), "AArch64");
    }
}
