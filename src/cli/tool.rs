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
        Some("pack") => {
            let words: Vec<&OsString> = args[1..].iter().collect();
            let (dir, out) = match words.as_slice() {
                [d] => (d, None),
                [d, o, f] | [o, f, d] if o.to_str() == Some("-o") => (d, Some(Path::new(f))),
                _ => {
                    return Err(Error::message(
                        1,
                        "ERROR: usage: beamrc pack RELEASE_DIR [-o FILE]",
                    ));
                }
            };
            println!("{}", crate::pack::pack(Path::new(dir), out)?);
            Ok(0)
        }
        Some("pack-info") => match args.get(1) {
            Some(file) if args.len() == 2 => {
                print!("{}", crate::pack::info(Path::new(file))?);
                Ok(0)
            }
            _ => Err(Error::message(1, "ERROR: usage: beamrc pack-info FILE")),
        },
        Some("pack-clean") => {
            let dry = match args.get(1).and_then(|a| a.to_str()) {
                None => false,
                Some("--dry-run") if args.len() == 2 => true,
                _ => {
                    return Err(Error::message(
                        1,
                        "ERROR: usage: beamrc pack-clean [--dry-run]",
                    ));
                }
            };
            println!("{}", crate::pack::clean(dry)?);
            Ok(0)
        }
        Some(other) => Err(Error::message(
            1,
            format!("ERROR: unknown beamrc command {other:?} (try beamrc --help)"),
        )),
    }
}
