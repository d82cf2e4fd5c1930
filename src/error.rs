//! One error type for the whole program. Every variant says what failed (with the path
//! where there is one), and `code` is the one place exit codes are assigned — the README's
//! table is this function:
//!
//! 0 ok · 1 command failed (the script's own failures, runtime config not writable) ·
//! 2 release incomplete on disk · 3 not running (`status`) · 4 configuration error ·
//! 5 a file could not be read, written or created · 6 node failed to boot or stop in time ·
//! 126/127 program not executable / not found · any other: the status of `env.sh`, of the
//! VM or of the remote expression.
//!
//! `Display` is the text after the prefix; the edge writes `ERROR: ` (see `prefix`) and the
//! text, once, in one place.
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// Usage text, with the unknown command if there was one (exit 1) or none (exit 0).
    Usage {
        prog: String,
        unknown: Option<String>,
    },
    /// A failure whose text is already final, prefix included (the script's own messages).
    Message { code: i32, text: String },
    /// A named check refused the command before any change (`check` is its stable id,
    /// `hint` the part of `text` that says what to do).
    Refused {
        check: &'static str,
        code: i32,
        text: String,
        hint: Option<String>,
    },
    /// The release directory is missing something it needs.
    Release(String),
    /// Bad configuration: substitution, env files, cookie, `BEAMRC_*` switches.
    Config(String),
    /// A file could not be read.
    Read { path: PathBuf, source: io::Error },
    /// A file could not be written.
    Write { path: PathBuf, source: io::Error },
    /// A directory (or pipe, or other file) could not be created.
    Create { path: PathBuf, source: io::Error },
    /// Another operating-system failure, described by `what` ("cannot start /bin/sh …").
    Io { what: String, source: io::Error },
    /// The runtime copy of sys.config could not be written (the script's text, exit 1).
    RuntimeConfig { path: PathBuf, source: io::Error },
    /// exec/spawn of a program failed.
    Exec { program: PathBuf, source: io::Error },
    /// `env.sh` failed or exited with this status; it printed its own output.
    ScriptStatus(i32),
    /// The node did not come up or go down in time.
    Lifecycle(String),
    /// Silent exit with a code (output, if any, was already written).
    Exit(i32),
}

impl Error {
    /// The exit code: the one place they are assigned.
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage { unknown, .. } => i32::from(unknown.is_some()),
            Error::Message { code, .. } | Error::Refused { code, .. } => *code,
            Error::Release(_) => 2,
            Error::Config(_) => 4,
            Error::Read { .. } | Error::Write { .. } | Error::Create { .. } | Error::Io { .. } => 5,
            Error::RuntimeConfig { .. } => 1,
            Error::Exec { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => 127,
                _ => 126,
            },
            Error::ScriptStatus(status) | Error::Exit(status) => *status,
            Error::Lifecycle(_) => 6,
        }
    }

    /// The prefix the edge writes in front of the text: `ERROR: `, or nothing for texts
    /// that are final (the script's messages) or silent.
    pub fn prefix(&self) -> &'static str {
        match self {
            Error::Message { .. }
            | Error::Usage { unknown: None, .. }
            | Error::ScriptStatus(_)
            | Error::Exit(_) => "",
            _ => "ERROR: ",
        }
    }

    /// The whole line(s) as written to stderr: prefix and text.
    pub fn line(&self) -> String {
        let text = self.to_string();
        if text.is_empty() {
            text
        } else {
            format!("{}{text}", self.prefix())
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

    pub fn read(path: &Path, source: io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn write(path: &Path, source: io::Error) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn create(path: &Path, source: io::Error) -> Self {
        Error::Create {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The one `WARNING:` line: every layer warns through this.
pub fn warn(text: impl fmt::Display) {
    eprintln!("WARNING: {text}");
}

impl fmt::Display for Error {
    /// The text after the prefix (no trailing newline); empty for silent errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The usage text itself is the edge's: it prints it above this line.
            Error::Usage { unknown, .. } => match unknown {
                Some(cmd) => write!(f, "Unknown command {cmd}"),
                None => Ok(()),
            },
            Error::Message { text, .. } | Error::Refused { text, .. } => f.write_str(text),
            Error::Release(m) | Error::Config(m) | Error::Lifecycle(m) => f.write_str(strip(m)),
            Error::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Error::Write { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            Error::Create { path, source } => {
                write!(f, "cannot create {}: {source}", path.display())
            }
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::RuntimeConfig { path, source } => write!(
                f,
                "Cannot start release because it could not write {} ({source})",
                path.display()
            ),
            Error::Exec { program, source } => {
                write!(f, "cannot execute {}: {source}", program.display())
            }
            Error::ScriptStatus(_) | Error::Exit(_) => Ok(()),
        }
    }
}

/// Texts built before the prefix moved here may still carry it; it is written once.
fn strip(text: &str) -> &str {
    text.strip_prefix("ERROR: ").unwrap_or(text)
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prefix_and_the_documented_codes() {
        let e = Error::read(Path::new("/x"), io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(e.code(), 5);
        assert!(
            e.line().starts_with("ERROR: cannot read /x: "),
            "{}",
            e.line()
        );
        let e = Error::RuntimeConfig {
            path: "/t/a.config".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(e.code(), 1);
        assert!(
            e.line()
                .starts_with("ERROR: Cannot start release because it could not write /t/a.config")
        );
        assert_eq!(Error::Config("ERROR: x".into()).line(), "ERROR: x");
        assert_eq!(Error::message(1, "ERROR: RPC x").line(), "ERROR: RPC x");
        assert_eq!(Error::ScriptStatus(3).line(), "");
        assert_eq!(
            Error::Usage {
                prog: "p".into(),
                unknown: Some("x".into())
            }
            .line(),
            "ERROR: Unknown command x"
        );
    }
}
