//! Shared infrastructure for the launcher integration tests.
//!
//! * [`fixture`] builds (once, cached under the cargo target dir) real releases with the
//!   Elixir found on `PATH`;
//! * [`TestRelease`] is a private copy of one of them in a fresh temp dir, with its own
//!   epmd, its own `HOME`, and a `Drop` that kills every process started from it;
//! * [`Recorder`] swaps `erlexec`/`run_erl` (or `erl`/`run_erl` on `PATH`) for scripts that
//!   record their argv and environment;
//! * [`run_command`]/[`spawn_captured`] run programs with a timeout and capture output.
//!
//! Every helper that starts a process keeps its PID and kills that PID (never by name).
#![allow(dead_code, unused_imports)]

pub mod cleanup;
pub mod epmd;
pub mod fixtures;
pub mod record;
pub mod release;
pub mod relx;
pub mod run;
pub mod upgrade;
pub mod upgrade_relx;

pub use cleanup::{TempDir, kill_processes_under, processes_under};
pub use epmd::{Epmd, free_port};
pub use fixtures::{Fixture, elixir_version, erts_dir_name, fixture};
pub use record::{Recorded, Recorder};
pub use release::{Booted, TestRelease};
pub use run::{DEFAULT_TIMEOUT, RunOutput, Running, run_command, spawn_captured};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Panics (once per call, loudly) unless `erl`, `elixir`, `mix` and `epmd` are on `PATH`.
pub fn require_erlang() {
    static MISSING: OnceLock<Vec<&'static str>> = OnceLock::new();
    let missing = MISSING.get_or_init(|| {
        ["erl", "elixir", "mix", "epmd"]
            .into_iter()
            .filter(|p| which(p).is_none())
            .collect()
    });
    if !missing.is_empty() {
        panic!(
            "\n\n*** the launcher integration tests need Erlang/OTP and Elixir; missing on PATH: {} ***\n\
             *** install them: apt-get install erlang-nox erlang-dev elixir rebar3 ***\n\n",
            missing.join(", ")
        );
    }
}

/// The `beamrc` binary under test: `BEAMRC_TEST_BIN` when set (the version matrix of
/// `scripts/test.sh` sets it to the static musl build, which is what releases ship), else the
/// one cargo built for this test run.
pub fn beamrc_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("BEAMRC_TEST_BIN") {
        Some(bin) if !bin.is_empty() => {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "BEAMRC_TEST_BIN={} is not a file",
                bin.display()
            );
            bin
        }
        _ => PathBuf::from(env!("CARGO_BIN_EXE_beamrc")),
    })
    .clone()
}

/// The cargo target directory (parent of `CARGO_TARGET_TMPDIR`).
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// First executable called `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Polls `f` every 20 ms until it returns true; panics with `what` after `timeout`.
/// Copies an executable the test will run, through `cp`: a copy written by this process would
/// leave a writable descriptor in children other test threads fork meanwhile, and exec-ing the
/// copy then fails with "Text file busy" (ETXTBSY).
pub fn copy_executable(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp {} {}", from.display(), to.display());
}

pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like [`wait_until`] but the closure produces the value being waited for.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let mut out = None;
    wait_until(timeout, what, || {
        out = f();
        out.is_some()
    });
    out.expect("wait_until returned without a value")
}

/// True while a process with this PID exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

/// `/proc/PID/exe` resolved, if readable.
pub fn pid_exe(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The kept script (`bin/NAME.sh`) invoked under its own name, through an absolute symlink
/// `DIR/oracle/NAME`, so `$0`-derived values (`RELEASE_PROG`, usage) match beamrc's.
pub fn oracle_as_name(rel: &TestRelease) -> PathBuf {
    let dir = rel.dir.join("oracle");
    let link = dir.join(&rel.name);
    if !link.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(rel.root.join("bin").join(format!("{}.sh", rel.name)), &link)
            .unwrap();
    }
    link
}

/// A private copy of a fixture with beamrc installed by `beamrc install` itself.
pub fn installed(f: Fixture) -> TestRelease {
    let rel = TestRelease::new(f);
    install_with_beamrc(&rel);
    rel
}

/// Runs `beamrc install ROOT` on the copy.
pub fn install_with_beamrc(rel: &TestRelease) {
    let out = rel.run(
        &beamrc_bin(),
        &["install", rel.root.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.code, Some(0), "install failed: {}", out.stderr);
}

/// The stdout of a run that must succeed.
#[track_caller]
pub fn ok(out: &RunOutput) -> &str {
    assert_eq!(
        out.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    &out.stdout
}
