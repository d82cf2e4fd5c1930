//! Reading a release package (`.tar.gz`, or a plain tar as erl_tar also reads it), and
//! writing the copy release_handler unpacks when the package carries files that would
//! overwrite the running release.
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

/// What the checks need from a package.
#[derive(Debug, Default)]
pub(crate) struct Package {
    /// Every entry's name, as stored.
    pub entries: Vec<String>,
    /// Contents of the entries `wanted` asked for.
    pub files: BTreeMap<String, Vec<u8>>,
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

/// The most one wanted file may hold (sys.config, relup, .rel are small).
const MAX_WANTED: u64 = 64 << 20;

fn open(path: &Path) -> Result<Box<dyn Read>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(file);
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

/// Lists the package's entries and keeps the contents of those `wanted` accepts.
pub(crate) fn read(path: &Path, wanted: &dyn Fn(&str) -> bool) -> Result<Package, String> {
    let mut archive = tar::Archive::new(open(path)?);
    let mut out = Package::default();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if wanted(&name) {
            if entry.size() > MAX_WANTED {
                return Err(format!("{name} is larger than {MAX_WANTED} bytes"));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{name}: {e}"))?;
            out.files.insert(name.clone(), bytes);
        }
        out.entries.push(name);
    }
    Ok(out)
}

/// Copies the entries `keep` accepts from `from` into a plain tar at `to` (release_handler
/// opens it with erl_tar's `compressed` option, which reads a plain tar as well). Written
/// to a temp name and renamed.
pub(crate) fn write_filtered(
    from: &Path,
    to: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> Result<u64, String> {
    let tmp = to.with_extension(format!("beamrc-{}.tmp", std::process::id()));
    let result = (|| -> Result<u64, String> {
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
        let mut archive = tar::Archive::new(open(from)?);
        let mut kept = 0;
        for entry in archive.entries().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if !keep(&name) {
                continue;
            }
            let mut header = entry.header().clone();
            let kind = header.entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{name}: link without a target"))?
                    .into_owned();
                builder
                    .append_link(&mut header, &name, target)
                    .map_err(|e| e.to_string())?;
            } else if kind.is_file() || kind.is_dir() {
                builder
                    .append_data(&mut header, &name, &mut entry)
                    .map_err(|e| e.to_string())?;
            } else {
                continue;
            }
            kept += 1;
        }
        let mut w = builder.into_inner().map_err(|e| e.to_string())?;
        use std::io::Write;
        w.flush().map_err(|e| e.to_string())?;
        Ok(kept)
    })();
    match result {
        Ok(kept) => std::fs::rename(&tmp, to)
            .map(|()| kept)
            .map_err(|e| e.to_string()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
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
        let p = read(&pkg, &|n| n.ends_with(".rel")).unwrap();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.files["releases/0.2.0/demo.rel"], b"{release,x}.");
        assert!(p.has_dir("lib/demo-0.2.0/ebin") && p.has("bin/demo"));
        assert_eq!(p.prefixed_entry(), None);
        let out = dir.join("demo.tar.gz");
        assert_eq!(
            write_filtered(&pkg, &out, &|n| !n.starts_with("bin/")).unwrap(),
            2
        );
        let q = read(&out, &|_| true).unwrap();
        assert_eq!(
            q.entries,
            vec!["lib/demo-0.2.0/ebin/demo.app", "releases/0.2.0/demo.rel"]
        );
        make(&pkg, &[("./releases/0.2.0/demo.rel", "x")]);
        let p = read(&pkg, &|_| false).unwrap();
        assert_eq!(p.prefixed_entry(), Some("./releases/0.2.0/demo.rel"));
        assert!(read(&dir.join("missing"), &|_| false).is_err());
    }
}
