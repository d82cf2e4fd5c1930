//! The thin command-line layer: dispatch on argv[0], run, map errors to exit codes.
//!
//! Like rustup's proxies, one binary has two faces: called `beamrc` it is a tool
//! (`install`, `--help`); under any other name it is that release's `bin/NAME`.
pub mod act;
pub mod configure;
pub mod daemon;
pub mod gather;
pub mod log;
pub mod release;
pub mod remote;
pub mod service;
pub mod settings;
pub mod tool;
pub mod usage;

use crate::environment::env_sh;
use std::ffi::OsString;
use std::io::Write;

pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    if std::env::var_os(env_sh::DUMP_MARKER).is_some() {
        return env_sh::run_dump(args.get(1..).unwrap_or(&[]));
    }
    let argv0 = args.first().cloned().unwrap_or_default();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match crate::pack::startup() {
        crate::pack::Startup::Exit(result) => result,
        crate::pack::Startup::RunAs(exe) => release::main_at(&exe, &argv0, rest),
        crate::pack::Startup::Plain if crate::release::locate::prog_name(&argv0) == "beamrc" => {
            tool::main(rest)
        }
        crate::pack::Startup::Plain => release::main(&argv0, rest),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            let text = err.to_string();
            if !text.is_empty() {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            err.code()
        }
    }
}
