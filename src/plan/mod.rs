//! The launch plan per command: pure computation of what to run, with which argv and env.
//!
//! Nothing here touches the system; `process` carries a plan out and `cli` prints it on a
//! dry run.
use crate::environment::EnvMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// A program to run: `execve(program, argv, env)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The file to execute; a bare name is looked up in `PATH` of `env`.
    pub program: PathBuf,
    /// The full argv, argv[0] included.
    pub argv: Vec<OsString>,
    /// The complete environment of the new program (not a diff).
    pub env: EnvMap,
}

/// A file the plan needs written before it runs (under `RELEASE_TMP`, never the release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepare {
    /// `mkdir -p`.
    CreateDir(PathBuf),
    /// Write `contents` to `path` through a temp file + rename, with `mode`.
    WriteFile {
        path: PathBuf,
        contents: Vec<u8>,
        mode: u32,
    },
}
