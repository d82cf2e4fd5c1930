//! `beamrc pack RELEASE_DIR [-o FILE]`: beamrc + the release as one executable.
//!
//! The release is walked (its `tmp/` left out), planned by [`super::entries`], written as
//! a tar (GNU headers; owner 0:0, no user names, a fixed mtime, modes kept) compressed with
//! gzip, then the manifest and the trailer. Written to a temp file beside the output and
//! renamed: nothing half-written. The release directory is only read.
use super::entries::{self, Entry, Found, Kind, Source};
use super::manifest::Manifest;
use super::progress::{Counted, Progress};
use super::trailer::{self, Trailer};
use super::{elf, reader};
use crate::release::install::{self, Built, is_script};
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mtime of every entry (2001-09-09), so the same release packs to the same bytes.
const MTIME: u64 = 1_000_000_000;

/// Packs `dir` into `output` (default `./NAME`; a directory gets `NAME` inside);
/// returns the report for stdout.
pub fn pack(dir: &Path, output: Option<&Path>) -> Result<String> {
    let Built {
        root,
        start,
        vsn_dir,
        name,
    } = install::open_built(dir)?;
    let erlexec = root.join(format!("erts-{}/bin/erlexec", start.erts_vsn));
    let elf = std::fs::read(&erlexec)
        .ok()
        .and_then(|b| elf::parse(&b))
        .ok_or_else(|| {
            Error::Release(format!(
                "{} has no ERTS ({} is missing): a packed release must carry its runtime; \
                 build it with `include_erts: true` (Mix's default) or `{{include_erts, true}}` (relx)",
                root.display(),
                erlexec.display()
            ))
        })?;

    let (stub, stub_len) = own_stub()?;
    let mut skipped = Vec::new();
    let found = walk(&root, &name)?;
    let plan = entries::plan(found, &name, stub_len, &mut skipped)
        .map_err(|e| Error::Release(format!("cannot pack {}: {e}", root.display())))?;
    let manifest = Manifest {
        name: name.clone(),
        vsn: start.rel_vsn.clone(),
        erts_vsn: start.erts_vsn.clone(),
        kind: if vsn_dir.join("elixir").exists() {
            "mix"
        } else {
            "relx"
        }
        .into(),
        entries: plan.len() as u64,
        bytes: entries::total_bytes(&plan),
        elf_class: elf.class,
        elf_machine: elf.machine,
        interp: elf.interp,
        beamrc: env!("CARGO_PKG_VERSION").into(),
    };

    if let Some(o) = output.filter(|o| inside(&root, o)) {
        return Err(Error::Release(format!(
            "{} is inside the release {}, which pack only reads: choose another -o",
            o.display(),
            root.display()
        )));
    }
    let target = output_path(output, &name)?;
    if output.is_none() && inside(&root, Path::new(".")) {
        return Err(Error::Release(format!(
            "the current directory is inside the release {}, which pack only reads: use -o",
            root.display()
        )));
    }
    let tmp = target.with_file_name(format!(
        ".{}.pack-{}",
        target.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = write_file(&tmp, &root, &stub, stub_len, &plan, &manifest)
        .and_then(|t| {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
            std::fs::rename(&tmp, &target)?;
            Ok(t)
        })
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::Write {
                path: target.to_path_buf(),
                source: e,
            }
        })?;
    let mut report = format!(
        "packed {} {} ({} entries, {:.1} MiB) into {} ({:.1} MiB, sha256 {})",
        name,
        start.rel_vsn,
        manifest.entries,
        mib(manifest.bytes),
        target.display(),
        mib(written.file_len()),
        trailer::hex(&written.digest)
    );
    if let Some(note) = install::cookie_note(&root) {
        report.push_str(&format!("\n{note} before packing (the pack keeps modes)"));
    }
    for s in skipped {
        report.push_str(&format!(
            "\nskipped {} (not a file, directory or symlink)",
            s.display()
        ));
    }
    Ok(report)
}

fn mib(b: u64) -> f64 {
    b as f64 / f64::from(1 << 20)
}

/// Whether `path` (or, when it does not exist yet, its nearest existing ancestor) is under
/// `root`.
fn inside(root: &Path, path: &Path) -> bool {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .ancestors()
        .find_map(|a| std::fs::canonicalize(a).ok())
        .is_some_and(|c| c.starts_with(root))
}

