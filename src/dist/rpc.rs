//! rex calls on one connection (`Session`), and the one-shot `ping` and `call`.
use std::time::Instant;

use super::chardata::chardata_to_utf8;
use super::conn::Conn;
use super::etf::{Reference, Term};
use super::{ClientConfig, DistError, Stdio};

/// One connection to the node and the state needed to serve IO requests between calls.
///
/// The one-shot functions (`rpc_eval`, `ping`, `call`) open one, make their calls under one
/// deadline (`call_timeout` from the end of the setup) and close it. Waiters that poll
/// (stop, restart, readiness) keep one open instead of reconnecting on every poll: the
/// node's ticks are answered whenever we read, and `keep_alive` ticks from a thread while
/// we sleep between polls.
pub struct Session<'s, 'io> {
    pub(crate) conn: Conn,
    pub(crate) io: Option<&'s mut Stdio<'io>>,
    /// Input read from stdin but not yet consumed (`get_until` leftovers).
    pub(crate) pending_input: Vec<u8>,
    /// Replies that arrived while we waited for another (nested calls).
    replies: Vec<(Reference, Term)>,
    /// The node's OTP release, once asked (the IO server's answers depend on it).
    pub(crate) otp_release: Option<u32>,
    /// IO requests being served, one inside the other (see `MAX_IO_NESTING`).
    io_nesting: usize,
}

/// How deep IO requests may nest. Serving `{put_chars, Enc, M, F, A}` calls the node, and
/// the IO that call makes is served while we wait (one or two levels in practice); a node
/// that answers each such call with another request would otherwise recurse until our
/// stack overflows (an abort, not an error).
const MAX_IO_NESTING: usize = 64;

impl Session<'static, 'static> {
    /// Connects without IO: remote output is discarded and reads see end of file. Calls are
    /// bounded by `cfg.call_timeout` from now until `set_deadline` says otherwise.
    pub fn connect(cfg: &ClientConfig) -> Result<Self, DistError> {
        Session::open(cfg, None)
    }
}

impl<'s, 'io> Session<'s, 'io> {
    pub(crate) fn open(
        cfg: &ClientConfig,
        io: Option<&'s mut Stdio<'io>>,
    ) -> Result<Self, DistError> {
        let mut conn = Conn::open(cfg)?;
        conn.set_deadline(cfg.call_timeout.and_then(super::deadline_after));
        Ok(Session {
            conn,
            io,
            pending_input: Vec::new(),
            replies: Vec::new(),
            otp_release: None,
            io_nesting: 0,
        })
    }

