//! Native Erlang distribution client: EPMD, handshake, term codec, rex calls, IO server.
//!
//! `beamrc` connects to the running release as a hidden node (as the script's
//! `elixir --rpc-eval` client VM does) and asks the node's `rex` server to run
//! `Kernel.CLI.rpc_eval/1` with us as group leader, so remote output is written here.
//! Everything is synchronous std::net; a remote command costs ~2 ms instead of a VM boot.
//! See `native-distribution.md` in the project's reference notes for the protocol facts.
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

mod chardata;
mod conn;
mod cookie;
#[cfg(test)]
mod early;
mod endpoint;
pub(crate) mod epmd;
pub mod etf;
#[cfg(test)]
mod fake;
pub mod handshake;
#[cfg(test)]
mod hostile;
mod io_server;
pub(crate) mod md5;
#[cfg(test)]
mod noise;
mod resolve;
mod rpc;
mod rpc_eval;
mod wire;

pub use cookie::{CookieError, MAX_COOKIE_CHARS, cookie_bytes, locale_is_utf8};
pub use endpoint::{Endpoint, EndpointError, endpoint, handles};
pub use etf::Term;
pub use resolve::Family;
pub(crate) use resolve::own_hostname;
pub use rpc::{Session, call, ping};
pub use rpc_eval::{rpc_eval, script_client_pid, script_failure_message};

/// How to reach the running release. (`Debug` masks the cookie.)
#[derive(Clone)]
pub struct ClientConfig {
    /// Full node name of the running release, e.g. "demo@vm" or "demo@127.0.0.1".
    pub target: String,
    /// Our hidden node's full name, e.g. "rpc-3f2a-demo@vm".
    pub own_name: String,
    pub cookie: String,
    /// EPMD port (the caller resolves ERL_EPMD_PORT; default 4369).
    pub epmd_port: u16,
    /// The node's distribution port when it runs without EPMD (`ERL_DIST_PORT`,
    /// `-erl_epmd_port P`): connect there directly. None asks EPMD.
    pub dist_port: Option<u16>,
    /// `inet` (IPv4, the default) or `inet6` (`-proto_dist inet6_tcp`): how the node's host
    /// is resolved and EPMD and the node are reached.
    pub family: Family,
    /// Connect to the node at this address instead of its host's (the interface it listens
    /// on, `-kernel inet_dist_use_interface`). EPMD is still asked at the host, unless
    /// `dist_port` is set too: then the host is not resolved at all (relx's `-address`).
    pub address: Option<std::net::IpAddr>,
    /// Let the node name us (OTP 23+ dynamic node names, as `erl_call -R`): the node reuses
    /// a pooled name, so repeated calls do not grow its atom table. Only the host part of
    /// `own_name` is used then. False: we are `own_name`, as the script's client.
    pub dynamic_name: bool,
    /// Bounds EPMD + TCP connect + handshake (Erlang's net_setuptime default is 7 s).
    pub connect_timeout: Duration,
    /// None waits forever, as the script does.
    pub call_timeout: Option<Duration>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cookie is a secret: never in a trace or a panic message.
        f.debug_struct("ClientConfig")
            .field("target", &self.target)
            .field("own_name", &self.own_name)
            .field("cookie", &"<hidden>")
            .field("epmd_port", &self.epmd_port)
            .field("dist_port", &self.dist_port)
            .field("family", &self.family)
            .field("address", &self.address)
            .field("dynamic_name", &self.dynamic_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

impl ClientConfig {
    /// Sets where and how to connect (see `dist::endpoint`).
    pub fn with_endpoint(mut self, ep: Endpoint) -> ClientConfig {
        self.dist_port = ep.dist_port;
        self.family = ep.family;
        self.address = ep.address;
        self
    }

    /// A config with the defaults of the script (EPMD 4369, IPv4, 7 s setup, no call
    /// timeout), except that the node names us (`dynamic_name`).
    pub fn new(target: &str, own_name: &str, cookie: &str) -> ClientConfig {
        ClientConfig {
            target: target.to_string(),
            own_name: own_name.to_string(),
            cookie: cookie.to_string(),
            epmd_port: 4369,
            dist_port: None,
            family: Family::Inet,
            address: None,
            dynamic_name: true,
            connect_timeout: Duration::from_secs(7),
            call_timeout: None,
        }
    }
}

#[derive(Debug)]
pub enum DistError {
    /// The node's host does not resolve (as the VM resolves it: see `resolve.rs`).
    Resolve { host: String, node: String },
    /// Nothing answers on the EPMD port (EPMD, and so the node, is not running).
    EpmdUnreachable {
        host: String,
        port: u16,
        source: io::Error,
    },
    /// EPMD runs but has no node of that name.
    NotRegistered { node: String },
    /// The node's distribution port refused or failed the TCP connection.
    Connect { node: String, source: io::Error },
    /// The node refused the handshake (status `nok`, `not_allowed`, …) or broke it.
    HandshakeRejected { node: String, status: String },
    /// The node closed the connection after our challenge reply: wrong cookie.
    CookieMismatch { node: String },
    /// The established connection was closed or went silent (node down or halted).
    ConnectionClosed,
    /// `"connect"` (setup exceeded connect_timeout) or `"call"` (call_timeout).
    Timeout(&'static str),
    /// Bytes that do not follow the protocol. Messages start with "epmd:" when the
    /// garbage came from EPMD, i.e. before any connection to the node.
    Protocol(String),
}

impl DistError {
    /// True when the failure happened before any request reached the node, so falling
    /// back to the VM-based path cannot run the command twice.
    pub fn before_request(&self) -> bool {
        match self {
            DistError::Resolve { .. }
            | DistError::EpmdUnreachable { .. }
            | DistError::NotRegistered { .. }
            | DistError::Connect { .. }
            | DistError::HandshakeRejected { .. }
            | DistError::CookieMismatch { .. }
            | DistError::Timeout("connect") => true,
            DistError::Protocol(why) => why.starts_with("epmd:"),
            _ => false,
        }
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistError::Resolve { host, node } => {
                write!(f, "cannot resolve host {host} of node {node}")
            }
            DistError::EpmdUnreachable { host, port, source } => {
                write!(f, "cannot reach EPMD at {host}:{port} ({source})")
            }
            DistError::NotRegistered { node } => {
                write!(f, "no node named {node} is registered with EPMD")
            }
            DistError::Connect { node, source } => {
                write!(f, "cannot connect to node {node} ({source})")
            }
            DistError::HandshakeRejected { node, status } => {
                write!(f, "node {node} rejected the connection ({status})")
            }
            DistError::CookieMismatch { node } => {
                write!(f, "node {node} rejected our cookie")
            }
            DistError::ConnectionClosed => write!(f, "the connection to the node was closed"),
            DistError::Timeout(what) => write!(f, "timed out ({what})"),
            DistError::Protocol(why) => write!(f, "distribution protocol error: {why}"),
        }
    }
}

impl std::error::Error for DistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DistError::EpmdUnreachable { source, .. } | DistError::Connect { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Where remote IO goes. The remote expression's group leader is us, so its `IO.puts`
/// lands on `stdout` and `IO.gets` reads `stdin`; errors go to `stderr`.
pub struct Stdio<'a> {
    pub stdin: &'a mut dyn io::BufRead,
    pub stdout: &'a mut dyn io::Write,
    pub stderr: &'a mut dyn io::Write,
    /// Enables `get_geometry` (terminal size of fd 1), as with the script's client.
    pub stdout_is_tty: bool,
}

impl<'a> Stdio<'a> {
    /// Remote IO in memory (a fleet's `rpc`, tests): `stdin` is read, `stdout` and
    /// `stderr` collect what the node writes; not a terminal.
    pub fn captured(
        stdin: &'a mut dyn io::BufRead,
        stdout: &'a mut dyn io::Write,
        stderr: &'a mut dyn io::Write,
    ) -> Stdio<'a> {
        Stdio {
            stdin,
            stdout,
            stderr,
            stdout_is_tty: false,
        }
    }
}

/// Runs `f` with this process's stdin/stdout/stderr as the remote IO (locked for the call),
/// as the script's client: the remote expression's group leader writes here.
pub fn with_process_stdio<T>(f: impl FnOnce(&mut Stdio) -> T) -> T {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    let mut stdio = Stdio {
        stdin: &mut input,
        stdout: &mut out,
        stderr: &mut err,
        // SAFETY: isatty only inspects the descriptor.
        stdout_is_tty: unsafe { libc::isatty(1) } == 1,
    };
    f(&mut stdio)
}

/// `timeout` from now; None when that is beyond what an `Instant` can hold (a timeout of
/// `u64::MAX` seconds means "no deadline", never an overflow panic).
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Time left until `deadline`, or `Timeout(what)` if it has passed.
pub(crate) fn remaining(deadline: Instant, what: &'static str) -> Result<Duration, DistError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(DistError::Timeout(what))
    } else {
        Ok(left)
    }
}

