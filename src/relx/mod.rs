//! rebar3/relx releases: beamrc as a drop-in for relx's extended start script.
//!
//! The kept script (`bin/NAME.sh`) is read for the values relx baked into it
//! ([`script`]); the variables ([`vars`]), the config files ([`files`]), the node name and
//! cookie ([`node`]), the command ([`command`]) and the programs it runs ([`argv`]) are
//! computed purely; [`term`] prints results the way erl_call does. The thin effectful part:
//! [`run`] (dispatch), `lifecycle` (daemon, stop, remote commands), [`remote`] (native calls),
//! `shell` (hooks in `/bin/sh`).
pub mod argv;
pub(crate) mod check;
pub mod command;
mod dispatch;
mod dry;
pub mod files;
pub mod help;
pub mod hooks;
pub mod kind;
mod lifecycle;
pub mod mix_hooks;
pub mod node;
pub mod remote;
pub mod run;
pub mod script;
mod scripts;
mod shell;
pub mod term;
pub mod tools;
pub mod vars;