    /// Bounds every later read and write in total (None: as long as the node lives).
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.conn.set_deadline(deadline);
    }

    /// Our node name on this connection (assigned by the node with dynamic names).
    pub fn own_name(&self) -> &str {
        self.conn.own_name()
    }

    /// Ticks from a background thread, so the node keeps us while we do not read.
    pub fn keep_alive(&mut self) {
        self.conn.keep_alive();
    }

    /// `net_adm:ping`: Ok when net_kernel answers `yes` to `{is_auth, Us}`.
    pub fn ping(&mut self) -> Result<(), DistError> {
        let me = Term::atom(self.conn.own_name());
        let request = Term::Tuple(vec![Term::atom("is_auth"), me]);
        match self.gen_call("net_kernel", request, true)? {
            answer if answer.is_atom("yes") => Ok(()),
            other => Err(DistError::Protocol(format!("ping answered {other:?}"))),
        }
    }

    /// Blocks until the node's boot has finished (`init` reports `started`), as an event
    /// rather than by polling: `init:notify_when_started/1` with us as the subscriber (what
    /// `init:wait_until_started/0` waits for, exported since OTP 21). Returns at once if the
    /// node has already started.
    pub fn wait_started(&mut self) -> Result<(), DistError> {
        let me = Term::Pid(self.conn.own_pid().clone());
        let request = Term::Tuple(vec![
            me.clone(),
            Term::Tuple(vec![Term::atom("notify_when_started"), me]),
        ]);
        self.conn.send_reg("init", &request)?;
        loop {
            let msg = self.conn.recv()?;
            match msg.as_tuple() {
                Some([init, what]) if init.is_atom("init") && what.is_atom("started") => {
                    return Ok(());
                }
                Some([init, what]) if init.is_atom("init") && what.is_atom("ok") => {}
                _ => self.dispatch(msg)?,
            }
        }
    }

    /// Blocks until the node closes the connection (after `System.stop()` or a halt).
    pub fn wait_closed(&mut self) -> Result<(), DistError> {
        self.conn.wait_closed()
    }

    /// `gen_server:call` to a registered process on the node, serving IO meanwhile;
    /// `early`: a fixed query of beamrc's own, which may be sent before the node's
    /// challenge ack has been read (see `Conn::settle`).
    fn gen_call(&mut self, server: &str, request: Term, early: bool) -> Result<Term, DistError> {
        let reference = self.conn.make_ref();
        let me = Term::Pid(self.conn.own_pid().clone());
        let msg = Term::Tuple(vec![
            Term::atom("$gen_call"),
            Term::Tuple(vec![me, Term::Ref(reference.clone())]),
            request,
        ]);
        if early {
            self.conn.send_reg_early(server, &msg)?;
        } else {
            self.conn.send_reg(server, &msg)?;
        }
        self.wait_reply(&reference)
    }

    /// `rpc:call(Node, M, F, A)` through rex with us as group leader. Returns rex's
    /// reply: the value, or `{badrpc, Reason}`.
    pub fn call(&mut self, m: &str, f: &str, args: Vec<Term>) -> Result<Term, DistError> {
        self.rex_call("call", m, f, args, false)
    }

    /// `call` of a zero-argument function: for beamrc's own fixed queries
    /// (`os:getpid()`, `init:get_status()`), which carry nothing of the caller's and so may
    /// travel with the handshake's last message (see `Conn::settle`). They answer at once,
    /// so rex runs them itself (`rpc:block_call`'s request) instead of spawning a process for
    /// each: on a node whose schedulers sleep, that spawn could cost a second wake-up.
    pub fn ask(&mut self, m: &'static str, f: &'static str) -> Result<Term, DistError> {
        self.rex_call("block_call", m, f, Vec::new(), true)
    }

    /// rex's `{Kind, M, F, A, GroupLeader}` request, with us as group leader.
    fn rex_call(
        &mut self,
        kind: &str,
        m: &str,
        f: &str,
        args: Vec<Term>,
        early: bool,
    ) -> Result<Term, DistError> {
        let me = Term::Pid(self.conn.own_pid().clone());
        let request = Term::Tuple(vec![
            Term::atom(kind),
            Term::atom(m),
            Term::atom(f),
            Term::list(args),
            me,
        ]);
        self.gen_call("rex", request, early)
    }

    fn wait_reply(&mut self, reference: &Reference) -> Result<Term, DistError> {
        loop {
            if let Some(i) = self.replies.iter().position(|(r, _)| r == reference) {
                return Ok(self.replies.swap_remove(i).1);
            }
            let msg = self.conn.recv()?;
            self.dispatch(msg)?;
        }
    }

    fn dispatch(&mut self, msg: Term) -> Result<(), DistError> {
        let Term::Tuple(mut items) = msg else {
            return Ok(());
        };
        match items.as_slice() {
            [Term::Ref(_), _] => {
                let result = items.pop().expect("two items");
                if let Some(Term::Ref(r)) = items.pop() {
                    self.replies.push((r, result));
                }
            }
            [tag, from, reply_as, request] if tag.is_atom("io_request") => {
                if self.io_nesting >= MAX_IO_NESTING {
                    return Err(DistError::Protocol(format!(
                        "the node nested IO requests more than {MAX_IO_NESTING} deep"
                    )));
                }
                self.io_nesting += 1;
                let reply = self.io_request(request);
                self.io_nesting -= 1;
                let reply = reply?;
                let msg = Term::Tuple(vec![Term::atom("io_reply"), reply_as.clone(), reply]);
                self.conn.send_to(from, &msg)?;
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn stderr_write(&mut self, bytes: &[u8]) {
        if let Some(io) = self.io.as_mut() {
            // Keep stdout and stderr in the order the remote side produced them.
            let _ = io.stdout.flush();
            let _ = io.stderr.write_all(bytes);
            let _ = io.stderr.flush();
        }
    }

    /// Remote `f(args)` whose result is chardata, as UTF-8 bytes.
    pub(super) fn remote_text(
        &mut self,
        m: &str,
        f: &str,
        args: Vec<Term>,
    ) -> Result<Vec<u8>, DistError> {
        let result = self.call(m, f, args)?;
        chardata_to_utf8(&result, false)
            .ok_or_else(|| DistError::Protocol(format!("{m}:{f} did not return text: {result:?}")))
    }
}

/// net_adm:ping equivalent: Ok(()) when the node answers `yes` to net_kernel's
/// `{is_auth, OurNode}`.
pub fn ping(cfg: &ClientConfig) -> Result<(), DistError> {
    Session::connect(cfg)?.ping()
}

/// Evaluates `module:function(args)` on the node via rex and returns the reply term, which
/// is `{badrpc, Reason}` if the call failed remotely. Remote output is discarded and
/// reads see end of file.
pub fn call(
    cfg: &ClientConfig,
    module: &str,
    function: &str,
    args: Vec<Term>,
) -> Result<Term, DistError> {
    Session::connect(cfg)?.call(module, function, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::fake;
    use std::io::Write as _;
    use std::time::Duration;

    #[test]
    fn garbage_from_node_is_an_error() {
        let (cfg, t) = fake::start(|mut s| {
            let _ = s.write_all(&[0, 0, 0, 5, 1, 2, 3, 4, 5]);
            std::thread::sleep(Duration::from_millis(200));
        });
        let err = call(&cfg, "erlang", "node", vec![]).unwrap_err();
        assert!(matches!(err, DistError::Protocol(_)), "{err}");
        t.join().unwrap();
    }

    #[test]
    fn silent_node_hits_call_timeout() {
        let (cfg, t) = fake::start(|s| {
            std::thread::sleep(Duration::from_millis(1500));
            drop(s);
        });
        let start = Instant::now();
        let err = call(&cfg, "erlang", "node", vec![]).unwrap_err();
        assert!(matches!(err, DistError::Timeout("call")), "{err}");
        assert!(start.elapsed() < Duration::from_millis(1200));
        assert!(!err.before_request());
        t.join().unwrap();
    }

    #[test]
    fn node_closing_mid_call_is_connection_closed() {
        let (cfg, t) = fake::start(|mut s| {
            fake::read_gen_call(&mut s);
        });
        let err = call(&cfg, "erlang", "node", vec![]).unwrap_err();
        assert!(matches!(err, DistError::ConnectionClosed), "{err}");
        t.join().unwrap();
    }

    #[test]
    fn truncated_frame_is_connection_closed() {
        let (cfg, t) = fake::start(|mut s| {
            let _ = s.write_all(&[0, 0, 1, 0, 112, 131]);
        });
        let err = call(&cfg, "erlang", "node", vec![]).unwrap_err();
        assert!(matches!(err, DistError::ConnectionClosed), "{err}");
        t.join().unwrap();
    }
}
