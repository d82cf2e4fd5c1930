//! The launch plan per command: pure computation of what to run, with which argv and env.
//!
//! Nothing here touches the system; the application's executor (`app::execute`) carries a
//! plan out, and `dry_run` prints it. Every command's action is data: exec, start (exec or
//! supervise, with systemd readiness), daemon (run_erl plus its boot wait), remote
//! operations (their route, native or hidden VM, with the reason and the deadlines).
use crate::environment::EnvMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// A program to run: `execve(program, argv, env)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The file to execute; a bare name is looked up in `PATH` of `env`.
    pub program: PathBuf,
    /// The full argv, argv[0] included.
    pub argv: Vec<OsString>,
    /// The complete environment of the new program (not a diff).
    pub env: EnvMap,
}

/// A file the plan needs written before it runs (under `RELEASE_TMP`, never the release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepare {
    /// `mkdir -p`.
    CreateDir(PathBuf),
    /// Write `contents` to `path` through a temp file + rename, with `mode`.
    WriteFile {
        path: PathBuf,
        contents: Vec<u8>,
        mode: u32,
    },
    /// The runtime copy of a reboot release's sys.config: `mkdir -p` its directory
    /// (`RELEASE_TMP`), then temp file + rename, mode 0600. Either failing is the script's
    /// "Cannot start release because it could not write COPY" (exit 1).
    RuntimeConfig { path: PathBuf, contents: Vec<u8> },
}
pub(crate) mod command;
pub(crate) mod commands;
pub(crate) mod dry_run;
pub(crate) mod elixir_cli;
pub(crate) mod escape;
pub(crate) mod switches;
pub(crate) mod upgrade;
pub(crate) mod vm;

use crate::environment::vars::ReleaseVars;
use crate::release::ElixirGen;
use std::time::Duration;

/// What to do once the files are prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Replace this process with the VM (eval, remote, attach, hidden-VM rpc).
    Exec(ExecSpec),
    /// `start`/`start_iex`: exec, or supervise in init mode; with systemd readiness.
    Start(Start),
    /// Start `run_erl -daemon`, which forks the VM into the background and exits.
    Daemon(Daemon),
    /// rpc, stop, restart, pid, ping, status on the running node.
    Remote(Remote),
    /// Write this to stdout and exit 0.
    Print(String),
    /// versions, unpack, install, uninstall through release_handler on the node.
    Upgrade(crate::upgrade::Request),
}

/// How beamrc reaches the running node natively: names, cookie and deadlines. `Debug`
/// never shows the cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeLink {
    /// The release's node, `NAME@HOST`.
    pub target: String,
    /// Our hidden node, `PREFIX-XXXX-NAME@HOST`.
    pub own: String,
    pub cookie: String,
    pub epmd_port: u16,
    /// EPMD + connect + handshake.
    pub connect_timeout: Duration,
    /// One remote call; `None` waits forever.
    pub call_timeout: Option<Duration>,
    /// The node's Elixir answers rpc_eval the pre-1.15 way.
    pub legacy_rpc: bool,
    /// Epmd-less port, address family (`dist::endpoint` of the remote flags).
    pub endpoint: crate::dist::Endpoint,
}

impl std::fmt::Debug for NodeLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLink")
            .field("target", &self.target)
            .field("own", &self.own)
            .field("cookie", &"<hidden>")
            .field("epmd_port", &self.epmd_port)
            .field("endpoint", &self.endpoint)
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("legacy_rpc", &self.legacy_rpc)
            .finish()
    }
}

impl NodeLink {
    pub fn client_config(&self) -> crate::dist::ClientConfig {
        // The rest (naming, options the client adds later) keeps the dist library's defaults.
        crate::dist::ClientConfig {
            epmd_port: self.epmd_port,
            connect_timeout: self.connect_timeout,
            call_timeout: self.call_timeout,
            ..crate::dist::ClientConfig::new(&self.target, &self.own, &self.cookie)
        }
        .with_endpoint(self.endpoint)
    }
}

