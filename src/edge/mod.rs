//! The edge: dispatch on argv[0], run, print errors and map them to exit codes.
//!
//! Like rustup's proxies, one binary has two faces: called `beamrc` it is a tool
//! (`install`, `--help`); under any other name it is that release's `bin/NAME`.
pub(crate) mod tool;
pub(crate) mod usage;

use crate::environment::env_sh;
use std::ffi::OsString;
use std::io::Write;

pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    if std::env::var_os(env_sh::DUMP_MARKER).is_some() {
        return env_sh::run_dump();
    }
    crate::log::init_early();
    let argv0 = args.first().cloned().unwrap_or_default();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match crate::pack::startup(&argv0) {
        crate::pack::Startup::Exit(result) => result,
        crate::pack::Startup::RunAs(exe) => crate::app::main_at(&exe, &argv0, rest),
        crate::pack::Startup::Plain if crate::release::locate::prog_name(&argv0) == "beamrc" => {
            tool::main(rest)
        }
        crate::pack::Startup::Plain => crate::app::main(&argv0, rest),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            err.code()
        }
    }
}

/// Writes an error to stderr: the usage text first for a usage error, then its line(s).
fn report(err: &crate::Error) {
    let mut text = String::new();
    if let crate::Error::Usage { prog, .. } = err {
        text.push_str(&usage::text(prog));
    }
    let line = err.line();
    if !line.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
    }
    if !text.is_empty() {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}
