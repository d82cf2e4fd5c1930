//! Runtime vs host: the ERTS programs and every NIF/port `.so` under `lib/*/priv` —
//! executable format, machine, OS ABI, interpreter, libraries and symbol versions, and
//! the OpenSSL the `crypto` NIF was linked against.
use super::elf::{self, Elf, Format};
use super::ldso::{self, Problem};
use super::report::Finding;
use super::{Host, Subject};
use std::path::{Path, PathBuf};

/// The ERTS programs a start, a daemon and the VM itself execute.
pub(crate) const PROGRAMS: [&str; 5] =
    ["erlexec", "beam.smp", "erl_child_setup", "epmd", "run_erl"];
const PRIV_DEPTH: usize = 4;

/// Where ERTS is: the release's `erts-VSN/bin`, or the one `erl` on `PATH` belongs to.
pub(crate) fn erts_bin(subject: &Subject) -> Option<PathBuf> {
    if let Some(b) = &subject.erts_bin {
        return Some(b.clone());
    }
    let path = subject.env.get("PATH")?;
    let erl = std::env::split_paths(path)
        .map(|d| d.join("erl"))
        .find(|p| p.is_file())?;
    // erl is a script under ROOTDIR/bin (often reached through a symlink).
    let root = std::fs::canonicalize(&erl)
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    let wanted = subject
        .start_erl
        .as_ref()
        .ok()
        .map(|d| format!("erts-{}", d.erts_vsn));
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("erts-"))
        })
        .collect();
    dirs.sort();
    let pick = dirs
        .iter()
        .find(|d| {
            Some(
                d.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            ) == wanted
        })
        .or(dirs.last())?;
    Some(pick.join("bin"))
}

/// Every `.so` under `lib/*/priv` (bounded depth).
pub(crate) fn nifs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(apps) = std::fs::read_dir(root.join("lib")) else {
        return out;
    };
    let mut apps: Vec<PathBuf> = apps.flatten().map(|e| e.path().join("priv")).collect();
    apps.sort();
    for priv_dir in apps {
        walk(&priv_dir, 0, &mut out);
    }
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && depth < PRIV_DEPTH {
            walk(&e.path(), depth + 1, out);
        } else if !kind.is_dir() && (name.ends_with(".so") || name.contains(".so.")) {
            out.push(e.path());
        }
    }
}

/// The fatal problems of one program or library, as findings (empty when it can run).
pub(crate) fn object(subject: &Subject, host: &Host, path: &Path, program: bool) -> Vec<Finding> {
    let shown = subject.show(path);
    let what = if program { "program" } else { "library" };
    let e = match elf::read_path(path) {
        Ok(Format::Elf(e)) => e,
        Ok(Format::Script) => return Vec::new(),
        Ok(Format::Foreign(kind)) => {
            return vec![
                Finding::error(
                    "runtime.format",
                    format!("{shown} is {kind}, not a Linux {what}"),
                )
                .at(path.display().to_string())
                .hint("use a release built on (or for) this OS and architecture"),
            ];
        }
        Err(e) if program && !path.exists() => {
            return vec![
                Finding::error("runtime.format", format!("{shown} is missing ({e})"))
                    .at(path.display().to_string())
                    .hint("the release's ERTS is incomplete: rebuild or re-copy it"),
            ];
        }
        Err(e) => {
            return vec![
                Finding::error(
                    "runtime.format",
                    format!("{shown} is not a readable ELF file: {e}"),
                )
                .at(path.display().to_string()),
            ];
        }
    };
    if let Some(f) = foreign_elf(&e, host, &shown) {
        return vec![f.at(path.display().to_string())];
    }
    let mut out = Vec::new();
    if let Some(interp) = &e.interpreter
        && !Path::new(interp).exists()
    {
        let (built, fix) = if interp.contains("musl") {
            (
                "a musl (Alpine) build",
                "run it on a musl-based image, or use a glibc build of ERTS",
            )
        } else {
            (
                "a glibc build",
                "run it on a glibc-based image (Debian, Ubuntu), or build ERTS on Alpine",
            )
        };
        out.push(
            Finding::error(
                "runtime.interpreter",
                format!("{shown} needs the dynamic loader {interp} ({built}), which this host does not have"),
            )
            .at(path.display().to_string())
            .hint(fix),
        );
        return out;
    }
    let closure = host.loader.closure(path, &e);
    out.extend(
        closure
            .problems
            .iter()
            .map(|p| problem(subject, host, p, &closure.found)),
    );
    out
}

/// Another machine, class or OS: the "Syntax error: \"(\" unexpected" case.
fn foreign_elf(e: &Elf, host: &Host, shown: &str) -> Option<Finding> {
    let compatible = e.machine == host.machine
        || (host.machine == elf::EM_X86_64 && e.machine == elf::EM_386)
        || (host.machine == elf::EM_AARCH64 && e.machine == elf::EM_ARM);
    if !compatible {
        return Some(
            Finding::error(
                "runtime.format",
                format!(
                    "{shown} is built for {} ({}-bit), this host is {}",
                    elf::machine_name(e.machine),
                    e.class,
                    elf::machine_name(host.machine)
                ),
            )
            .hint(format!(
                "build the release on (or cross-compile ERTS and NIFs for) {}; the shell reports this as `Syntax error: \"(\" unexpected` or `Exec format error`",
                elf::machine_name(host.machine)
            )),
        );
    }
    if !matches!(e.os_abi, 0 | 3) {
        return Some(
            Finding::error(
                "runtime.format",
                format!(
                    "{shown} is built for {}, not Linux",
                    elf::os_abi_name(e.os_abi)
                ),
            )
            .hint("use a release built on Linux"),
        );
    }
    None
}

