//! Releases broken on purpose, for `check` and the boot-error explanations: binaries for
//! another architecture, NIFs needing missing libraries or a newer glibc, patched
//! `DT_NEEDED` entries. Every change is made in the test's private copy, by writing a
//! new file and renaming it over the old one (copies may share inodes with the cache).
//! Included by `launcher-tests/check.rs` (`#[path]`), so it has no line in `support/mod.rs`.
use crate::support::TestRelease;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Replaces `path` with `bytes`, keeping its mode (temp + rename).
pub fn replace_file(path: &Path, bytes: &[u8]) {
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o755);
    let tmp = path.with_extension("beamrc-broken");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `erts-*/bin/NAME` of the copy.
pub fn erts_program(rel: &TestRelease, name: &str) -> PathBuf {
    rel.erts_bin().expect("a release with ERTS").join(name)
}

/// The ELF machine this host runs (x86-64: 62, AArch64: 183).
pub fn host_machine() -> u16 {
    match std::env::consts::ARCH {
        "aarch64" => 183,
        _ => 62,
    }
}

/// Rewrites the ELF header's `e_machine` of a program (little-endian) to another
/// architecture: AArch64 on x86-64 hosts, x86-64 elsewhere.
pub fn make_foreign(path: &Path) -> &'static str {
    let mut bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not ELF", path.display());
    let (machine, name) = if host_machine() == 183 {
        (62u16, "x86-64")
    } else {
        (183u16, "AArch64")
    };
    bytes[18..20].copy_from_slice(&machine.to_le_bytes());
    replace_file(path, &bytes);
    name
}

/// Replaces every `from\0` in a file by `to\0` (same length), e.g. one `DT_NEEDED` name.
pub fn patch_string(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "same-length patch");
    let mut bytes = std::fs::read(path).unwrap();
    let needle = [from.as_bytes(), b"\0"].concat();
    let mut hits = 0;
    let mut i = 0;
    while let Some(at) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let at = i + at;
        bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
        hits += 1;
        i = at + needle.len();
    }
    assert!(hits > 0, "{from:?} not found in {}", path.display());
    replace_file(path, &bytes);
}

/// Compiles C source to a shared object with gcc (panics with the compiler's output).
pub fn compile_so(dir: &Path, name: &str, source: &str, link: &[&str]) -> PathBuf {
    let gcc = crate::support::which("gcc")
        .expect("gcc on PATH (apt-get install gcc) for the NIF fixtures");
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(format!("{name}.so"));
    let result = Command::new(gcc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&src)
        .args(link)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

const NIF_SOURCE: &str =
    "#include <stdio.h>\nint beamrc_probe(const char *s) { return puts(s); }\n";

/// A NIF in `lib/APP-VSN/priv/` that needs `libbeamrc_gone.so.1`, a library that existed
/// only while it was linked.
pub fn nif_needing_missing_library(rel: &TestRelease, app_dir: &str) -> PathBuf {
    let build = rel.dir.join("nif-build");
    let gone = compile_so(
        &build,
        "libbeamrc_gone",
        "int beamrc_gone(void) { return 1; }\n",
        &["-Wl,-soname,libbeamrc_gone.so.1"],
    );
    let source = "int beamrc_gone(void);\nint beamrc_probe(void) { return beamrc_gone(); }\n";
    let link_dir = format!("-L{}", build.display());
    assert_eq!(gone, build.join("libbeamrc_gone.so"));
    let nif = compile_so(&build, "missing_nif", source, &[&link_dir, "-lbeamrc_gone"]);
    std::fs::remove_file(build.join("libbeamrc_gone.so")).unwrap();
    install_nif(rel, app_dir, &nif)
}

/// A NIF whose `GLIBC_2.x` version need is patched to `GLIBC_99.0`.
pub fn nif_needing_glibc_99(rel: &TestRelease, app_dir: &str) -> PathBuf {
    let build = rel.dir.join("nif-build");
    let nif = compile_so(&build, "glibc_nif", NIF_SOURCE, &[]);
    let bytes = std::fs::read(&nif).unwrap();
    // The first "GLIBC_2.<digits>[.<digits>]\0" string: the version `puts` is bound to.
    let at = bytes
        .windows(8)
        .position(|w| w == b"GLIBC_2.")
        .expect("a GLIBC_2.x version need");
    let end = at + bytes[at..].iter().position(|&b| b == 0).unwrap();
    let old = std::str::from_utf8(&bytes[at..end]).unwrap().to_string();
    let mut new = "GLIBC_99.0".to_string();
    assert!(old.len() >= new.len(), "{old}");
    while new.len() < old.len() {
        new.push('\0');
    }
    let mut patched = bytes.clone();
    patched[at..end].copy_from_slice(new.as_bytes());
    std::fs::write(&nif, patched).unwrap();
    install_nif(rel, app_dir, &nif)
}

fn install_nif(rel: &TestRelease, app_dir: &str, nif: &Path) -> PathBuf {
    let priv_dir = rel.root.join("lib").join(app_dir).join("priv");
    std::fs::create_dir_all(&priv_dir).unwrap();
    let target = priv_dir.join(nif.file_name().unwrap());
    std::fs::copy(nif, &target).unwrap();
    target
}

/// The directory name `lib/APP-*` of an application in the copy.
pub fn app_dir(rel: &TestRelease, app: &str) -> String {
    std::fs::read_dir(rel.root.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.rsplit_once('-').is_some_and(|(a, _)| a == app))
        .unwrap_or_else(|| panic!("no lib/{app}-*"))
}
