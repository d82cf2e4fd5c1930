//! Reading a release package (`.tar.gz`, or a plain tar as erl_tar also reads it), and
//! writing the copy release_handler unpacks when the package carries files that would
//! overwrite the running release.
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

/// What the checks need from a package, read in one pass.
#[derive(Debug, Default)]
pub(crate) struct Package {
    /// Every entry's name, as stored.
    pub entries: Vec<String>,
    /// Contents of the entries `wanted` asked for.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The entries' sizes added up (what was inflated, headers aside).
    pub bytes: u64,
    /// Entries written to the copy, when one was asked for.
    pub kept: usize,
}

impl Package {
    #[cfg(test)]
    pub(crate) fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|e| e.trim_end_matches('/') == name)
    }
    /// Whether any entry lies under `dir/`.
    pub(crate) fn has_dir(&self, dir: &str) -> bool {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.entries.iter().any(|e| e.starts_with(&prefix))
    }
    /// The first entry stored with a `./` (or `/`) prefix.
    pub(crate) fn prefixed_entry(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.starts_with("./") || e.starts_with('/'))
            .map(String::as_str)
    }
}

/// The copy release_handler may unpack instead of the package: the entries `keep` accepts,
/// as a plain tar (release_handler opens it with erl_tar's `compressed` option, which reads
/// an uncompressed tar as well), written to `path` while the package is read. Nothing is
/// compressed again, so the copy costs about a copy.
pub(crate) struct CopyTo<'a> {
    pub path: &'a Path,
    pub keep: &'a dyn Fn(&str) -> bool,
}

/// The most one wanted file may hold (sys.config, relup, .rel are small).
const MAX_WANTED: u64 = 64 << 20;

