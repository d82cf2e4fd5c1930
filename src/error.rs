//! One error type for the whole program; every variant knows its exit code.
//!
//! Exit codes (documented in the README):
//! 0 ok · 1 command failed (the script's own failures) · 2 release incomplete on disk ·
//! 3 not running (`status`) · 4 configuration error · 5 cannot write a file ·
//! 6 node failed to boot or stop in time · 126/127 program not executable / not found ·
//! any other: the status of `env.sh` or of the remote expression.
use std::fmt;
use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Usage text, with the unknown command if there was one (exit 1) or none (exit 0).
    Usage {
        prog: String,
        unknown: Option<String>,
    },
    /// A failure whose text is already final (for example the script's own messages).
    Message { code: i32, text: String },
    /// The release directory is missing something it needs.
    Release(String),
    /// Bad configuration: substitution, env files, cookie, variables.
    Config(String),
    /// A file could not be written or read.
    Io { what: String, source: io::Error },
    /// exec/spawn of a program failed.
    Exec { program: PathBuf, source: io::Error },
    /// `env.sh` failed or exited; it printed its own output.
    EnvSh { status: i32 },
    /// The node did not come up or go down in time.
    Lifecycle(String),
    /// Silent exit with a code (output, if any, was already written).
    Exit(i32),
}

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage { unknown, .. } => i32::from(unknown.is_some()),
            Error::Message { code, .. } => *code,
            Error::Release(_) => 2,
            Error::Config(_) => 4,
            Error::Io { .. } => 5,
            Error::Exec { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => 127,
                _ => 126,
            },
            Error::EnvSh { status } => *status,
            Error::Lifecycle(_) => 6,
            Error::Exit(code) => *code,
        }
    }

    pub fn message(code: i32, text: impl Into<String>) -> Self {
        Error::Message {
            code,
            text: text.into(),
        }
    }

    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    /// The text written to stderr (without a trailing newline); empty for silent errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The usage text itself is the edge's: it prints it above this line.
            Error::Usage { unknown, .. } => match unknown {
                Some(cmd) => write!(f, "ERROR: Unknown command {cmd}"),
                None => Ok(()),
            },
            Error::Message { text, .. } => f.write_str(text),
            Error::Release(m) | Error::Config(m) | Error::Lifecycle(m) => write!(f, "ERROR: {m}"),
            Error::Io { what, source } => write!(f, "ERROR: {what}: {source}"),
            Error::Exec { program, source } => {
                write!(f, "ERROR: cannot execute {}: {source}", program.display())
            }
            Error::EnvSh { .. } | Error::Exit(_) => Ok(()),
        }
    }
}

impl std::error::Error for Error {}
