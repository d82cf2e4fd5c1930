//! First run: verify the payload, extract it beside its cache entry, write the marker last,
//! rename into place. Concurrent first runs race on the rename; the loser removes its copy.
use super::cache::{self, MARKER};
use super::progress::{Counted, Progress};
use super::reader::{self, Packed};
use super::{preflight, tidy};
use crate::environment::EnvMap;
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Whether `dir` is a complete extraction of `packed` (its marker names the digest).
pub(crate) fn complete(dir: &Path, digest_hex: &str) -> bool {
    std::fs::read(dir.join(MARKER)).is_ok_and(|t| cache::marker_ok(&t, digest_hex))
}

/// The entry directory for `packed` under `root`, extracted now unless it already is.
/// `force` replaces an entry that looks complete but proved broken.
pub(crate) fn ensure(packed: &Packed, root: &Path, entry: &str, force: bool) -> Result<PathBuf> {
    let digest = reader::digest_hex(packed);
    let dir = root.join(entry);
    if !force && complete(&dir, &digest) {
        tracing::debug!(entry = %dir.display(), "pack: cache entry complete");
        return Ok(dir);
    }
    let started = std::time::Instant::now();
    verify(packed)?;
    std::fs::create_dir_all(root).map_err(|e| {
        Error::io(
            format!(
                "cannot create the pack cache {} (set BEAMRC_PACK_DIR to a writable directory)",
                root.display()
            ),
            e,
        )
    })?;
    tidy::sweep(root, Some(entry));
    let tmp = root.join(cache::temp_name(entry, std::process::id(), nonce()));
    let unpacked = unpack(packed, &tmp).and_then(|()| {
        std::fs::write(
            tmp.join(MARKER),
            cache::marker_text(&digest, &packed.manifest),
        )
    });
    if let Err(e) = unpacked {
        let _ = tidy::remove_tree(&tmp);
        return Err(Error::io(
            format!(
                "cannot extract {} into {}",
                packed.path.display(),
                root.display()
            ),
            e,
        ));
    }
    // check's runtime checks on the staged copy, before anything is in place
    if let Err(why) = preflight::check(&tmp, &packed.manifest.erts_vsn, EnvMap::from_os()) {
        let _ = tidy::remove_tree(&tmp);
        return Err(Error::Release(format!(
            "{} cannot run here: {why}",
            packed.path.display()
        )));
    }
    let placed = install(&tmp, &dir, root, entry, &digest, force);
    tracing::debug!(entry = %dir.display(), force, elapsed = ?started.elapsed(), "pack: extracted");
    placed
}

/// Renames the finished `tmp` to `dir`; a complete `dir` already there wins (unless
/// `force`), a damaged one is moved aside first.
fn install(
    tmp: &Path,
    dir: &Path,
    root: &Path,
    entry: &str,
    digest: &str,
    force: bool,
) -> Result<PathBuf> {
    let mut replace = force;
    for _ in 0..3 {
        match std::fs::rename(tmp, dir) {
            Ok(()) => return Ok(dir.to_path_buf()),
            Err(e) if !is_occupied(&e) => {
                let _ = tidy::remove_tree(tmp);
                return Err(Error::Create {
                    path: dir.to_path_buf(),
                    source: e,
                });
            }
            Err(_) if !replace && complete(dir, digest) => {
                // Another first run won the race.
                let _ = tidy::remove_tree(tmp);
                return Ok(dir.to_path_buf());
            }
            Err(_) => {
                let old = root.join(cache::old_name(entry, std::process::id(), nonce()));
                if std::fs::rename(dir, &old).is_ok() {
                    let _ = tidy::remove_tree(&old);
                }
                replace = false;
            }
        }
    }
    let _ = tidy::remove_tree(tmp);
    Err(Error::Release(format!(
        "cannot put the extracted release in place at {}: it keeps changing",
        dir.display()
    )))
}

fn is_occupied(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EEXIST | libc::ENOTEMPTY))
}

/// The digest over everything before the trailer, checked before anything is written.
fn verify(packed: &Packed) -> Result<()> {
    let t = &packed.trailer;
    let read_err = |e| Error::Read {
        path: packed.path.to_path_buf(),
        source: e,
    };
    let mut file = File::open(&packed.at).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut left = t.manifest_off() + t.manifest_len;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(read_err)?;
        if n == 0 {
            return Err(reader::damaged(&packed.path, "it ends early"));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let got: [u8; 32] = hasher.finalize().into();
    if got != t.digest {
        return Err(reader::damaged(
            &packed.path,
            &format!(
                "its payload's SHA-256 is {}, the trailer says {}",
                super::trailer::hex(&got),
                reader::digest_hex(packed)
            ),
        ));
    }
    Ok(())
}

fn unpack(packed: &Packed, tmp: &Path) -> io::Result<()> {
    std::fs::create_dir(tmp)?;
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755))?;
    let mut file = File::open(&packed.at)?;
    file.seek(SeekFrom::Start(packed.trailer.payload_off))?;
    let payload = BufReader::with_capacity(1 << 16, file.take(packed.trailer.payload_len));
    let gz = flate2::read::GzDecoder::new(payload);
    let payload_bytes = packed
        .manifest
        .bytes
        .saturating_sub(packed.trailer.payload_off);
    let mut progress = Progress::new("extracting", payload_bytes, true);
    let counted = Counted {
        inner: gz,
        progress: &mut progress,
    };
    let mut archive = tar::Archive::new(counted);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(false);
    archive.set_overwrite(false);
    archive.unpack(tmp)?;
    write_launcher(packed, tmp)
}

/// `bin/NAME`: the pack's own first part, beamrc (the payload does not repeat it).
fn write_launcher(packed: &Packed, tmp: &Path) -> io::Result<()> {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin)?;
    let target = bin.join(&packed.manifest.name);
    let mut out = File::create(&target)?;
    let copied = io::copy(
        &mut File::open(&packed.at)?.take(packed.trailer.payload_off),
        &mut out,
    )?;
    if copied != packed.trailer.payload_off {
        return Err(io::Error::other("the packed file ends early"));
    }
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
}

/// Distinguishes two scratch directories of one process.
fn nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}
