//! Honouring `releases/VSN/env.sh` with the script's semantics.
//!
//! The script *sources* env.sh under `set -e`, with its own positional parameters, so env.sh
//! sees `"$@"`, may `exit`, and may assign `RELEASE_*` variables without exporting them. We
//! run `/bin/sh` to source it, then have the shell `exec` this very binary in a dump mode that
//! writes its (exported) environment and the shell values of the `RELEASE_*` variables to a
//! pipe — exact bytes, no parsing of shell output, no external tools.
//!
//! When env.sh holds nothing but comments and blank lines (the default) no shell is started.
use crate::environment::EnvMap;
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The variables the script reads after sourcing env.sh, exported or not.
pub const SHELL_VARS: &[&str] = &[
    "RELEASE_ROOT",
    "RELEASE_NAME",
    "RELEASE_VSN",
    "RELEASE_PROG",
    "RELEASE_COOKIE",
    "RELEASE_MODE",
    "RELEASE_NODE",
    "RELEASE_TMP",
    "RELEASE_VM_ARGS",
    "RELEASE_REMOTE_VM_ARGS",
    "RELEASE_DISTRIBUTION",
    "RELEASE_BOOT_SCRIPT",
    "RELEASE_BOOT_SCRIPT_CLEAN",
    "RELEASE_SYS_CONFIG",
];

/// Set (to the pipe's fd number) only on the exec from the env.sh shell back into beamrc.
pub const DUMP_MARKER: &str = "__BEAMRC_ENV_DUMP_FD";
const DUMP_FD: i32 = 9;

/// True when the file has no commands: only blank lines and `#` comments.
pub fn is_inert(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').all(|line| {
        let t = line.trim_ascii();
        t.is_empty() || t.starts_with(b"#")
    })
}

/// What sourcing env.sh left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    /// The exported environment after env.sh.
    pub env: EnvMap,
    /// Shell values (exported or not) of `SHELL_VARS` that were set.
    pub shell: EnvMap,
}

impl Sourced {
    /// The environment the rest of the script sees: exported values, overridden by the
    /// shell's own values of the `RELEASE_*` variables (which the script exports later).
    pub fn effective(self) -> EnvMap {
        let mut env = self.env;
        for (k, v) in self.shell.iter() {
            env.set(k, v);
        }
        env
    }
}

/// Outcome of running env.sh: either the variables, or env.sh ended the launch itself.
pub enum Outcome {
    Sourced(Sourced),
    Exited(i32),
}

const SCRIPT: &str = r#"set -e
__beamrc_env_sh=$__BEAMRC_ENV_SH; unset __BEAMRC_ENV_SH
__beamrc_self=$__BEAMRC_SELF; unset __BEAMRC_SELF
. "$__beamrc_env_sh"
export __BEAMRC_ENV_DUMP_FD=9
exec "$__beamrc_self" \
"#;

fn dump_script() -> String {
    let mut s = String::from(SCRIPT);
    for var in SHELL_VARS {
        s.push_str(&format!(" \"${{{var}+1}}\" \"${{{var}-}}\""));
    }
    s.push('\n');
    s
}

