//! Hot upgrades and downgrades through OTP's release_handler on the running node, over
//! beamrc's native client (no escript VM), checked before the first change.
//!
//! | module | concept |
//! |---|---|
//! | `terms` | reading Erlang term files (`.rel`, `relup`, `sys.config`) |
//! | `rel`, `relup` | the release file and release_handler's choice of script |
//! | `package` | where the package is looked for (relx's order) |
//! | `tarball` | reading a package; the filtered copy release_handler unpacks |
//! | `beam` | the chunks of a `.beam` file |
//! | `checks` | every check before the first change (pure) |
mod beam;
pub(crate) mod checks;
pub(crate) mod package;
mod rel;
mod relup;
pub(crate) mod tarball;
mod terms;
