//! Test helpers: tiny ELF files built byte by byte, and scratch releases.

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RUNPATH: u64 = 29;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

/// A tiny little-endian ELF64 shared object, built byte by byte: one PT_LOAD covering
/// the file, PT_INTERP, PT_DYNAMIC with the given needed libraries, runpath and
/// version needs (`(file, [versions])`).
pub(crate) fn tiny_elf(
    machine: u16,
    interp: Option<&str>,
    needed: &[&str],
    runpath: Option<&str>,
    needs: &[(&str, &[&str])],
) -> Vec<u8> {
    let mut strings = vec![0u8];
    let mut add = |s: &str| {
        let at = strings.len() as u64;
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
        at
    };
    let needed_offs: Vec<u64> = needed.iter().map(|n| add(n)).collect();
    let runpath_off = runpath.map(&mut add);
    let need_offs: Vec<(u64, Vec<u64>)> = needs
        .iter()
        .map(|(f, vs)| (add(f), vs.iter().map(|v| add(v)).collect()))
        .collect();
    let interp_bytes = interp.map(|i| [i.as_bytes(), b"\0"].concat());
    // layout: header 64, 3 phdrs 168, interp, strings, verneed, dynamic
    let phoff = 64u64;
    let interp_off = phoff + 3 * 56;
    let interp_len = interp_bytes.as_ref().map_or(0, Vec::len) as u64;
    let str_off = interp_off + interp_len;
    let vn_off = str_off + strings.len() as u64;
    let mut verneed = Vec::new();
    for (k, (file, vers)) in need_offs.iter().enumerate() {
        let size = 16 + 16 * vers.len() as u64;
        let next = if k + 1 == need_offs.len() { 0 } else { size };
        verneed.extend_from_slice(&1u16.to_le_bytes());
        verneed.extend_from_slice(&(vers.len() as u16).to_le_bytes());
        verneed.extend_from_slice(&(*file as u32).to_le_bytes());
        verneed.extend_from_slice(&16u32.to_le_bytes());
        verneed.extend_from_slice(&(next as u32).to_le_bytes());
        for (j, v) in vers.iter().enumerate() {
            let next = if j + 1 == vers.len() { 0u32 } else { 16 };
            verneed.extend_from_slice(&0u32.to_le_bytes());
            verneed.extend_from_slice(&0u16.to_le_bytes());
            verneed.extend_from_slice(&(j as u16 + 2).to_le_bytes());
            verneed.extend_from_slice(&(*v as u32).to_le_bytes());
            verneed.extend_from_slice(&next.to_le_bytes());
        }
    }
    let dyn_off = vn_off + verneed.len() as u64;
    let mut dynamic: Vec<(u64, u64)> = needed_offs.iter().map(|&o| (DT_NEEDED, o)).collect();
    if let Some(o) = runpath_off {
        dynamic.push((DT_RUNPATH, o));
    }
    dynamic.push((DT_STRTAB, str_off));
    dynamic.push((DT_STRSZ, strings.len() as u64));
    if !needs.is_empty() {
        dynamic.push((DT_VERNEED, vn_off));
        dynamic.push((DT_VERNEEDNUM, needs.len() as u64));
    }
    dynamic.push((0, 0));
    let total = dyn_off + 16 * dynamic.len() as u64;

    let mut f = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    f.resize(16, 0);
    f.extend_from_slice(&3u16.to_le_bytes()); // ET_DYN
    f.extend_from_slice(&machine.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // entry
    f.extend_from_slice(&phoff.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes()); // shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // flags
    f.extend_from_slice(&64u16.to_le_bytes());
    f.extend_from_slice(&56u16.to_le_bytes());
    f.extend_from_slice(&3u16.to_le_bytes());
    f.resize(64, 0);
    let mut phdr = |kind: u32, off: u64, len: u64| {
        f.extend_from_slice(&kind.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes());
        for v in [off, off, off, len, len, 8] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    };
    phdr(PT_LOAD, 0, total);
    phdr(
        if interp.is_some() { PT_INTERP } else { 6 },
        interp_off,
        interp_len,
    );
    phdr(PT_DYNAMIC, dyn_off, 16 * dynamic.len() as u64);
    f.extend_from_slice(interp_bytes.as_deref().unwrap_or_default());
    f.extend_from_slice(&strings);
    f.extend_from_slice(&verneed);
    for (t, v) in dynamic {
        f.extend_from_slice(&t.to_le_bytes());
        f.extend_from_slice(&v.to_le_bytes());
    }
    f
}