/// A random u32 for challenges, creations and references, from the kernel's CSPRNG.
pub(crate) fn random_u32() -> u32 {
    let mut buf = [0u8; 4];
    // SAFETY: getrandom writes at most buf.len() bytes into the valid buffer.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == buf.len() as isize {
        return u32::from_ne_bytes(buf);
    }
    // getrandom unavailable (very old kernel): fall back to std's per-process random keys.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.map_or(0, |d| d.as_nanos()));
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let errs = [
            DistError::NotRegistered { node: "a".into() },
            DistError::CookieMismatch { node: "a".into() },
            DistError::Timeout("connect"),
            DistError::ConnectionClosed,
        ];
        for e in errs {
            assert!(!e.to_string().contains('\n'));
        }
        assert!(DistError::Timeout("connect").before_request());
        assert!(!DistError::Timeout("call").before_request());
        assert!(!DistError::ConnectionClosed.before_request());
    }

    #[test]
    fn debug_masks_the_cookie() {
        let cfg = ClientConfig::new("demo@vm", "rpc-1-demo@vm", "s3cr3t-c00kie");
        let shown = format!("{cfg:?} {cfg:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("demo@vm") && shown.contains("<hidden>"),
            "{shown}"
        );
    }

    #[test]
    fn randomness_varies() {
        let a: Vec<u32> = (0..8).map(|_| random_u32()).collect();
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
