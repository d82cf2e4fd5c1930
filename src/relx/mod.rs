//! rebar3/relx releases: beamrc as a drop-in for relx's extended start script.
//!
//! The kept script (`bin/NAME.sh`) is read for the values relx baked into it
//! ([`script`]); the variables ([`vars`]), the config files ([`files`]), the node name and
//! cookie ([`node`]), the command ([`command`]) and the programs it runs ([`argv`]) are
//! computed purely; [`term`] prints results the way erl_call and nodetool do.
pub mod argv;
pub mod command;
pub mod files;
pub mod node;
pub mod script;
pub mod vars;
