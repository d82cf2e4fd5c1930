//! Hot upgrades and downgrades through OTP's release_handler on the running node, over
//! beamrc's native client (no escript VM), checked before the first change.
//!
//! | module | concept |
//! |---|---|
//! | `terms` | reading Erlang term files (`.rel`, `relup`, `sys.config`) |
//! | `rel`, `relup` | the release file and release_handler's choice of script |
//! | `package` | where the package is looked for (relx's order) |
//! | `tarball` | reading a package in one pass |
//! | `copy` | the package's inflated tar, written on a second thread for release_handler |
//! | `beam` | the chunks of a `.beam` file |
//! | `checks` | every check before the first change (pure) |
//! | `findings` | what a check says (passed, refused) with its id; `check --upgrade --json` |
//! | `request` | the command as data (the plan), and its steps for the dry run |
//! | `node` | release_handler's calls and replies |
//! | `progress` | the progress line while a call is outstanding |
//! | `runtime` | Mix runtime configuration carried through the upgrade |
//! | `reading` | the package's one read for the checks, started early, with the copy |
//! | `unpack` | the package's way to release_handler (the copy or the link, what it leaves) |
//! | `run` | the executor: the command's steps in relx's order |
//! | `install` | the steps after the unpack, the runtime configuration, the undo |
//! | `show` | node terms printed as `~p` |
mod beam;
pub(crate) mod checks;
mod copy;
mod findings;
mod install;
mod node;
pub(crate) mod package;
mod progress;
mod reading;
mod rel;
mod relup;
mod request;
mod run;
mod runtime;
mod show;
pub(crate) mod tarball;
mod terms;
mod unpack;

pub use request::{Kind, Op, Request, Target};
pub use run::run;
