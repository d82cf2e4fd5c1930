//! Running a planned program: replace this process (`exec`), or start it as a child (`spawn`).
//!
//! Both go through std's `Command`, which in the child resets the signal mask to empty and
//! `SIGPIPE` (which the Rust runtime ignores) to `SIG_DFL` before `execve`. Other signals that
//! our own parent set to `SIG_IGN` stay ignored, exactly as with the shell script's `exec`
//! (so `nohup bin/app start` keeps working).
//!
//! The program is resolved here, against the `PATH` of the *new* environment, so the error
//! names what was looked up and 127/126 come out as a shell would report them.
use crate::environment::EnvMap;
use crate::plan::ExecSpec;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The search path when the new environment has no `PATH` (what a POSIX shell falls back to).
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Replace this process (keeps the PID). Returns only on failure.
pub fn exec(spec: &ExecSpec) -> crate::Error {
    let err = match command(spec) {
        Ok(mut cmd) => cmd.exec(),
        Err(e) => e,
    };
    exec_error(spec, err)
}

/// [`exec`] after dropping to `credentials` (`BEAMRC_USER`), in the last step before execve.
pub fn exec_as(
    spec: &ExecSpec,
    credentials: Option<&crate::process::user::Credentials>,
) -> crate::Error {
    let Some(c) = credentials.cloned() else {
        return exec(spec);
    };
    let err = match command(spec) {
        Ok(mut cmd) => {
            // SAFETY: `apply` makes only async-signal-safe raw calls on prepared memory.
            unsafe {
                cmd.pre_exec(move || match c.apply() {
                    0 => Ok(()),
                    errno => Err(io::Error::from_raw_os_error(errno)),
                });
            }
            cmd.exec()
        }
        Err(e) => e,
    };
    exec_error(spec, err)
}

/// Start the program as a child, with the same clean signal state as [`exec`] and inherited
/// stdio (use [`command`] to redirect it).
pub fn spawn(spec: &ExecSpec) -> io::Result<Child> {
    command(spec)?.spawn()
}

/// The `Command` for a spec: resolved program, `argv[0]` kept, the environment replaced.
pub fn command(spec: &ExecSpec) -> io::Result<Command> {
    let program = resolve(&spec.program, &spec.env)?;
    let mut cmd = Command::new(&program);
    match spec.argv.split_first() {
        Some((arg0, rest)) => {
            cmd.arg0(arg0).args(rest);
        }
        None => {
            cmd.arg0(spec.program.as_os_str());
        }
    }
    cmd.env_clear().envs(spec.env.iter());
    Ok(cmd)
}

/// The error for a failed exec/spawn of `spec`. E2BIG names the strings that made it so.
pub(crate) fn exec_error(spec: &ExecSpec, source: io::Error) -> crate::Error {
    let source = match source.raw_os_error() {
        Some(libc::E2BIG) => too_long(spec),
        _ => source,
    };
    crate::Error::Exec {
        program: spec.program.clone(),
        source,
    }
}

/// The kernel's limit for one argument or one `NAME=value` (MAX_ARG_STRLEN, 32 pages).
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// "argument list too long", naming (never showing) the largest variables and arguments.
fn too_long(spec: &ExecSpec) -> io::Error {
    let env = spec.env.iter().map(|(k, v)| {
        let name = format!("variable {}", k.to_string_lossy());
        (name, k.len() + 1 + v.len() + 1)
    });
    let argv = spec
        .argv
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("argument {i}"), a.len() + 1));
    io::Error::new(
        io::ErrorKind::ArgumentListTooLong,
        too_long_text(env.chain(argv).collect()),
    )
}

/// The explanation of an E2BIG for strings named and sized (bytes with their NUL): those
/// over the per-string limit, or else the total and the three largest.
pub(crate) fn too_long_text(mut items: Vec<(String, usize)>) -> String {
    // execve also counts a pointer per string.
    let ptr = std::mem::size_of::<usize>();
    let total: usize = items.iter().map(|(_, n)| n + ptr).sum();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kib = |n: usize| format!("{:.1} KiB", n as f64 / 1024.0);
    let named = |list: &[(String, usize)]| -> String {
        list.iter()
            .map(|(name, n)| format!("{name} ({})", kib(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let over: Vec<(String, usize)> = items
        .iter()
        .filter(|(_, n)| *n > MAX_ARG_STRLEN)
        .cloned()
        .collect();
    if over.is_empty() {
        let limit = nix::unistd::sysconf(nix::unistd::SysconfVar::ARG_MAX)
            .ok()
            .flatten()
            .map(|n| kib(n as usize))
            .unwrap_or_else(|| "?".into());
        format!(
            "argument list too long: arguments and environment take {} of the kernel's {limit}; largest: {}",
            kib(total),
            named(&items[..items.len().min(3)])
        )
    } else {
        format!(
            "argument list too long: {} over the kernel's limit of {} for one variable or argument",
            named(&over),
            kib(MAX_ARG_STRLEN)
        )
    }
}

/// Find the file to execute: a name containing `/` is used as is; a bare name is searched in
/// the `PATH` of `env` (empty entries mean the current directory), like `execvp`.
/// Not found → `NotFound` (127); found but not executable → `PermissionDenied` (126).
pub fn resolve(program: &Path, env: &EnvMap) -> io::Result<PathBuf> {
    let bytes = program.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "empty program name",
        ));
    }
    if bytes.contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = env
        .get("PATH")
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| OsString::from(DEFAULT_PATH));
    let mut denied = false;
    for dir in path.as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                if meta.permissions().mode() & 0o111 != 0 && access_x(&candidate) {
                    return Ok(candidate);
                }
                denied = true;
            }
            _ => {}
        }
    }
    if denied {
        Err(io::Error::from_raw_os_error(libc::EACCES))
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("not found in PATH ({})", path.to_string_lossy()),
        ))
    }
}

