//! Honouring `releases/VSN/env.sh` with the script's semantics.
//!
//! The script *sources* env.sh under `set -e`, with its own positional parameters, so env.sh
//! sees `"$@"`, may `exit`, and may assign `RELEASE_*` variables without exporting them. We
//! run `/bin/sh` to source it, then have the shell `exec` this very binary in a dump mode that
//! writes its (exported) environment and the shell values of the `RELEASE_*` variables to a
//! pipe — exact bytes, no parsing of shell output, no external tools.
//!
//! Nothing secret is put on a command line: the shell values (the cookie among them) reach the
//! dump through its environment (`__BEAMRC_SHELL_NAME`, readable only by the same user, like
//! the exported variables next to them), never through argv, which every user can read in
//! `/proc/PID/cmdline` and `ps`.
//!
//! The shell runs in a process group of its own ([`crate::process::group`]): a SIGTERM (or any
//! signal that would end us) while env.sh runs goes to the whole group, and we exit 128 + N
//! once it is gone, leaving nothing behind.
//!
//! When env.sh holds nothing but comments and blank lines (the default) no shell is started.
use crate::environment::EnvMap;
use crate::process::group::{Event, Group};
use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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
/// Prefix of the variables that carry the shell values to the dump: `1VALUE` when set, empty
/// when unset.
const SHELL_PREFIX: &str = "__BEAMRC_SHELL_";

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

// `trap - EXIT`: the script execs the VM, so an EXIT trap env.sh sets never runs; the shell
// here exits after the dump instead, so the trap is dropped first.
const SCRIPT: &str = r#"set -e
__beamrc_env_sh=$__BEAMRC_ENV_SH; unset __BEAMRC_ENV_SH
__beamrc_self=$__BEAMRC_SELF; unset __BEAMRC_SELF
. "$__beamrc_env_sh"
trap - EXIT
export __BEAMRC_ENV_DUMP_FD=9
"#;

fn dump_script() -> String {
    let mut s = String::from(SCRIPT);
    for var in SHELL_VARS {
        s.push_str(&format!(
            "export {SHELL_PREFIX}{var}=\"${{{var}+1}}${{{var}-}}\"\n"
        ));
    }
    // Not `exec`: when the kernel refuses the environment env.sh left (E2BIG), the shell is
    // still there to say which variables it holds (`export -p`, a builtin: no exec needed).
    s.push_str("\"$__beamrc_self\" 2>/dev/null && exit 0\n__beamrc_status=$?\n");
    s.push_str(&format!(
        "printf '%s %s\\n' '{FAILED}' \"$__beamrc_status\" >&9\n"
    ));
    s.push_str("export -p >&9\nexit \"$__beamrc_status\"\n");
    s
}

/// First line the shell writes when it could not run the dump (then `export -p` follows).
const FAILED: &str = "#beamrc-dump-failed";

/// The error for a dump the shell could not start, from what the shell wrote instead; `None`
/// when `bytes` is not such a report.
fn dump_failure(env_sh: &Path, bytes: &[u8]) -> Option<Error> {
    let rest = bytes.strip_prefix(FAILED.as_bytes())?.strip_prefix(b" ")?;
    let newline = rest.iter().position(|&b| b == b'\n')?;
    let status: i32 = std::str::from_utf8(&rest[..newline])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let items = exported_sizes(&rest[newline + 1..]);
    let cause = crate::process::exec::too_long_text(items);
    let what = if cause.contains("over the kernel's limit") || status == 126 && !cause.is_empty() {
        cause
    } else {
        format!("status {status}")
    };
    Some(Error::message(
        126,
        format!(
            "ERROR: cannot pass on the environment {} left: {what}",
            env_sh.display()
        ),
    ))
}

