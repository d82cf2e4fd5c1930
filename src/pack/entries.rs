//! What goes into the archive: the release's files, sorted, with `beamrc install` applied
//! (bin/NAME is beamrc, the release's script is kept as bin/NAME.sh). Pure.
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File {
        size: u64,
    },
    Symlink(PathBuf),
    /// A FIFO, socket or device: never part of a release (a stray run_erl pipe).
    Special,
}

/// A file found in the release directory, relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub rel: PathBuf,
    pub kind: Kind,
    pub mode: u32,
    /// For `bin/NAME`: whether it is a script (`#!`) rather than an installed beamrc.
    pub script: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Dir,
    /// The file at this path relative to the release root.
    File(PathBuf),
    /// The beamrc program itself (without any pack of its own).
    Stub,
    Symlink(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub rel: PathBuf,
    pub mode: u32,
    pub size: u64,
    pub source: Source,
}

/// The archive's entries in byte order of their paths, or why the release cannot be packed.
/// `skipped` receives what is left out (special files).
pub(crate) fn plan(
    found: Vec<Found>,
    name: &str,
    stub_len: u64,
    skipped: &mut Vec<PathBuf>,
) -> Result<Vec<Entry>, String> {
    let launcher = Path::new("bin").join(name);
    let kept = Path::new("bin").join(format!("{name}.sh"));
    let script = found
        .iter()
        .find(|f| f.rel == launcher && f.script && matches!(f.kind, Kind::File { .. }))
        .map(|s| Entry {
            rel: kept.clone(),
            mode: s.mode & 0o7777,
            size: size_of(&s.kind),
            source: Source::File(launcher.clone()),
        });
    let keeps_script = script.is_some();
    let mut out = Vec::with_capacity(found.len() + 1);
    out.extend(script);
    out.push(Entry {
        rel: launcher.clone(),
        mode: 0o755,
        size: stub_len,
        source: Source::Stub,
    });
    for f in found {
        if f.rel == launcher || (keeps_script && f.rel == kept) {
            continue;
        }
        let source = match &f.kind {
            Kind::Dir => Source::Dir,
            Kind::File { .. } => Source::File(f.rel.clone()),
            Kind::Symlink(target) => {
                check_link(&f.rel, target)?;
                Source::Symlink(target.clone())
            }
            Kind::Special => {
                skipped.push(f.rel.clone());
                continue;
            }
        };
        out.push(Entry {
            size: size_of(&f.kind),
            rel: f.rel,
            mode: f.mode & 0o7777,
            source,
        });
    }
    out.sort_by(|a, b| a.rel.as_os_str().cmp(b.rel.as_os_str()));
    Ok(out)
}

fn size_of(kind: &Kind) -> u64 {
    match kind {
        Kind::File { size } => *size,
        _ => 0,
    }
}

/// A symlink must stay inside the release: an absolute or escaping target would dangle on
/// another machine (relx's `dev_mode` links into `_build`, for example).
fn check_link(rel: &Path, target: &Path) -> Result<(), String> {
    let escapes = || {
        let mut depth: i64 = rel.components().count() as i64 - 1;
        for c in target.components() {
            match c {
                Component::ParentDir => depth -= 1,
                Component::Normal(_) => depth += 1,
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return true,
            }
            if depth < 0 {
                return true;
            }
        }
        false
    };
    if target.is_absolute() || escapes() {
        return Err(format!(
            "{} is a symlink to {}, outside the release; it would dangle where the pack is run \
             (build the release without dev_mode / with its files copied)",
            rel.display(),
            target.display()
        ));
    }
    Ok(())
}

/// The uncompressed bytes of regular files (for the manifest and the progress).
pub(crate) fn total_bytes(entries: &[Entry]) -> u64 {
    entries.iter().map(|e| e.size).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, mode: u32, script: bool) -> Found {
        Found {
            rel: rel.into(),
            kind: Kind::File { size: 10 },
            mode: 0o100000 | mode,
            script,
        }
    }

    fn dir(rel: &str) -> Found {
        Found {
            rel: rel.into(),
            kind: Kind::Dir,
            mode: 0o40755,
            script: false,
        }
    }

    fn link(rel: &str, target: &str) -> Found {
        Found {
            rel: rel.into(),
            kind: Kind::Symlink(target.into()),
            mode: 0o777,
            script: false,
        }
    }

    fn rels(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| e.rel.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn installs_beamrc_over_the_script_and_keeps_the_script() {
        let found = vec![
            file("releases/COOKIE", 0o400, false),
            dir("bin"),
            file("bin/demo", 0o755, true),
            dir("releases"),
        ];
        let mut skipped = vec![];
        let got = plan(found, "demo", 999, &mut skipped).unwrap();
        assert_eq!(
            rels(&got),
            [
                "bin",
                "bin/demo",
                "bin/demo.sh",
                "releases",
                "releases/COOKIE"
            ]
        );
        assert_eq!(got[1].source, Source::Stub);
        assert_eq!((got[1].mode, got[1].size), (0o755, 999));
        assert_eq!(got[2].source, Source::File("bin/demo".into()));
        assert_eq!(got[4].mode, 0o400, "modes are kept");
        assert!(skipped.is_empty());
    }

    #[test]
    fn an_installed_release_gets_this_beamrc_and_keeps_its_kept_script() {
        let found = vec![
            file("bin/demo", 0o755, false),
            file("bin/demo.sh", 0o755, true),
        ];
        let got = plan(found, "demo", 5, &mut vec![]).unwrap();
        assert_eq!(rels(&got), ["bin/demo", "bin/demo.sh"]);
        assert_eq!(got[0].source, Source::Stub);
        assert_eq!(got[1].source, Source::File("bin/demo.sh".into()));
    }

    #[test]
    fn a_rebuilt_release_replaces_a_stale_kept_script() {
        let found = vec![
            file("bin/demo", 0o755, true),
            file("bin/demo.sh", 0o755, true),
        ];
        let got = plan(found, "demo", 5, &mut vec![]).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].source, Source::File("bin/demo".into()));
    }

    #[test]
    fn symlinks_inside_are_kept_outside_refused_specials_skipped() {
        let mut skipped = vec![];
        let found = vec![
            link("lib/a/priv", "../b/priv"),
            Found {
                rel: "bin/pipe".into(),
                kind: Kind::Special,
                mode: 0o10644,
                script: false,
            },
        ];
        let got = plan(found, "demo", 1, &mut skipped).unwrap();
        assert_eq!(got[1].source, Source::Symlink("../b/priv".into()));
        assert_eq!(skipped, [PathBuf::from("bin/pipe")]);
        for bad in ["/home/me/_build/lib/a", "../../../x", "../../.."] {
            let err = plan(vec![link("lib/a", bad)], "demo", 1, &mut vec![]).unwrap_err();
            assert!(err.contains("outside the release"), "{bad}: {err}");
        }
    }

    #[test]
    fn order_is_by_path_bytes_whatever_the_walk_order() {
        let a = vec![file("b", 0o644, false), file("a/z", 0o644, false), dir("a")];
        let mut b = a.clone();
        b.reverse();
        let pa = plan(a, "n", 1, &mut vec![]).unwrap();
        let pb = plan(b, "n", 1, &mut vec![]).unwrap();
        assert_eq!(pa, pb);
        assert_eq!(rels(&pa), ["a", "a/z", "b", "bin/n"]);
        assert_eq!(total_bytes(&pa), 21);
    }
}
