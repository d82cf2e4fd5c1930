//! One file: `beamrc pack` appends a release (with its ERTS) to beamrc as a compressed
//! payload; the packed program extracts it once into a cache and runs as its `bin/NAME`.
//!
//! Layers: pure parts (`trailer`, `manifest`, `entries`, `cache`, `elf`, `preflight`,
//! `info`) and a thin I/O layer (`reader`, `writer`, `extract`, `lock`, `tidy`, `clean`,
//! `startup`). The file format is in `trailer`.
mod cache;
mod clean;
mod elf;
mod entries;
mod extract;
mod info;
mod lock;
mod manifest;
mod preflight;
mod progress;
mod reader;
mod startup;
mod tidy;
mod trailer;
mod writer;

pub use startup::{Startup, startup};
pub use writer::pack;

use crate::environment::EnvMap;
use crate::{Error, Result};
use std::path::Path;

/// `beamrc pack-info FILE`: what a packed file holds and where it is (or would be) cached.
pub fn info(file: &Path) -> Result<String> {
    let packed = reader::open(file, file)?.ok_or_else(|| {
        Error::Release(format!(
            "{} is not a packed release (make one with `beamrc pack RELEASE_DIR`)",
            file.display()
        ))
    })?;
    let env = EnvMap::from_os();
    let digest = reader::digest_hex(&packed);
    let dir = cache::root(&env)
        .ok()
        .map(|r| r.join(cache::entry_name(&packed.manifest, &digest)));
    let state = dir.as_deref().map(|d| (d, extract::complete(d, &digest)));
    Ok(info::render(&packed, state))
}

/// `beamrc pack-clean [--dry-run]`: removes the cache entries no running instance uses.
pub fn clean(dry_run: bool) -> Result<String> {
    clean::clean(&cache::root(&EnvMap::from_os())?, dry_run)
}
