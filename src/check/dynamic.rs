//! The dynamic section of an ELF file: `DT_NEEDED`, `DT_SONAME`, `DT_RPATH`,
//! `DT_RUNPATH`, and the GNU version-needed / version-definition tables.
use super::elf::{Elf, MAX_ENTRIES, MAX_TEXT, PT_LOAD, Reader, Segment, Source, VersionNeed};

/// Longest string read from the string table (paths, library and version names).
const MAX_STRING: u64 = 4096;
const SHORT_STRING: u64 = 128;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const DT_VERDEF: u64 = 0x6fff_fffc;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

/// A file offset for a virtual address, through the `PT_LOAD` segments.
pub(super) fn file_offset(segments: &[Segment], vaddr: u64) -> Option<u64> {
    segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz)
        .map(|s| vaddr - s.vaddr + s.offset)
}

pub(super) fn c_string(b: &[u8], at: usize) -> String {
    let tail = b.get(at..).unwrap_or_default();
    let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
    String::from_utf8_lossy(&tail[..end]).into_owned()
}

pub(super) fn read_dynamic<S: Source + ?Sized>(
    r: &Reader<'_, S>,
    dynamic: &Segment,
    segments: &[Segment],
    elf: &mut Elf,
) -> Result<(), String> {
    let entsize = if r.wide { 16 } else { 8 };
    let count = (dynamic.filesz / entsize).min(MAX_ENTRIES);
    let raw = r.bytes(dynamic.offset, (count * entsize) as usize)?;
    let half = (entsize / 2) as usize;
    let mut entries = Vec::new();
    for e in raw.chunks(entsize as usize) {
        let tag = r.word_at(e, 0);
        if tag == 0 {
            break;
        }
        entries.push((tag, r.word_at(e, half)));
    }
    let value = |tag: u64| entries.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
    let (Some(strtab), Some(strsz)) = (value(DT_STRTAB), value(DT_STRSZ)) else {
        return Ok(());
    };
    let str_off = file_offset(segments, strtab).ok_or("string table outside the file")?;
    // Strings are read where they are (through the file's window), not the whole table.
    let strsz = strsz.min(MAX_TEXT);
    let text = |off: u64| {
        // Most names are short: a small read first, a long one only when it has no end.
        let left = strsz.saturating_sub(off);
        let read = |len: u64| r.src.bytes_at(str_off + off, len as usize);
        match read(left.min(SHORT_STRING)) {
            Some(b) if b.contains(&0) || left <= SHORT_STRING => c_string(&b, 0),
            _ => read(left.min(MAX_STRING))
                .map(|b| c_string(&b, 0))
                .unwrap_or_default(),
        }
    };
    let split = |v: u64| -> Vec<String> {
        text(v)
            .split(':')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    for &(tag, v) in &entries {
        match tag {
            DT_NEEDED => elf.needed.push(text(v)),
            DT_SONAME => elf.soname = Some(text(v)),
            DT_RPATH => elf.rpath.extend(split(v)),
            DT_RUNPATH => elf.runpath.extend(split(v)),
            _ => {}
        }
    }
    if let (Some(addr), Some(num)) = (value(DT_VERNEED), value(DT_VERNEEDNUM)) {
        let off = file_offset(segments, addr).ok_or("version-needed table outside the file")?;
        elf.version_needs = version_needs(r, off, num, &text)?;
    }
    if let (Some(addr), Some(num)) = (value(DT_VERDEF), value(DT_VERDEFNUM)) {
        let off = file_offset(segments, addr).ok_or("version table outside the file")?;
        elf.version_defs = version_defs(r, off, num, &text)?;
    }
    Ok(())
}

/// `Elfxx_Verneed` (16 bytes) chains, each with `Elfxx_Vernaux` (16 bytes) chains.
fn version_needs<S: Source + ?Sized>(
    r: &Reader<'_, S>,
    mut off: u64,
    num: u64,
    text: &dyn Fn(u64) -> String,
) -> Result<Vec<VersionNeed>, String> {
    let mut out = Vec::new();
    for _ in 0..num.min(MAX_ENTRIES) {
        let vn = r.bytes(off, 16)?;
        let mut need = VersionNeed {
            file: text(r.u32_at(&vn, 4)),
            versions: Vec::new(),
        };
        let mut aux = off + r.u32_at(&vn, 8);
        for _ in 0..r.u16_at(&vn, 2).min(MAX_ENTRIES as u16) {
            let a = r.bytes(aux, 16)?;
            need.versions.push(text(r.u32_at(&a, 8)));
            match r.u32_at(&a, 12) {
                0 => break,
                next => aux += next,
            }
        }
        out.push(need);
        match r.u32_at(&vn, 12) {
            0 => break,
            next => off += next,
        }
    }
    Ok(out)
}

/// `Elfxx_Verdef` (20 bytes); the first `Elfxx_Verdaux` names the version.
fn version_defs<S: Source + ?Sized>(
    r: &Reader<'_, S>,
    mut off: u64,
    num: u64,
    text: &dyn Fn(u64) -> String,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for _ in 0..num.min(MAX_ENTRIES) {
        let vd = r.bytes(off, 20)?;
        let aux = r.bytes(off + r.u32_at(&vd, 12), 8)?;
        out.push(text(r.u32_at(&aux, 0)));
        match r.u32_at(&vd, 16) {
            0 => break,
            next => off += next,
        }
    }
    Ok(out)
}