/// Whether beamrc can watch the node natively, and why not when it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    Native(NodeLink),
    Blind(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub spec: ExecSpec,
    /// Init mode (PID 1 or `BEAMRC_INIT`): spawn and supervise instead of exec.
    pub supervise: Option<Supervision>,
    /// `NOTIFY_SOCKET` is set: tell systemd when the node has booted and when it stops.
    pub notify: Option<Notify>,
    /// `BEAMRC_USER`: drop to this user (and group) before exec.
    pub user: Option<switches::UserSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervision {
    /// Why init mode is on: `PID 1` or `BEAMRC_INIT`.
    pub why: &'static str,
    /// After a forwarded SIGTERM, SIGKILL the VM after this long; `None` waits.
    pub shutdown_timeout: Option<Duration>,
    /// `BEAMRC_STOP_DELAY`: hold the first SIGTERM this long before forwarding it (drain).
    pub stop_delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub socket: OsString,
    /// How boot is observed (native watch), or why it cannot be.
    pub watch: Watch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// `run_erl -daemon PIPE/ LOG/ COMMAND`.
    pub run_erl: ExecSpec,
    pub pipe_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Waiting for boot (and refusing a second VM first), or why not.
    pub boot: Option<BootWait>,
}

/// The daemon's boot wait: `init:get_status()` until `{started, started}` or the timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootWait {
    Native {
        link: NodeLink,
        timeout: Duration,
    },
    /// Not waiting, and why (`BEAMRC_START_TIMEOUT=0`, no native route).
    Skip(String),
}

/// A remote operation and how it reaches the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub op: RemoteOp,
    /// The native connection, when that is the route.
    pub native: Option<NodeLink>,
    /// Why this route was taken.
    pub why: String,
    /// Fleet mode (`BEAMRC_FLEET_NODES`): the operation on several nodes, natively.
    pub fleet: Option<Fleet>,
    /// The hidden VM's plan (the route, or the fallback when the node refuses our
    /// handshake for protocol reasons before anything ran).
    pub vm: Box<Plan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteOp {
    Rpc(OsString),
    /// `System.stop()`, then wait this long for the node to be gone (0: not at all).
    Stop {
        wait: Duration,
    },
    /// `System.restart()`, then wait this long for it to be back (0: not at all).
    Restart {
        wait: Duration,
    },
    Pid,
    Ping,
    Status,
    /// `ready`: booted, and the given applications started and processes registered.
    Ready(crate::probe::ReadyCheck),
    /// `wait`: `ready` until it holds or the timeout has passed.
    Wait {
        check: crate::probe::ReadyCheck,
        timeout: Duration,
    },
}

/// Fleet mode: which nodes, how many at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub nodes: switches::FleetNodes,
    pub jobs: usize,
}

impl Daemon {
    /// run_erl's `PIPE/` argument, as it appears in the running run_erl's argv.
    pub fn pipe_arg(&self) -> &std::ffi::OsStr {
        &self.run_erl.argv[2]
    }
}

/// A command's plan: files to prepare, then one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub prepare: Vec<Prepare>,
    pub action: Action,
}

/// Everything a command's plan is computed from; gathered (read-only) by the caller. No
/// `Debug`: it holds the cookie.
#[derive(Clone)]
pub struct Inputs {
    pub vars: ReleaseVars,
    pub generation: ElixirGen,
    /// The Elixir version that built the release, as (major, minor, patch).
    pub elixir_version: (u32, u32, u32),
    /// The release's cookie, when the command needs one.
    pub cookie: Option<String>,
    /// The cookie is `-setcookie` in vm.args: not passed again on the command line.
    pub cookie_in_vm_args: bool,
    /// vm.args sets `-sname`/`-name` itself: no distribution flag is added.
    pub dist_in_vm_args: bool,
    /// Rendered vm.args / sys.config / remote.vm.args files to write first.
    pub rendered: Vec<Prepare>,
    /// `"$SCRIPT_PATH"/../../erts-V/bin` as the scripts spell it; `None` without ERTS.
    pub erts_bin: Option<PathBuf>,
    /// The same directory, physical: erlexec's `BINDIR`.
    pub bindir: Option<PathBuf>,
    pub cli: elixir_cli::Context,
    pub locale: escape::Locale,
    /// Fresh 4-hex-digit random words (the script's `rand`).
    pub rand: [String; 2],
    /// Local time as `%Y%m%d%H%M%S`, for the runtime sys.config copy.
    pub timestamp: String,
    /// The release's own `sys.config` holds `RUNTIME_CONFIG=true` (a reboot release).
    pub reboot_release: bool,
    /// The mode flag baked into the kept script (`--erl "-mode $RELEASE_MODE"` → `-mode`),
    /// when the script is there to read.
    pub baked_mode_flag: Option<String>,
    /// Contents of `${RELEASE_SYS_CONFIG:-$REL_VSN_DIR/sys}.config`, if it exists.
    pub sys_config: Option<Vec<u8>>,
    /// beamrc's own switches.
    pub switches: switches::Switches,
    /// The machine's host name.
    pub hostname: String,
    /// beamrc is the init process of its PID namespace.
    pub pid1: bool,
    /// The arguments of remote.vm.args (rendered or on disk), for the route decision.
    pub remote_vm_args_words: Vec<String>,
}
#[cfg(test)]
mod golden_tests;
pub(crate) mod remote;