fn access_x(path: &Path) -> bool {
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, argv: &[&str], env: &[(&str, &str)]) -> ExecSpec {
        ExecSpec {
            program: program.into(),
            argv: argv.iter().map(OsString::from).collect(),
            env: env.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    #[test]
    fn resolves_in_the_new_path() {
        let env: EnvMap = [("PATH", "/nonexistent:/bin:/usr/bin")]
            .into_iter()
            .collect();
        let p = resolve(Path::new("sh"), &env).unwrap();
        assert!(p.ends_with("sh") && p.is_absolute(), "{p:?}");
        let err = resolve(Path::new("surely-not-a-program-xyz"), &env).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(exec_error(&spec("x", &[], &[]), err).code(), 127);
        // A path with a slash is taken as is.
        assert_eq!(resolve(Path::new("./x"), &env).unwrap(), Path::new("./x"));
    }

    #[test]
    fn non_executable_is_126() {
        let dir = std::env::temp_dir().join(format!("beamrc-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prog"), "#!/bin/sh\n").unwrap();
        let env: EnvMap = [("PATH", dir.as_os_str())].into_iter().collect();
        let err = resolve(Path::new("prog"), &env).unwrap_err();
        assert_eq!(exec_error(&spec("prog", &[], &[]), err).code(), 126);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spawn_passes_argv0_and_exact_env() {
        let s = spec(
            "sh",
            &[
                "my-arg0",
                "-c",
                "printf '%s|%s|%s' \"$0\" \"$FOO\" \"${HOME-unset}\"",
            ],
            &[("PATH", "/usr/bin:/bin"), ("FOO", "bar")],
        );
        let out = command(&s).unwrap().output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "my-arg0|bar|unset");
    }

    #[test]
    fn child_has_clean_signal_state() {
        // SigBlk and SigIgn of the child: empty mask, SIGPIPE (bit 13) not ignored.
        let s = spec(
            "sh",
            &["sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"],
            &[("PATH", "/usr/bin:/bin")],
        );
        let out = command(&s).unwrap().output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            let hex = line.split_whitespace().nth(1).unwrap();
            let bits = u64::from_str_radix(hex, 16).unwrap();
            if line.starts_with("SigBlk") {
                assert_eq!(bits, 0, "{text}");
            } else {
                assert_eq!(bits & (1 << (libc::SIGPIPE - 1)), 0, "{text}");
            }
        }
    }

    #[test]
    fn too_long_names_the_culprit_never_the_value() {
        let huge = "x".repeat(MAX_ARG_STRLEN + 1);
        let s = spec(
            "/bin/true",
            &["true", "-setcookie", "the-cookie"],
            &[("HUGE", huge.as_str()), ("PATH", "/bin")],
        );
        let err = exec_error(&s, io::Error::from_raw_os_error(libc::E2BIG));
        assert_eq!(err.code(), 126);
        let text = err.line();
        assert!(
            text.starts_with(
                "ERROR: cannot execute /bin/true: argument list too long: variable HUGE (128.0 KiB) over"
            ),
            "{text}"
        );
        assert!(
            !text.contains("xxx") && !text.contains("the-cookie"),
            "{text}"
        );
        // Nothing over the per-string limit: the total and the three largest.
        let big = "y".repeat(100_000);
        let s = spec(
            "/bin/true",
            &["true", big.as_str(), "the-cookie"],
            &[("A", big.as_str()), ("B", "b"), ("C", "c")],
        );
        let text = exec_error(&s, io::Error::from_raw_os_error(libc::E2BIG)).line();
        assert!(
            text.contains("largest: variable A (97.7 KiB), argument 1 (97.7 KiB), "),
            "{text}"
        );
        assert!(
            !text.contains("yyy") && !text.contains("the-cookie"),
            "{text}"
        );
    }

    #[test]
    fn exec_failure_returns_error() {
        let s = spec("/nonexistent/prog", &["prog"], &[]);
        let err = exec(&s);
        assert_eq!(err.code(), 127);
        assert!(err.to_string().contains("/nonexistent/prog"));
    }
}