/// `-o FILE`; a directory, or a path ending in `/` (created), gets `NAME` inside.
fn output_path(output: Option<&Path>, name: &str) -> Result<PathBuf> {
    match output {
        Some(o) if o.as_os_str().as_encoded_bytes().ends_with(b"/") => {
            std::fs::create_dir_all(o).map_err(|e| Error::Create {
                path: o.to_path_buf(),
                source: e,
            })?;
            Ok(o.join(name))
        }
        Some(o) if o.is_dir() => Ok(o.join(name)),
        Some(o) => Ok(o.to_path_buf()),
        None => Ok(PathBuf::from(name)),
    }
}

/// This executable and how many of its bytes are beamrc (a packed beamrc packs its stub).
fn own_stub() -> Result<(PathBuf, u64)> {
    let me = PathBuf::from("/proc/self/exe");
    let len = match reader::open(&me, &me)? {
        Some(p) => p.trailer.payload_off,
        None => std::fs::metadata(&me)
            .map_err(|e| Error::io("cannot read the beamrc executable", e))?
            .len(),
    };
    Ok((me, len))
}

/// Every file under `root` except `tmp/` (RELEASE_TMP's default: pipes, logs, copies).
fn walk(root: &Path, name: &str) -> Result<Vec<Found>> {
    let launcher = Path::new("bin").join(name);
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let read = std::fs::read_dir(&dir).map_err(|e| Error::Read {
            path: dir.to_path_buf(),
            source: e,
        })?;
        for item in read {
            let item = item.map_err(|e| Error::Read {
                path: dir.to_path_buf(),
                source: e,
            })?;
            let child = rel.join(item.file_name());
            if child == Path::new("tmp") {
                continue;
            }
            let path = root.join(&child);
            let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::Read {
                path: path.to_path_buf(),
                source: e,
            })?;
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                stack.push(child.clone());
                Kind::Dir
            } else if ft.is_file() {
                Kind::File { size: meta.len() }
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|e| Error::Read {
                    path: path.to_path_buf(),
                    source: e,
                })?;
                Kind::Symlink(target)
            } else {
                Kind::Special
            };
            out.push(Found {
                script: child == launcher && is_script(&path),
                rel: child,
                kind,
                mode: meta.mode(),
            });
        }
    }
    Ok(out)
}

/// Stub, payload, manifest, trailer; returns the trailer.
fn write_file(
    tmp: &Path,
    root: &Path,
    stub: &Path,
    stub_len: u64,
    plan: &[Entry],
    manifest: &Manifest,
) -> io::Result<Trailer> {
    let out = BufWriter::with_capacity(1 << 16, File::create(tmp)?);
    let mut hashed = Hashed::new(out);
    let copied = io::copy(&mut File::open(stub)?.take(stub_len), &mut hashed)?;
    if copied != stub_len {
        return Err(io::Error::other(
            "the beamrc executable changed while packing",
        ));
    }
    let mut progress = Progress::new("packing", manifest.bytes - stub_len, false);
    let gz = flate2::write::GzEncoder::new(&mut hashed, flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    // bin/NAME is the stub itself, written out of the file's first part at extraction.
    for e in plan.iter().filter(|e| e.source != Source::Stub) {
        append(&mut tar, root, e, &mut progress)?;
    }
    tar.into_inner()?.finish()?;
    let payload_len = hashed.count - stub_len;
    let text = manifest.encode();
    hashed.write_all(text.as_bytes())?;
    let (mut out, digest) = hashed.finish();
    let trailer = Trailer {
        payload_off: stub_len,
        payload_len,
        manifest_len: text.len() as u64,
        digest,
    };
    out.write_all(&trailer.encode())?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(trailer)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    e: &Entry,
    progress: &mut Progress,
) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_mode(e.mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(0);
    match &e.source {
        Source::Dir => {
            h.set_entry_type(tar::EntryType::Directory);
            tar.append_data(&mut h, &e.rel, io::empty())
        }
        Source::Symlink(target) => {
            h.set_entry_type(tar::EntryType::Symlink);
            tar.append_link(&mut h, &e.rel, target)
        }
        Source::File(rel) => {
            let path = root.join(rel);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(e.size);
            let file = File::open(&path)?.take(e.size);
            let mut counted = Counted {
                inner: Exact {
                    inner: file,
                    left: e.size,
                    path: &path,
                },
                progress,
            };
            tar.append_data(&mut h, &e.rel, &mut counted)
        }
        Source::Stub => Ok(()),
    }
}

/// A file that shrank while being packed is an error, not a short entry.
struct Exact<'a, R> {
    inner: R,
    left: u64,
    path: &'a Path,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::other(format!(
                "{} changed while packing",
                self.path.display()
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts what passes through it.
struct Hashed<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Hashed<W> {
    fn new(inner: W) -> Self {
        Hashed {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    fn finish(self) -> (W, [u8; 32]) {
        (self.inner, self.hasher.finalize().into())
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
