//! The application layer: one release command from inputs to effects.
//!
//! `launch` runs `bin/NAME …`: it gathers the inputs through the process handle (`gather`)
//! and `configure`, reads beamrc's switches once (`crate::plan::switches`), asks the pure
//! planner (`crate::plan`) what to do and hands the plan to the executor (`execute`, with
//! `daemon`, `service` and `remote` for the actions that talk to a node through `node`).
//! Imports flow one way: `launch → execute → {daemon, service, remote} → node → gather`.
pub(crate) mod configure;
pub(crate) mod daemon;
pub(crate) mod execute;
pub(crate) mod gather;
pub(crate) mod launch;
pub(crate) mod node;
pub(crate) mod remote;
pub(crate) mod service;

pub(crate) use launch::{main, main_at};
#[cfg(test)]
mod tests;
