//! `beamrc pack-clean` / `BEAMRC_PACK_CLEAN=1`: remove the cache entries no running
//! instance uses.
//!
//! An entry is in use when someone holds its shared lock (every run does, from before the
//! extraction is checked; `start` passes it on to the VM, `run_erl` closes it) or when a
//! process's executable or working directory is inside it (every running VM). Only directories with a marker are removed, so a mistaken
//! `BEAMRC_PACK_DIR` loses nothing else; scratch directories of dead extractions go too.
use super::cache::{self, MARKER, Name};
use super::{lock, tidy};
use crate::{Error, Result};
use std::path::Path;

pub(crate) fn clean(root: &Path, dry_run: bool) -> Result<String> {
    let read = match std::fs::read_dir(root) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!("nothing to clean in {}", root.display()));
        }
        Err(e) => {
            return Err(Error::Read {
                path: root.to_path_buf(),
                source: e,
            });
        }
    };
    let mut names: Vec<String> = read
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut lines = Vec::new();
    for name in names {
        let dir = root.join(&name);
        if !matches!(cache::classify(&name), Name::Entry(_)) || !dir.join(MARKER).exists() {
            continue;
        }
        let held = lock::exclusive(&dir)
            .map_err(|e| Error::io(format!("cannot lock {}", dir.display()), e))?;
        let Some(_held) = held.filter(|_| !used_by_a_process(&dir)) else {
            lines.push(format!("kept {} (in use)", dir.display()));
            continue;
        };
        if dry_run {
            lines.push(format!("would remove {}", dir.display()));
            continue;
        }
        let old = root.join(cache::old_name(&name, std::process::id(), 0));
        std::fs::rename(&dir, &old)
            .and_then(|()| tidy::remove_tree(&old))
            .map_err(|e| Error::io(format!("cannot remove {}", dir.display()), e))?;
        lines.push(format!("removed {}", dir.display()));
    }
    if !dry_run {
        for name in tidy::sweep(root, None) {
            lines.push(format!(
                "removed {} (a killed extraction)",
                root.join(name).display()
            ));
        }
    }
    if lines.is_empty() {
        lines.push(format!("nothing to clean in {}", root.display()));
    }
    Ok(lines.join("\n"))
}

/// A process whose executable or working directory is inside `dir` (those we may see).
/// `epmd` does not count: it serves every node on the host, outlives the VM that started it,
/// and keeps running from a removed entry (its mapped binary stays valid).
fn used_by_a_process(dir: &Path) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        let pid_dir = p.path();
        p.file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
            && ["exe", "cwd"].iter().any(|link| {
                std::fs::read_link(pid_dir.join(link))
                    .is_ok_and(|t| t.starts_with(dir) && !t.ends_with("bin/epmd"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_idle_entries_keeps_locked_and_foreign_ones() {
        let root = crate::test_support::scratch("pack-clean");
        for name in ["a-1-00", "b-1-00"] {
            std::fs::create_dir_all(root.join(name).join("bin")).unwrap();
            std::fs::write(root.join(name).join(MARKER), "digest=00\n").unwrap();
        }
        std::fs::create_dir(root.join("not-ours")).unwrap();
        let busy = lock::share(&root.join("b-1-00")).unwrap();
        let dry = clean(&root, true).unwrap();
        assert!(
            dry.contains("would remove") && dry.contains("a-1-00"),
            "{dry}"
        );
        assert!(root.join("a-1-00").exists());
        let text = clean(&root, false).unwrap();
        assert!(
            text.contains("kept") && text.contains("b-1-00 (in use)"),
            "{text}"
        );
        assert!(!root.join("a-1-00").exists());
        assert!(root.join("b-1-00").exists() && root.join("not-ours").exists());
        drop(busy);
        clean(&root, false).unwrap();
        assert!(!root.join("b-1-00").exists());
        let none = clean(&root.join("absent"), false).unwrap();
        assert!(none.starts_with("nothing to clean"), "{none}");
    }
}
