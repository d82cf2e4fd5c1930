//! beamrc: a native run-control program for Erlang/Elixir releases.
//!
//! The code is split the way the work flows: find the `release` on disk, compute the
//! `environment` (`RELEASE_*`, env files, `env.sh`, cookie), render `config` files,
//! build a `plan` for the command, then act on it through `process` (exec, daemon,
//! PID 1) or the `dist` client (EPMD, handshake, rpc). Only `process`, `dist` and the
//! thin `cli` layer have side effects beyond reading files.
pub mod cli;
pub mod config;
pub mod dist;
pub mod environment;
pub mod error;
pub mod pack;
pub mod paths;
pub mod plan;
pub mod process;
pub mod release;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_support;
