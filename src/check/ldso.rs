//! Resolving `DT_NEEDED` the way glibc's `ld.so` does, without loading anything.
//!
//! Order for an object X needing L (ld.so(8)): a name with a `/` is a path; otherwise,
//! when X has no `DT_RUNPATH`, X's `DT_RPATH` then the `DT_RPATH`s of the objects that
//! loaded X (up to the executable); then `LD_LIBRARY_PATH`; then X's `DT_RUNPATH`; then
//! `/etc/ld.so.cache`; then the default directories. A candidate of another class or
//! machine is skipped, as the loader does. `$ORIGIN` is the directory of the object that
//! carries the path. The versions an object needs from a library (`GLIBC_2.34` from
//! `libc.so.6`) are checked against the versions that library defines.
use super::elf::{self, Elf, Format};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

const MAX_DEPTH: usize = 16;

/// The host's loader configuration and what it has read so far.
pub(crate) struct Loader {
    cache: super::ld_cache::Cache,
    ld_library_path: Vec<String>,
    default_dirs: Vec<PathBuf>,
    read: RefCell<HashMap<PathBuf, Option<Elf>>>,
}

/// Something an object cannot get from this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// `library` is found nowhere the loader looks; `needed_by` is the object naming it.
    Missing { library: String, needed_by: PathBuf },
    /// `library` (found at `path`) does not define `version`, which `needed_by` needs.
    Version {
        library: String,
        path: PathBuf,
        version: String,
        needed_by: PathBuf,
    },
}

/// Everything one object pulls in.
#[derive(Debug, Default)]
pub(crate) struct Closure {
    /// Libraries found, with their paths, in load order.
    pub found: Vec<(String, PathBuf)>,
    pub problems: Vec<Problem>,
}

/// Debian/Ubuntu multiarch directory names for a machine.
fn multiarch(machine: u16) -> Option<&'static str> {
    match machine {
        elf::EM_X86_64 => Some("x86_64-linux-gnu"),
        elf::EM_AARCH64 => Some("aarch64-linux-gnu"),
        elf::EM_386 => Some("i386-linux-gnu"),
        elf::EM_ARM => Some("arm-linux-gnueabihf"),
        elf::EM_RISCV => Some("riscv64-linux-gnu"),
        _ => None,
    }
}

/// The architecture word of musl's loader path file.
fn musl_arch(machine: u16) -> Option<&'static str> {
    match machine {
        elf::EM_X86_64 => Some("x86_64"),
        elf::EM_AARCH64 => Some("aarch64"),
        elf::EM_386 => Some("i386"),
        elf::EM_ARM => Some("armhf"),
        elf::EM_RISCV => Some("riscv64"),
        _ => None,
    }
}

impl Loader {
    /// `cache`: the bytes of ld.so.cache (none on musl hosts); `machine`/`class`: the
    /// host's, which choose the default directories.
    pub(crate) fn new(
        cache: Option<Vec<u8>>,
        ld_library_path: Option<&OsStr>,
        machine: u16,
        class: u8,
    ) -> Loader {
        let mut default_dirs = Vec::new();
        if let Some(triple) = multiarch(machine) {
            default_dirs.push(PathBuf::from(format!("/lib/{triple}")));
            default_dirs.push(PathBuf::from(format!("/usr/lib/{triple}")));
        }
        if class == 64 {
            default_dirs.extend(["/lib64", "/usr/lib64"].map(PathBuf::from));
        }
        default_dirs.extend(["/lib", "/usr/lib", "/usr/local/lib"].map(PathBuf::from));
        // musl's loader reads /etc/ld-musl-ARCH.path instead of a cache.
        if let Some(arch) = musl_arch(machine)
            && let Ok(text) = std::fs::read_to_string(format!("/etc/ld-musl-{arch}.path"))
        {
            let listed = text
                .split(['\n', ':'])
                .map(str::trim)
                .filter(|d| !d.is_empty());
            default_dirs.splice(0..0, listed.map(PathBuf::from));
        }
        Loader {
            cache: cache.map(super::ld_cache::Cache::new).unwrap_or_default(),
            // Empty elements mean the cwd, which the loader searches; so do we.
            ld_library_path: ld_library_path
                .map(|p| {
                    p.to_string_lossy()
                        .split([':', ';'])
                        .map(|s| if s.is_empty() { "." } else { s }.to_string())
                        .collect()
                })
                .unwrap_or_default(),
            default_dirs,
            read: RefCell::new(HashMap::new()),
        }
    }