/// Sources `env_sh` the way the script does and returns what it left. `argv0` and `args`
/// are the release program's own `$0` and arguments.
pub fn source(
    env_sh: &Path,
    self_exe: &Path,
    env: &EnvMap,
    argv0: &OsStr,
    args: &[OsString],
) -> Result<Outcome> {
    let (mut reader, writer) = pipe().map_err(|e| Error::io("cannot create a pipe", e))?;
    let write_fd = writer.fd;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg0("sh")
        .arg("-c")
        .arg(dump_script())
        .arg(argv0)
        .args(args)
        .env_clear()
        .envs(env.iter())
        .env("__BEAMRC_ENV_SH", env_sh)
        .env("__BEAMRC_SELF", self_exe);
    // SAFETY: dup2 is async-signal-safe; only the child's fd table changes.
    unsafe {
        cmd.pre_exec(move || {
            let ok = if write_fd == DUMP_FD {
                libc::fcntl(DUMP_FD, libc::F_SETFD, 0) >= 0
            } else {
                libc::dup2(write_fd, DUMP_FD) >= 0
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("cannot start /bin/sh for env.sh", e))?;
    drop(writer);
    // Read until the dump is complete rather than until EOF: a background process started
    // by env.sh may hold the pipe open for as long as it lives.
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| Error::io("cannot read env.sh results", e))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        if decode_dump(&bytes).is_some() {
            break;
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("cannot wait for env.sh", e))?;
    match decode_dump(&bytes) {
        Some(sourced) if status.success() => Ok(Outcome::Sourced(sourced)),
        // env.sh failed under `set -e`, or called `exit`/`exec` itself: its status is ours.
        _ => Ok(Outcome::Exited(crate::process::exit_code(status))),
    }
}

/// Dump mode (the shell exec'd us with `DUMP_MARKER` set): write env and shell values.
/// Layout: NUL-separated `KEY=VALUE` entries, an empty entry, then the arguments.
pub fn run_dump(args: &[OsString]) -> i32 {
    let fd = std::env::var(DUMP_MARKER)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(DUMP_FD);
    let mut out = Vec::new();
    for (k, v) in std::env::vars_os() {
        if k == DUMP_MARKER {
            continue;
        }
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out.push(0);
    for a in args {
        out.extend_from_slice(a.as_bytes());
        out.push(0);
    }
    // SAFETY: the fd was handed to us by our parent through the shell; we own it now.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    match file.write_all(&out) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Inverse of `run_dump`; `None` until the dump is complete.
pub fn decode_dump(bytes: &[u8]) -> Option<Sourced> {
    // Every field is NUL-terminated, so a complete dump ends with a NUL.
    let mut fields = bytes.strip_suffix(b"\0")?.split(|&b| b == 0);
    let mut env = EnvMap::new();
    for entry in fields.by_ref() {
        if entry.is_empty() {
            break;
        }
        let eq = entry.iter().position(|&b| b == b'=')?;
        env.set(
            OsString::from_vec(entry[..eq].to_vec()),
            OsString::from_vec(entry[eq + 1..].to_vec()),
        );
    }
    let rest: Vec<&[u8]> = fields.collect();
    if rest.len() != 2 * SHELL_VARS.len() {
        return None;
    }
    let mut shell = EnvMap::new();
    for (i, var) in SHELL_VARS.iter().enumerate() {
        let is_set = *rest.get(2 * i)?;
        let value = *rest.get(2 * i + 1)?;
        if is_set == b"1" {
            shell.set(*var, OsString::from_vec(value.to_vec()));
        }
    }
    Some(Sourced { env, shell })
}

struct Fd {
    fd: i32,
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor.
        unsafe { libc::close(self.fd) };
    }
}

fn pipe() -> std::io::Result<(std::fs::File, Fd)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid two-element array; O_CLOEXEC keeps the fds out of other children.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fds[0] is a fresh descriptor we own.
    let reader = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    Ok((reader, Fd { fd: fds[1] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_env_sh_is_inert() {
        let text = b"#!/bin/sh\n\n# Sets and enables heart\n# case $RELEASE_COMMAND in\n#   daemon*)\n#     export ELIXIR_ERL_OPTIONS=\"-heart\"\n\n   # indented comment\n";
        assert!(is_inert(text));
        assert!(!is_inert(b"# c\nexport X=1\n"));
        assert!(is_inert(b""));
    }

    #[test]
    fn dump_round_trip() {
        let mut bytes = b"A=1\0B=x=y\0\0".to_vec();
        for (i, _) in SHELL_VARS.iter().enumerate() {
            if i == 6 {
                bytes.extend_from_slice(b"1\0node\0");
            } else {
                bytes.extend_from_slice(b"\0\0");
            }
        }
        let s = decode_dump(&bytes).unwrap();
        assert_eq!(s.env.get_str("B"), Some("x=y"));
        assert_eq!(s.shell.get_str("RELEASE_NODE"), Some("node"));
        assert_eq!(s.shell.len(), 1);
        assert!(decode_dump(b"A=1\0\0").is_none());
    }
}