/// Names and approximate sizes (`NAME=value` with its NUL) of the variables in `export -p`
/// output (`export NAME='v'` in dash and ash, `declare -x NAME="v"` in bash): an entry runs to
/// the next line that starts another. Only for naming the largest in an error.
fn exported_sizes(text: &[u8]) -> Vec<(String, usize)> {
    let mut items: Vec<(String, usize)> = Vec::new();
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    for line in text.split(|&b| b == b'\n') {
        let decl = line
            .strip_prefix(b"export ")
            .or_else(|| line.strip_prefix(b"declare -x "));
        let name = decl.and_then(|d| {
            let end = d
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
                .unwrap_or(d.len());
            let ok = end > 0 && !d[0].is_ascii_digit() && matches!(d.get(end), None | Some(b'='));
            ok.then(|| String::from_utf8_lossy(&d[..end]).into_owned())
        });
        match (name, items.last_mut()) {
            (Some(name), _) => {
                let value = line.len() - line.iter().position(|&b| b == b'=').unwrap_or(line.len());
                items.push((format!("variable {name}"), name.len() + value + 1));
            }
            (None, Some(last)) => last.1 += line.len() + 1,
            (None, None) => {}
        }
    }
    items
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
    let write_fd = writer.as_raw_fd();
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
    let mut group =
        Group::spawn(&mut cmd).map_err(|e| Error::io("cannot start /bin/sh for env.sh", e))?;
    drop(writer);
    set_nonblocking(&reader).map_err(|e| Error::io("cannot read env.sh results", e))?;
    // Read until the dump is complete, or the shell is gone, rather than until EOF: a
    // background process started by env.sh may hold the pipe open for as long as it lives.
    let mut bytes = Vec::new();
    let mut reading = true;
    let status = loop {
        let fd = reading.then(|| reader.as_fd());
        match group
            .next(fd)
            .map_err(|e| Error::io("cannot wait for env.sh", e))?
        {
            Event::Readable => reading = drain(&mut reader, &mut bytes)?,
            Event::Exited(status) => {
                if reading {
                    drain(&mut reader, &mut bytes)?;
                }
                break status;
            }
            Event::Stopped(code) => return Err(Error::Exit(code)),
        }
    };
    drop(group);
    if let Some(err) = dump_failure(env_sh, &bytes) {
        return Err(err);
    }
    match decode_dump(&bytes) {
        Some(sourced) if status.success() => Ok(Outcome::Sourced(sourced)),
        // env.sh failed under `set -e`, or called `exit`/`exec` itself: its status is ours.
        _ => Ok(Outcome::Exited(crate::process::exit_code(status))),
    }
}

/// Read what the pipe holds now; whether to keep reading (no EOF and the dump incomplete).
fn drain(reader: &mut std::fs::File, bytes: &mut Vec<u8>) -> Result<bool> {
    let mut chunk = [0u8; 16384];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if decode_dump(bytes).is_some() {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read env.sh results", e)),
        }
    }
}

fn set_nonblocking(file: &std::fs::File) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(file.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(
        file.as_raw_fd(),
        FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

/// Dump mode (the shell exec'd us with `DUMP_MARKER` set): write env and shell values.
/// Layout: NUL-separated `KEY=VALUE` entries, an empty entry, then for each of
/// `SHELL_VARS` a set flag (`1` or empty) and the value.
pub fn run_dump() -> i32 {
    let fd = std::env::var(DUMP_MARKER)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(DUMP_FD);
    let mut out = Vec::new();
    let mut shell = EnvMap::new();
    for (k, v) in std::env::vars_os() {
        if k == DUMP_MARKER {
            continue;
        }
        if let Some(var) = k.to_str().and_then(|k| k.strip_prefix(SHELL_PREFIX)) {
            shell.set(var, v);
            continue;
        }
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out.push(0);
    for var in SHELL_VARS {
        // "1VALUE" when set, "" when unset (see `dump_script`).
        match shell.get(var).map(OsStr::as_bytes) {
            Some([b'1', value @ ..]) => {
                out.extend_from_slice(b"1\0");
                out.extend_from_slice(value);
            }
            _ => out.push(0),
        }
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

fn pipe() -> std::io::Result<(std::fs::File, OwnedFd)> {
    // O_CLOEXEC keeps both ends out of other children; the shell gets the write end as fd 9.
    let (reader, writer) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((std::fs::File::from(reader), writer))
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
    fn a_failed_dump_names_the_largest_export() {
        let huge = "x".repeat(200_000);
        let text = format!(
            "{FAILED} 126\nexport HOME='/root'\nexport HUGE='{huge}\nsecond line'\nexport PATH='/bin'\n"
        );
        let err = dump_failure(Path::new("/r/env.sh"), text.as_bytes()).unwrap();
        assert_eq!(err.code(), 126);
        let msg = err.line();
        assert!(
            msg.starts_with("ERROR: cannot pass on the environment /r/env.sh left: argument list too long: variable HUGE (195.3 KiB) over"),
            "{msg}"
        );
        assert!(!msg.contains("xxx"), "{msg}");
        let bash = exported_sizes(b"declare -x A=\"1\"\ndeclare -x B\n");
        assert_eq!(
            bash,
            [("variable A".to_string(), 6), ("variable B".to_string(), 2)]
        );
        assert!(dump_failure(Path::new("x"), b"A=1\0\0").is_none());
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
