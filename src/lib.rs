//! beamrc: a native run-control program for Erlang/Elixir releases.
//!
//! Layers, outside in: the `edge` (argv[0] dispatch, the `beamrc` tool face, error
//! printing) calls the application (`app`: one release command from inputs to effects),
//! which finds the `release` on disk, computes the `environment` (`RELEASE_*`, env files,
//! `env.sh`, cookie), renders `config` files, reads beamrc's switches and builds a `plan`
//! (pure), then hands it to its executor, which acts through `process` (exec, daemon, PID 1)
//! or the `dist` client (EPMD, handshake, rpc). Lower layers never import higher ones.
pub(crate) mod app;
pub mod arena;
pub(crate) mod check;
pub mod config;
pub mod dist;
pub mod edge;
pub mod environment;
pub mod error;
pub(crate) mod fleet;
pub(crate) mod log;
pub mod pack;
pub(crate) mod paths;
pub mod plan;
pub(crate) mod probe;
pub mod process;
pub(crate) mod release;
pub(crate) mod relx;
pub mod upgrade;

pub use error::{Error, Result};

#[cfg(test)]
pub(crate) mod test_support;