    /// The ELF at `path`, read once.
    pub(crate) fn elf(&self, path: &Path) -> Option<Elf> {
        if let Some(e) = self.read.borrow().get(path) {
            return e.clone();
        }
        let e = match elf::read_path(path) {
            Ok(Format::Elf(e)) => Some(*e),
            _ => None,
        };
        self.read.borrow_mut().insert(path.to_path_buf(), e.clone());
        e
    }

    /// Where the loader would find `name` for `requester` (at `origin_of`), or `None`.
    /// `inherited` are the RPATHs of the objects that loaded the requester.
    fn find(
        &self,
        name: &str,
        requester: &Elf,
        requester_path: &Path,
        inherited: &[(String, PathBuf)],
    ) -> Option<PathBuf> {
        let fits = |p: &Path| {
            self.elf(p)
                .is_some_and(|e| e.class == requester.class && e.machine == requester.machine)
        };
        if name.contains('/') {
            let p = PathBuf::from(name);
            return fits(&p).then_some(p);
        }
        let origin = requester_path.parent().unwrap_or(Path::new("/"));
        let in_dirs =
            |dirs: &mut dyn Iterator<Item = PathBuf>| dirs.map(|d| d.join(name)).find(|p| fits(p));
        let expand = |entry: &str, origin: &Path| expand(entry, origin, requester.machine);
        let mut order: Vec<PathBuf> = Vec::new();
        if requester.runpath.is_empty() {
            order.extend(requester.rpath.iter().map(|r| expand(r, origin)));
            order.extend(inherited.iter().map(|(r, o)| expand(r, o)));
        }
        order.extend(self.ld_library_path.iter().map(PathBuf::from));
        order.extend(requester.runpath.iter().map(|r| expand(r, origin)));
        if let Some(p) = in_dirs(&mut order.into_iter()) {
            return Some(p);
        }
        let cached = self
            .cache
            .entries()
            .filter(|(n, _)| *n == name)
            .map(|(_, p)| PathBuf::from(p))
            .find(|p| fits(p));
        cached.or_else(|| in_dirs(&mut self.default_dirs.iter().cloned()))
    }

    /// Walks everything `root` (an executable or a NIF) pulls in: missing libraries and
    /// missing symbol versions, each named with the object that needs it.
    pub(crate) fn closure(&self, root: &Path, root_elf: &Elf) -> Closure {
        let mut out = Closure::default();
        let mut seen: HashSet<String> = HashSet::new();
        // Breadth first, as the loader: (object, its ELF, its loaders' RPATHs, depth).
        let mut queue =
            VecDeque::from([(root.to_path_buf(), root_elf.clone(), Vec::new(), 0usize)]);
        let mut defs: HashMap<String, (PathBuf, Vec<String>)> = HashMap::new();
        let mut needs: Vec<(PathBuf, Elf)> = Vec::new();
        while let Some((path, obj, inherited, depth)) = queue.pop_front() {
            let mut passed: Vec<(String, PathBuf)> = inherited.clone();
            if obj.runpath.is_empty() {
                let origin = path.parent().unwrap_or(Path::new("/")).to_path_buf();
                passed.extend(obj.rpath.iter().map(|r| (r.clone(), origin.clone())));
            }
            for name in &obj.needed {
                if !seen.insert(name.clone()) {
                    continue;
                }
                match self.find(name, &obj, &path, &inherited) {
                    Some(p) => {
                        let lib = self.elf(&p).unwrap_or_default();
                        defs.insert(name.clone(), (p.clone(), lib.version_defs.clone()));
                        out.found.push((name.clone(), p.clone()));
                        if depth < MAX_DEPTH {
                            queue.push_back((p, lib, passed.clone(), depth + 1));
                        }
                    }
                    None => out.problems.push(Problem::Missing {
                        library: name.clone(),
                        needed_by: path.clone(),
                    }),
                }
            }
            needs.push((path, obj));
        }
        for (path, obj) in needs {
            for need in &obj.version_needs {
                let Some((lib_path, defined)) = defs.get(&need.file) else {
                    continue; // reported as missing already
                };
                for v in need.versions.iter().filter(|v| !defined.contains(v)) {
                    out.problems.push(Problem::Version {
                        library: need.file.clone(),
                        path: lib_path.clone(),
                        version: v.clone(),
                        needed_by: path.clone(),
                    });
                }
            }
        }
        out
    }
}

