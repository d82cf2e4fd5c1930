//! Recording stand-ins for `erlexec`, `run_erl` and (for releases without ERTS) `erl`.
//!
//! Each stand-in is a `#!/bin/sh` script with its record dir baked in. When run it writes
//! `DIR/<ns-timestamp>-<pid>-<program>.argv` (its argv, NUL-terminated, argv[0] included)
//! and `.env` (a verbatim copy of `/proc/$$/environ`, i.e. exactly the environment it was
//! exec'd with, before dash adds anything such as `PWD`), then exits 0.
//!
//! Caveat: through a `#!` script, argv[0] is the *path the kernel executed*, not whatever
//! argv[0] the caller passed to execve.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Recorder {
    /// Where the records go.
    pub dir: PathBuf,
    /// For releases without ERTS: the directory holding the `erl` and `run_erl` stand-ins,
    /// which must come first on `PATH` ([`TestRelease::cmd`](super::TestRelease::cmd) does
    /// that automatically once recorders are installed).
    pub path_prefix: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// `"erlexec"`, `"run_erl"` or `"erl"`.
    pub program: String,
    /// Full argv; `argv[0]` is the stand-in's path as executed.
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Recorded {
    /// argv without argv[0].
    pub fn args(&self) -> &[String] {
        self.argv.get(1..).unwrap_or(&[])
    }

    pub fn env(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn recorder_script(record_dir: &Path, program: &str) -> String {
    let dir = sh_quote(record_dir.to_str().expect("UTF-8 record dir"));
    format!(
        "#!/bin/sh\n\
         # beamrc test recorder standing in for {program}\n\
         f={dir}/$(date +%s%N)-$$-{program}\n\
         printf '%s\\0' \"$0\" \"$@\" > \"$f.argv.tmp\"\n\
         cat /proc/$$/environ > \"$f.env.tmp\"\n\
         mv \"$f.env.tmp\" \"$f.env\"\n\
         mv \"$f.argv.tmp\" \"$f.argv\"\n\
         exit 0\n"
    )
}

/// Writes `text` as an executable at `path` via a temp file + rename, so a program that is
/// running (ETXTBSY) or hardlinked into the fixture cache is replaced, not modified.
pub fn replace_executable(path: &Path, text: &[u8]) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    std::fs::rename(&tmp, path)
        .unwrap_or_else(|e| panic!("rename {} -> {}: {e}", tmp.display(), path.display()));
}

impl Recorder {
    /// Installs stand-ins named `programs` into `bin_dir`, recording into `record_dir`.
    pub fn install(
        record_dir: &Path,
        bin_dir: &Path,
        programs: &[&str],
        path_prefix: bool,
    ) -> Recorder {
        std::fs::create_dir_all(record_dir).expect("create record dir");
        std::fs::create_dir_all(bin_dir).expect("create recorder bin dir");
        for program in programs {
            replace_executable(
                &bin_dir.join(program),
                recorder_script(record_dir, program).as_bytes(),
            );
        }
        Recorder {
            dir: record_dir.to_path_buf(),
            path_prefix: path_prefix.then(|| bin_dir.to_path_buf()),
        }
    }

    /// Completed record stems (`DIR/<ts>-<pid>-<program>`), oldest first.
    fn stems(&self) -> Vec<PathBuf> {
        let mut stems: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "argv"))
                    .map(|p| p.with_extension(""))
                    .collect()
            })
            .unwrap_or_default();
        stems.sort();
        stems
    }

    pub fn count(&self) -> usize {
        self.stems().len()
    }

    fn read_and_delete(stem: &Path) -> Recorded {
        let argv_path = stem.with_extension("argv");
        let env_path = stem.with_extension("env");
        let argv_raw = std::fs::read(&argv_path).expect("read argv record");
        let env_raw = std::fs::read(&env_path).expect("read env record");
        let _ = std::fs::remove_file(&argv_path);
        let _ = std::fs::remove_file(&env_path);
        let split = |raw: &[u8]| -> Vec<String> {
            raw.split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        };
        // argv elements may legitimately be empty: only drop the final terminator.
        let argv = argv_raw
            .strip_suffix(&[0])
            .unwrap_or(&argv_raw)
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        let env = split(&env_raw)
            .into_iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv, String::new()),
            })
            .collect();
        let name = stem.file_name().unwrap().to_string_lossy();
        let program = name.splitn(3, '-').nth(2).unwrap_or_default().to_string();
        Recorded { program, argv, env }
    }

    /// Reads and deletes the most recent record; panics if there is none.
    #[track_caller]
    pub fn take(&self) -> Recorded {
        match self.stems().pop() {
            Some(stem) => Self::read_and_delete(&stem),
            None => panic!("no recorded invocation in {}", self.dir.display()),
        }
    }

    /// Reads and deletes all records, oldest first.
    pub fn take_all(&self) -> Vec<Recorded> {
        self.stems()
            .iter()
            .map(|s| Self::read_and_delete(s))
            .collect()
    }
}
