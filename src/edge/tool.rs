//! `beamrc …` as a tool.
use crate::{Error, Result};
use std::ffi::OsString;
use std::path::Path;

pub fn main(args: &[OsString]) -> Result<i32> {
    let first = args.first().and_then(|a| a.to_str());
    match first {
        Some("--version" | "-V") => {
            println!("beamrc {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Some("--help" | "-h" | "help") | None => {
            print!("{}", super::usage::tool_help());
            Ok(0)
        }
        Some("install") => match args.get(1) {
            Some(dir) if args.len() == 2 => {
                let report = crate::release::install::install(Path::new(dir))?;
                println!("{report}");
                Ok(0)
            }
            _ => Err(Error::message(
                1,
                "ERROR: usage: beamrc install RELEASE_DIR",
            )),
        },
        Some(other) => Err(Error::message(
            1,
            format!("ERROR: unknown beamrc command {other:?} (try beamrc --help)"),
        )),
    }
}