/// `$ORIGIN`/`${ORIGIN}`, `$LIB`, `$PLATFORM` in an RPATH/RUNPATH entry.
fn expand(entry: &str, origin: &Path, machine: u16) -> PathBuf {
    let origin = origin.to_string_lossy();
    let lib = match multiarch(machine) {
        Some(t) => format!("lib/{t}"),
        None => "lib".to_string(),
    };
    let platform = elf::machine_name(machine).replace('-', "_").to_lowercase();
    let mut s = entry.to_string();
    for (token, value) in [
        ("ORIGIN", origin.as_ref()),
        ("LIB", lib.as_str()),
        ("PLATFORM", platform.as_str()),
    ] {
        s = s
            .replace(&format!("${{{token}}}"), value)
            .replace(&format!("${token}"), value);
    }
    PathBuf::from(s)
}

/// The glibc version this libc defines (highest `GLIBC_x.y`), e.g. `(2, 36, 0)`.
pub(crate) fn glibc_of(libc: &Elf) -> Option<(u32, u32, u32)> {
    libc.version_defs
        .iter()
        .filter_map(|v| elf::glibc_version(v))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{cache_bytes, tiny_elf};
    use crate::test_support::scratch;

    #[test]
    fn resolves_runpath_origin_and_reports_missing_and_versions() {
        let d = scratch("ldso");
        let m = elf::EM_X86_64;
        std::fs::create_dir_all(d.join("app/lib")).unwrap();
        std::fs::create_dir_all(d.join("cached")).unwrap();
        let mut libdep = tiny_elf(m, None, &[], None, &[]);
        libdep[7] = 0;
        std::fs::write(d.join("app/lib/libdep.so.1"), &libdep).unwrap();
        // a library of another machine, found first on LD_LIBRARY_PATH, is skipped
        std::fs::create_dir_all(d.join("wrong")).unwrap();
        let arm = tiny_elf(elf::EM_AARCH64, None, &[], None, &[]);
        std::fs::write(d.join("wrong/libc2.so"), arm).unwrap();
        std::fs::write(d.join("cached/libc2.so"), tiny_elf(m, None, &[], None, &[])).unwrap();
        let nif = tiny_elf(
            m,
            None,
            &["libdep.so.1", "libc2.so", "libnowhere.so.5"],
            Some("$ORIGIN/lib"),
            &[("libdep.so.1", &["DEP_1.0"])],
        );
        let nif_path = d.join("app/nif.so");
        std::fs::write(&nif_path, &nif).unwrap();
        let cache = cache_bytes(&[("libc2.so", d.join("cached/libc2.so").to_str().unwrap())]);
        let lp = d.join("wrong");
        let loader = Loader::new(Some(cache), Some(lp.as_os_str()), m, 64);
        let e = loader.elf(&nif_path).unwrap();
        let c = loader.closure(&nif_path, &e);
        assert_eq!(
            c.found,
            [
                ("libdep.so.1".to_string(), d.join("app/lib/libdep.so.1")),
                ("libc2.so".to_string(), d.join("cached/libc2.so")),
            ]
        );
        assert_eq!(
            c.problems,
            [
                Problem::Missing {
                    library: "libnowhere.so.5".into(),
                    needed_by: nif_path.clone()
                },
                Problem::Version {
                    library: "libdep.so.1".into(),
                    path: d.join("app/lib/libdep.so.1"),
                    version: "DEP_1.0".into(),
                    needed_by: nif_path.clone()
                }
            ]
        );
    }

    #[test]
    fn expands_origin_forms() {
        let o = Path::new("/r/lib/x/priv");
        assert_eq!(
            expand("$ORIGIN/../lib:x", o, elf::EM_X86_64),
            PathBuf::from("/r/lib/x/priv/../lib:x")
        );
        assert_eq!(
            expand("${ORIGIN}/a/$LIB", o, elf::EM_X86_64),
            PathBuf::from("/r/lib/x/priv/a/lib/x86_64-linux-gnu")
        );
    }

    #[test]
    fn host_libc_is_found_with_its_version() {
        let machine = if cfg!(target_arch = "aarch64") {
            elf::EM_AARCH64
        } else {
            elf::EM_X86_64
        };
        let cache = std::fs::read("/etc/ld.so.cache").ok();
        let loader = Loader::new(cache, None, machine, 64);
        let probe = Elf {
            class: 64,
            machine,
            needed: vec!["libc.so.6".into()],
            ..Elf::default()
        };
        let c = loader.closure(Path::new("/probe"), &probe);
        if let Some((_, path)) = c.found.first() {
            let v = glibc_of(&loader.elf(path).unwrap()).unwrap();
            assert!(v >= (2, 17, 0), "{v:?}");
        }
    }
}
