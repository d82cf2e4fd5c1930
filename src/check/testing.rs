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

use super::{Host, Kind, Subject};
use crate::environment::EnvMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The host's ELF machine (tests build binaries "for this host").
pub(crate) fn host_machine() -> u16 {
    Host::detect(&EnvMap::new(), "box".into()).machine
}

/// A host named `hostname`, with the real loader configuration.
pub(crate) fn host(hostname: &str) -> Host {
    Host::detect(&EnvMap::new(), hostname.into())
}

/// A small Mix-like release under `root` whose ERTS programs are tiny ELF files for this
/// host needing only libc, and the Subject for it (private epmd port `epmd_port`).
pub(crate) fn fake_release(root: &Path, epmd_port: u16) -> Subject {
    let m = host_machine();
    let interp = super::elf::read_path(&std::env::current_exe().unwrap())
        .ok()
        .and_then(|f| match f {
            super::elf::Format::Elf(e) => e.interpreter,
            _ => None,
        });
    let bin = root.join("erts-13.1.5/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for p in super::runtime::PROGRAMS {
        let path = bin.join(p);
        std::fs::write(
            &path,
            tiny_elf(m, interp.as_deref(), &["libc.so.6"], None, &[]),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let vsn = root.join("releases/0.1.0");
    std::fs::create_dir_all(&vsn).unwrap();
    let write = |p: &str, t: &[u8]| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    };
    write("releases/start_erl.data", b"13.1.5 0.1.0");
    write(
        "releases/0.1.0/demo.rel",
        b"{release,{\"demo\",\"0.1.0\"},{erts,\"13.1.5\"},[{kernel,\"8.5.3\"},{demo,\"0.1.0\"}]}.\n",
    );
    write("releases/0.1.0/start.boot", &[131, 104, 3]);
    write("releases/0.1.0/vm.args", b"## nothing\n");
    write("releases/0.1.0/sys.config", b"[{demo, [{k, 1}]}].\n");
    write("releases/0.1.0/env.sh", b"#!/bin/sh\n");
    write("releases/0.1.0/elixir", b"ELIXIR_VERSION=1.14.0\n");
    write("releases/COOKIE", b"secret");
    std::fs::set_permissions(
        root.join("releases/COOKIE"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    write(
        "lib/kernel-8.5.3/ebin/kernel.app",
        b"{application, kernel, [{vsn, \"8.5.3\"}]}.\n",
    );
    write(
        "lib/demo-0.1.0/ebin/demo.app",
        b"{application, demo, [{vsn, \"0.1.0\"}]}.\n",
    );
    let mut env = EnvMap::new();
    env.set("HOME", root.as_os_str());
    env.set("ERL_EPMD_PORT", epmd_port.to_string());
    Subject {
        kind: Kind::Mix,
        root: root.to_path_buf(),
        name: "demo".into(),
        vsn: "0.1.0".into(),
        start_erl: crate::release::StartErlData::parse("13.1.5 0.1.0").ok_or_else(String::new),
        vsn_dir: vsn.clone(),
        erts_bin: Some(bin),
        boot: vsn.join("start.boot"),
        vm_args: vsn.join("vm.args"),
        sys_config: vsn.join("sys.config"),
        substitute: false,
        policy: Default::default(),
        env,
        node: "demo".into(),
        distribution: "sname".into(),
        dirs: vec![("RELEASE_TMP", root.join("tmp"))],
        daemon_dirs: vec![("RELEASE_TMP/pipe", root.join("tmp/pipe"))],
    }
}

/// An ld.so.cache in the new format holding `(name, path)` entries.
pub(crate) fn cache_bytes(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut strings = Vec::new();
    let table_end = 48 + 24 * entries.len();
    let mut offs = Vec::new();
    for (k, v) in entries {
        let ko = table_end + strings.len();
        strings.extend_from_slice(k.as_bytes());
        strings.push(0);
        let vo = table_end + strings.len();
        strings.extend_from_slice(v.as_bytes());
        strings.push(0);
        offs.push((ko as u32, vo as u32));
    }
    let mut b = super::ld_cache::CACHE_MAGIC.to_vec();
    b.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
    b.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
    b.resize(48, 0);
    for (k, v) in offs {
        b.extend_from_slice(&0x303i32.to_ne_bytes());
        b.extend_from_slice(&k.to_ne_bytes());
        b.extend_from_slice(&v.to_ne_bytes());
        b.extend_from_slice(&[0; 12]);
    }
    b.extend_from_slice(&strings);
    b
}