fn open(path: &Path) -> Result<Box<dyn Read>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let gz = {
        use std::io::BufRead;
        let head = reader.fill_buf().map_err(|e| e.to_string())?;
        head.starts_with(&[0x1f, 0x8b])
    };
    Ok(if gz {
        Box::new(flate2::read::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Lists the package's entries and keeps the contents of those `wanted` accepts, in one
/// pass; with `copy`, writes the copy along the way (removed again when reading fails).
pub(crate) fn read(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    copy: Option<CopyTo>,
) -> Result<Package, String> {
    let mut builder = match &copy {
        Some(c) => {
            let file =
                std::fs::File::create(c.path).map_err(|e| format!("{}: {e}", c.path.display()))?;
            Some(tar::Builder::new(BufWriter::with_capacity(1 << 16, file)))
        }
        None => None,
    };
    let result = scan(
        path,
        wanted,
        copy.as_ref().map(|c| c.keep),
        builder.as_mut(),
    )
    .and_then(|pkg| {
        if let Some(b) = builder.take() {
            b.into_inner()
                .and_then(|mut w| w.flush())
                .map_err(|e| e.to_string())?;
        }
        Ok(pkg)
    });
    if result.is_err()
        && let Some(c) = &copy
    {
        drop(builder);
        let _ = std::fs::remove_file(c.path);
    }
    result
}

type Copier = tar::Builder<BufWriter<std::fs::File>>;

fn scan(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    keep: Option<&dyn Fn(&str) -> bool>,
    mut copy: Option<&mut Copier>,
) -> Result<Package, String> {
    let mut archive = tar::Archive::new(open(path)?);
    let mut out = Package::default();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        out.bytes += entry.size();
        if wanted(&name) {
            if entry.size() > MAX_WANTED {
                return Err(format!("{name} is larger than {MAX_WANTED} bytes"));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{name}: {e}"))?;
            if let (Some(b), Some(keep)) = (copy.as_deref_mut(), keep)
                && keep(&name)
                && append(b, &entry, &name, &mut bytes.as_slice())?
            {
                out.kept += 1;
            }
            out.files.insert(name.clone(), bytes);
        } else if let (Some(b), Some(keep)) = (copy.as_deref_mut(), keep)
            && keep(&name)
        {
            let header = entry.header().clone();
            let link = entry
                .link_name()
                .map_err(|e| e.to_string())?
                .map(|l| l.into_owned());
            if append_parts(b, header, link, &name, &mut entry)? {
                out.kept += 1;
            }
        }
        out.entries.push(name);
    }
    Ok(out)
}

/// One entry into the copy (its data already read); false for kinds the copy leaves out.
fn append<R: Read>(
    b: &mut Copier,
    entry: &tar::Entry<R>,
    name: &str,
    data: &mut dyn Read,
) -> Result<bool, String> {
    let link = entry
        .link_name()
        .map_err(|e| e.to_string())?
        .map(|l| l.into_owned());
    append_parts(b, entry.header().clone(), link, name, data)
}

/// Files and directories with their data, links with their target; other kinds are left
/// out (false).
fn append_parts(
    b: &mut Copier,
    mut header: tar::Header,
    link: Option<std::path::PathBuf>,
    name: &str,
    data: &mut dyn Read,
) -> Result<bool, String> {
    let kind = header.entry_type();
    if kind.is_symlink() || kind.is_hard_link() {
        let target = link.ok_or_else(|| format!("{name}: link without a target"))?;
        b.append_link(&mut header, name, target)
            .map_err(|e| e.to_string())?;
    } else if kind.is_file() || kind.is_dir() {
        b.append_data(&mut header, name, data)
            .map_err(|e| e.to_string())?;
    } else {
        return Ok(false);
    }
    Ok(true)
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A .tar.gz with these (name, contents) entries.
    pub(crate) fn make(path: &Path, files: &[(&str, &str)]) {
        let file = std::fs::File::create(path).unwrap();
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // set_path refuses `./`: write the raw name as packers do
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, text.as_bytes()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn reads_entries_and_wanted_files_and_filters() {
        let dir = crate::test_support::scratch("tarball");
        let pkg = dir.join("demo-0.2.0.tar.gz");
        make(
            &pkg,
            &[
                ("lib/demo-0.2.0/ebin/demo.app", "{application,demo,[]}."),
                ("releases/0.2.0/demo.rel", "{release,x}."),
                ("bin/demo", "#!/bin/sh"),
            ],
        );
        let p = read(&pkg, &|n| n.ends_with(".rel"), None).unwrap();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.files["releases/0.2.0/demo.rel"], b"{release,x}.");
        assert!(p.has_dir("lib/demo-0.2.0/ebin") && p.has("bin/demo"));
        assert_eq!(p.prefixed_entry(), None);
        assert_eq!((p.bytes, p.kept), (43, 0));
        // one pass: the wanted files and the copy without bin/
        let out = dir.join("demo.tar");
        let keep = |n: &str| !n.starts_with("bin/");
        let copy = CopyTo {
            path: &out,
            keep: &keep,
        };
        let p = read(&pkg, &|n| n.ends_with(".rel"), Some(copy)).unwrap();
        assert_eq!((p.entries.len(), p.kept), (3, 2));
        assert_eq!(p.files["releases/0.2.0/demo.rel"], b"{release,x}.");
        let q = read(&out, &|_| true, None).unwrap();
        assert_eq!(
            q.entries,
            vec!["lib/demo-0.2.0/ebin/demo.app", "releases/0.2.0/demo.rel"]
        );
        assert_eq!(
            q.files["lib/demo-0.2.0/ebin/demo.app"],
            b"{application,demo,[]}."
        );
        // a failed read leaves no copy behind
        let copy = CopyTo {
            path: &out,
            keep: &keep,
        };
        assert!(read(&dir.join("missing"), &|_| false, Some(copy)).is_err());
        assert!(!out.exists());
        make(&pkg, &[("./releases/0.2.0/demo.rel", "x")]);
        let p = read(&pkg, &|_| false, None).unwrap();
        assert_eq!(p.prefixed_entry(), Some("./releases/0.2.0/demo.rel"));
        // a damaged package is an error, not a short listing
        let bytes = std::fs::read(&pkg).unwrap();
        std::fs::write(&pkg, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&pkg, &|_| false, None).is_err());
    }
}
