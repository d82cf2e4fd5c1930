//! Reading a release package (`.tar.gz`, or a plain tar as erl_tar also reads it) in one
//! pass: every entry's name and the few files the checks read, and, when asked for, the
//! inflated tar written along the way (the copy release_handler unpacks).
use super::copy::Writer;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
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
    /// Whether the inflated tar was written where `read` was asked to copy it.
    pub copied: bool,
    /// Why the copy could not be written (the package was still read whole).
    pub copy_failed: Option<String>,
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

/// How much is inflated at a time: large enough that the inflater runs its fast path over
/// whole blocks, small enough to stay in the cache.
const CHUNK: usize = 256 << 10;

/// The package's tar stream, in chunks inflated (or read) one at a time; skipped over
/// rather than copied where the checks do not look (`Seek` forward only, all the tar
/// reader asks for); each chunk read to its end goes to the copy's writer, when there is one.
struct Stream {
    source: Box<dyn Read>,
    chunk: Vec<u8>,
    /// The chunk's filled length, and how much of it was consumed.
    len: usize,
    at: usize,
    pos: u64,
    copy: Option<Writer>,
    stop: Stop,
}

/// Set by whoever no longer needs the read: the next chunk is not read.
pub(crate) type Stop = std::sync::Arc<std::sync::atomic::AtomicBool>;

impl Stream {
    /// Makes sure some of the stream is at hand; false at its end.
    fn fill(&mut self) -> std::io::Result<bool> {
        while self.at == self.len {
            if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(std::io::Error::other(
                    "stopped: the read is no longer needed",
                ));
            }
            if let Some(w) = self.copy.as_mut()
                && self.len > 0
            {
                let next = w.reuse().unwrap_or_default();
                w.write(std::mem::replace(&mut self.chunk, next), self.len);
            }
            self.chunk.resize(CHUNK, 0);
            self.len = self.source.read(&mut self.chunk)?;
            self.at = 0;
            if self.len == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn advance(&mut self, n: usize) {
        self.at += n;
        self.pos += n as u64;
    }

    /// Reads what is left (the archive's end blocks and padding), so that a gzip stream's
    /// checksum and length are checked.
    fn finish(&mut self) -> std::io::Result<()> {
        while self.fill()? {
            self.advance(self.len - self.at);
        }
        Ok(())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.len - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.advance(n);
        Ok(n)
    }
}

impl Seek for Stream {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let mut left = match to {
            SeekFrom::Current(n) if n >= 0 => n,
            _ => return Err(std::io::Error::other("the package is read forward only")),
        };
        while left > 0 {
            if !self.fill()? {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let n = (self.len - self.at).min(usize::try_from(left).unwrap_or(usize::MAX));
            self.advance(n);
            left -= n as i64;
        }
        Ok(self.pos)
    }
}

/// What a read is asked to do besides listing: where to copy a gzip package's inflated tar,
/// and the flag that stops it early.
#[derive(Default)]
pub(crate) struct Job<'a> {
    pub copy_to: Option<&'a Path>,
    pub stop: Stop,
}