/// The package hint for well-known libraries.
fn library_hint(lib: &str) -> String {
    let pkg = if lib.starts_with("libcrypto") || lib.starts_with("libssl") {
        let v = lib.rsplit(".so.").next().unwrap_or("");
        format!(
            "OpenSSL {v} (Debian/Ubuntu: libssl{}; Alpine: libcrypto{}); or build ERTS against the host's OpenSSL",
            v.replace('.', ""),
            v.replace('.', "")
        )
    } else if lib.starts_with("libtinfo") || lib.starts_with("libncurses") {
        "ncurses (Debian/Ubuntu: libtinfo6 / libncurses6; Alpine: ncurses-libs)".into()
    } else if lib.starts_with("libstdc++") {
        "the C++ runtime (Debian/Ubuntu: libstdc++6; Alpine: libstdc++)".into()
    } else if lib.starts_with("libz.") {
        "zlib (Debian/Ubuntu: zlib1g; Alpine: zlib)".into()
    } else {
        format!("the package that provides {lib}")
    };
    format!("install {pkg}, or point LD_LIBRARY_PATH at a directory holding it")
}

fn problem(subject: &Subject, host: &Host, p: &Problem, found: &[(String, PathBuf)]) -> Finding {
    match p {
        Problem::Missing { library, needed_by } => Finding::error(
            "runtime.library",
            format!(
                "{} needs {library}, which is not found on this host",
                subject.show(needed_by)
            ),
        )
        .at(needed_by.display().to_string())
        .hint(library_hint(library)),
        Problem::Version {
            library,
            path,
            version,
            needed_by,
        } => {
            let glibc = elf::glibc_version(version).map(|(a, b, c)| {
                let have = found
                    .iter()
                    .find(|(n, _)| n == "libc.so.6")
                    .and_then(|(_, p)| host.loader.elf(p))
                    .and_then(|e| ldso::glibc_of(&e));
                let v = if c > 0 {
                    format!("{a}.{b}.{c}")
                } else {
                    format!("{a}.{b}")
                };
                let have = have.map_or("older".into(), |(a, b, _)| format!("{a}.{b}"));
                (v, have)
            });
            let (what, hint) = match glibc {
                Some((need, have)) => (
                    format!(
                        "{} needs glibc {need} ({version}), this host has glibc {have}",
                        subject.show(needed_by)
                    ),
                    format!(
                        "build it on a system with glibc {have} or older (an older base image), or run on a newer OS"
                    ),
                ),
                None => (
                    format!(
                        "{} needs {version} from {library}, which {} does not provide",
                        subject.show(needed_by),
                        path.display()
                    ),
                    format!("install a newer {library}, or rebuild against the host's"),
                ),
            };
            Finding::error("runtime.symbol_version", what)
                .at(needed_by.display().to_string())
                .hint(hint)
        }
    }
}

/// The cheap, fatal subset for plain `start` (before exec): `erlexec` and `beam.smp`.
pub(crate) fn fatal(subject: &Subject, host: &Host) -> Vec<Finding> {
    of_programs(subject, host, &["erlexec", "beam.smp"])
}

/// The problems of every ERTS program (format, interpreter, libraries, symbol versions);
/// NIFs are left out. `beamrc pack`'s first extraction runs this on the staged copy.
pub(crate) fn erts_programs(subject: &Subject, host: &Host) -> Vec<Finding> {
    of_programs(subject, host, &PROGRAMS)
}

fn of_programs(subject: &Subject, host: &Host, names: &[&str]) -> Vec<Finding> {
    let Some(bin) = erts_bin(subject) else {
        return Vec::new();
    };
    names
        .iter()
        .flat_map(|p| object(subject, host, &bin.join(p), true))
        .collect()
}

pub(crate) fn check(subject: &Subject, host: &Host) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(bin) = erts_bin(subject) else {
        return vec![
            Finding::error(
                "runtime.format",
                "the release has no ERTS and no `erl` is on PATH",
            )
            .hint("install Erlang/OTP on this host, or build the release with include_erts: true"),
        ];
    };
    let nifs = nifs(&subject.root);
    for p in PROGRAMS {
        out.extend(object(subject, host, &bin.join(p), true));
    }
    for n in &nifs {
        out.extend(object(subject, host, n, false));
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "runtime.format",
            format!(
                "{} ERTS programs and {} NIF/port libraries are {} Linux binaries whose libraries are all present",
                PROGRAMS.len(),
                nifs.len(),
                elf::machine_name(host.machine)
            ),
        ).at(subject.show(&bin)));
    }
    out.extend(openssl(subject, host, &nifs));
    out
}

/// The OpenSSL major version the `crypto` NIF was linked against, and whether it is here.
fn openssl(subject: &Subject, host: &Host, nifs: &[PathBuf]) -> Option<Finding> {
    let crypto = nifs.iter().find(|p| {
        p.file_name().is_some_and(|n| n == "crypto.so")
            && p.components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with("crypto-"))
    })?;
    let e = host.loader.elf(crypto)?;
    let Some(lib) = e.needed.iter().find(|n| n.starts_with("libcrypto.so")) else {
        return Some(
            Finding::ok(
                "runtime.openssl",
                "the crypto NIF has OpenSSL linked in statically",
            )
            .at(subject.show(crypto)),
        );
    };
    let major = lib.trim_start_matches("libcrypto.so.");
    // A missing libcrypto is already a runtime.library error, with the OpenSSL hint.
    let closure = host.loader.closure(crypto, &e);
    let (_, found) = closure.found.iter().find(|(n, _)| n == lib)?;
    Some(
        Finding::ok(
            "runtime.openssl",
            format!(
                "the crypto NIF needs OpenSSL {major} ({lib}), found at {}",
                found.display()
            ),
        )
        .at(subject.show(crypto)),
    )
}