/// Opens the package, with the copy's writer when there is to be one (a plain tar is not
/// copied); the reason when the copy's file cannot be created.
fn open(path: &Path, job: &Job) -> Result<(Stream, Option<String>), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(CHUNK / 2, file);
    let gz = reader
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&[0x1f, 0x8b]);
    let source: Box<dyn Read> = if gz {
        Box::new(flate2::bufread::GzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let (copy, failed) = match job.copy_to {
        Some(to) if gz => match std::fs::File::create(to) {
            Ok(f) => (Some(Writer::spawn(f)), None),
            Err(e) => (None, Some(e.to_string())),
        },
        _ => (None, None),
    };
    let stream = Stream {
        source,
        chunk: Vec::new(),
        len: 0,
        at: 0,
        pos: 0,
        copy,
        stop: job.stop.clone(),
    };
    Ok((stream, failed))
}

/// Lists the package's entries and keeps the contents of those `wanted` accepts, in one
/// pass over the whole stream (a gzip package's checksum is checked at its end). With
/// `job.copy_to`, a gzip package's inflated tar is written there along the way (`copied`);
/// the file is removed again when reading or writing it fails (`copy_failed` says why).
pub(crate) fn read(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    job: &Job,
) -> Result<Package, String> {
    let result = scan(path, wanted, job);
    if let Some(to) = job.copy_to
        && !result.as_ref().is_ok_and(|p| p.copied)
    {
        let _ = std::fs::remove_file(to);
    }
    result
}

fn scan(path: &Path, wanted: &dyn Fn(&str) -> bool, job: &Job) -> Result<Package, String> {
    let (mut stream, copy_failed) = open(path, job)?;
    let mut out = Package {
        copy_failed,
        ..Package::default()
    };
    for entry in tar::Archive::new(&mut stream)
        .entries_with_seek()
        .map_err(|e| e.to_string())?
    {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        out.bytes = out.bytes.saturating_add(entry.size());
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
    stream.finish().map_err(|e| e.to_string())?;
    if let Some(mut w) = stream.copy.take() {
        match w.finish() {
            Ok(()) => out.copied = true,
            Err(e) => out.copy_failed = Some(e.to_string()),
        }
    }
    Ok(out)
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

    fn to(path: &Path) -> Job<'_> {
        Job {
            copy_to: Some(path),
            ..Job::default()
        }
    }

    #[test]
    fn reads_entries_and_wanted_files_in_one_pass() {
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
        let p = read(&pkg, &|n| n.ends_with(".rel"), &Job::default()).unwrap();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.files["releases/0.2.0/demo.rel"], b"{release,x}.");
        assert!(p.has_dir("lib/demo-0.2.0/ebin") && p.has("bin/demo"));
        assert_eq!(p.prefixed_entry(), None);
        assert_eq!(p.bytes, 43);
        assert!(read(&dir.join("missing"), &|_| false, &Job::default()).is_err());
        // a plain tar reads as well (what erl_tar's `compressed` option also accepts)
        let plain = dir.join("demo.tar");
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(&pkg).unwrap());
        std::io::copy(&mut gz, &mut std::fs::File::create(&plain).unwrap()).unwrap();
        let q = read(&plain, &|_| true, &Job::default()).unwrap();
        assert_eq!(q.entries, p.entries);
        assert_eq!(q.files["bin/demo"], b"#!/bin/sh");
        // the copy: the inflated tar, byte for byte; a plain tar is not copied
        let copy = dir.join("copy.tar");
        assert!(read(&pkg, &|_| false, &to(&copy)).unwrap().copied);
        assert_eq!(
            std::fs::read(&copy).unwrap(),
            std::fs::read(&plain).unwrap()
        );
        assert!(!read(&plain, &|_| false, &to(&copy)).unwrap().copied);
        assert!(!copy.exists());
        // a wrong checksum at the end is an error, not a listing
        let mut bytes = std::fs::read(&pkg).unwrap();
        let at = bytes.len() - 8;
        bytes[at] ^= 0xff;
        std::fs::write(&pkg, &bytes).unwrap();
        let err = read(&pkg, &|_| false, &to(&copy)).unwrap_err();
        assert!(err.contains("checksum"), "{err}");
        assert!(!copy.exists(), "a failed read leaves no copy");
        // a copy that cannot be written: the package is still read, the reason is kept
        make(&pkg, &[("releases/0.2.0/demo.rel", "x")]);
        let p = read(&pkg, &|_| false, &to(&dir.join("no/such/dir/copy"))).unwrap();
        assert!(!p.copied && p.copy_failed.is_some());
        // a read no longer needed stops
        let stop = Job {
            stop: Stop::new(true.into()),
            ..Job::default()
        };
        assert!(
            read(&pkg, &|_| false, &stop)
                .unwrap_err()
                .contains("stopped")
        );
        make(&pkg, &[("./releases/0.2.0/demo.rel", "x")]);
        let p = read(&pkg, &|_| false, &Job::default()).unwrap();
        assert_eq!(p.prefixed_entry(), Some("./releases/0.2.0/demo.rel"));
        // a damaged package is an error, not a short listing
        let bytes = std::fs::read(&pkg).unwrap();
        std::fs::write(&pkg, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read(&pkg, &|_| false, &Job::default()).is_err());
    }
}
