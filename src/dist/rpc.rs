//! rex calls and the `--rpc-eval` emulation (result → output and exit code).
use std::time::Instant;

use super::conn::Conn;
use super::etf::{Reference, Term};
use super::io_server::chardata_to_utf8;
use super::{ClientConfig, DistError, Stdio};

/// The script's client VM prints its own pid when the remote process was killed
/// (`Process.exit(self(), r)` on `{:badrpc, {:EXIT, r}}`). In a release's
/// `start_clean` client it is this one (observed on 1.14 / OTP 25); a plain `elixir`
/// client prints `#PID<0.102.0>`.
pub const SCRIPT_CLIENT_PID: &str = "#PID<0.100.0>";

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
}

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
        match self.gen_call("net_kernel", request)? {
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

    /// `gen_server:call` to a registered process on the node, serving IO meanwhile.
    fn gen_call(&mut self, server: &str, request: Term) -> Result<Term, DistError> {
        let reference = self.conn.make_ref();
        let me = Term::Pid(self.conn.own_pid().clone());
        let msg = Term::Tuple(vec![
            Term::atom("$gen_call"),
            Term::Tuple(vec![me, Term::Ref(reference.clone())]),
            request,
        ]);
        self.conn.send_reg(server, &msg)?;
        self.wait_reply(&reference)
    }

    /// `rpc:call(Node, M, F, A)` through rex with us as group leader. Returns rex's
    /// reply: the value, or `{badrpc, Reason}`.
    pub fn call(&mut self, m: &str, f: &str, args: Vec<Term>) -> Result<Term, DistError> {
        let me = Term::Pid(self.conn.own_pid().clone());
        let request = Term::Tuple(vec![
            Term::atom("call"),
            Term::atom(m),
            Term::atom(f),
            Term::list(args),
            me,
        ]);
        self.gen_call("rex", request)
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
                let reply = self.io_request(request)?;
                let msg = Term::Tuple(vec![Term::atom("io_reply"), reply_as.clone(), reply]);
                self.conn.send_to(from, &msg)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn stderr_write(&mut self, bytes: &[u8]) {
        if let Some(io) = self.io.as_mut() {
            // Keep stdout and stderr in the order the remote side produced them.
            let _ = io.stdout.flush();
            let _ = io.stderr.write_all(bytes);
            let _ = io.stderr.flush();
        }
    }

    /// Remote `f(args)` whose result is chardata, as UTF-8 bytes.
    fn remote_text(&mut self, m: &str, f: &str, args: Vec<Term>) -> Result<Vec<u8>, DistError> {
        let result = self.call(m, f, args)?;
        chardata_to_utf8(&result, false)
            .ok_or_else(|| DistError::Protocol(format!("{m}:{f} did not return text: {result:?}")))
    }
}

/// Emulates `elixir --rpc-eval NODE EXPR` of the given Elixir generation against a running
/// node, writing what the script's client would write to stdout/stderr; returns the exit code
/// the script would have (0, N for exit({:shutdown,N}), 1 for errors).
/// `legacy` = release built by Elixir <= 1.14 (`:rpc.call` client; node-down text
/// ":nodedown"), otherwise 1.15+ (`:erpc` client; ":noconnection").
/// Connection failures are NOT printed here: they are returned as Err so the caller can print
/// `script_failure_message` or fall back (only if `DistError::before_request`).
pub fn rpc_eval(
    cfg: &ClientConfig,
    expr: &str,
    legacy: bool,
    io: &mut Stdio,
) -> Result<i32, DistError> {
    Session::open(cfg, Some(io))?.rpc_eval(expr, legacy)
}

impl Session<'_, '_> {
    /// `rpc_eval` on this session's connection (output goes to the session's IO, or nowhere
    /// for `Session::connect`), e.g. `System.stop()` before waiting for the close.
    pub fn rpc_eval(&mut self, expr: &str, legacy: bool) -> Result<i32, DistError> {
        // 1.14 passes the expression as a binary, 1.15+ as a charlist (argv); both evaluate
        // alike.
        let arg = if legacy {
            Term::binary(expr.as_bytes())
        } else {
            Term::charlist(expr)
        };
        let result = self.call("Elixir.Kernel.CLI", "rpc_eval", vec![arg])?;
        if let Some(io) = self.io.as_mut() {
            let _ = io.stdout.flush();
        }
        map_result(self, result, legacy)
    }
}

/// Turns `Kernel.CLI.rpc_eval/1`'s reply into output and an exit code, like the script's
/// client (`Kernel.CLI.exec_fun/2`) does.
fn map_result(session: &mut Session, result: Term, legacy: bool) -> Result<i32, DistError> {
    if result.is_atom("ok") {
        return Ok(0);
    }
    let Some(items) = result.as_tuple() else {
        return Err(DistError::Protocol(format!(
            "unexpected rpc reply {result:?}"
        )));
    };
    match items {
        [badrpc, reason] if badrpc.is_atom("badrpc") => badrpc_exit(session, reason, legacy),
        [kind, reason, stack] => {
            if kind.is_atom("exit")
                && let Some(code) = shutdown_code(reason)
            {
                return Ok(code);
            }
            let args = vec![kind.clone(), reason.clone(), stack.clone()];
            let text = session.remote_text("Elixir.Kernel.CLI", "format_error", args)?;
            session.stderr_write(&text);
            Ok(1)
        }
        _ => Err(DistError::Protocol(format!(
            "unexpected rpc reply {result:?}"
        ))),
    }
}

/// Exit reasons the script treats as success: `{:shutdown, N}` → the status `halt(N)` gives
/// (N mod 256 for any non-negative integer, bignums too; a negative N makes the client's
/// `halt/1` fail: 1); `:normal`, `:shutdown`, `{:shutdown, _}` → 0.
fn shutdown_code(reason: &Term) -> Option<i32> {
    if reason.is_atom("normal") || reason.is_atom("shutdown") {
        return Some(0);
    }
    match reason.as_tuple()? {
        [tag, Term::Int(n)] if tag.is_atom("shutdown") => {
            Some(if *n < 0 { 1 } else { (*n & 0xff) as i32 })
        }
        [
            tag,
            Term::BigInt {
                negative,
                magnitude,
            },
        ] if tag.is_atom("shutdown") => {
            // Little-endian digits: the first is the low byte.
            Some(if *negative {
                1
            } else {
                i32::from(magnitude.first().copied().unwrap_or(0))
            })
        }
        [tag, _] if tag.is_atom("shutdown") => Some(0),
        _ => None,
    }
}

/// `{badrpc, {'EXIT', R}}`: the process running the expression was killed by a signal.
fn badrpc_exit(session: &mut Session, reason: &Term, legacy: bool) -> Result<i32, DistError> {
    let text = match reason.as_tuple() {
        Some([tag, r]) if tag.is_atom("EXIT") && legacy => {
            // 1.14: `Process.exit(self(), r)` in the client; the banner names the client's pid.
            let mut text = format!("** (EXIT from {SCRIPT_CLIENT_PID}) ").into_bytes();
            text.extend(session.remote_text("Elixir.Exception", "format_exit", vec![r.clone()])?);
            text.extend_from_slice(b"\n\n");
            text
        }
        Some([tag, r]) if tag.is_atom("EXIT") => {
            // 1.15+ (erpc): the call exits with {signal, R} in the client (not verified
            // against a 1.15 client: this machine has 1.14 only).
            let reason = Term::Tuple(vec![Term::atom("signal"), r.clone()]);
            let args = vec![Term::atom("exit"), reason, Term::Nil];
            session.remote_text("Elixir.Kernel.CLI", "format_error", args)?
        }
        _ => {
            let inspected =
                session.remote_text("Elixir.Kernel", "inspect", vec![reason.clone()])?;
            let mut text = b"--rpc-eval : RPC failed with reason ".to_vec();
            text.extend(inspected);
            text.push(b'\n');
            text
        }
    };
    session.stderr_write(&text);
    Ok(1)
}

/// The exact stderr line (without the newline) the script prints when the connection
/// fails, per generation.
pub fn script_failure_message(err: &DistError, legacy: bool) -> String {
    let reason = match err {
        DistError::Timeout("call") => ":timeout",
        _ if legacy => ":nodedown",
        _ => ":noconnection",
    };
    format!("--rpc-eval : RPC failed with reason {reason}")
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

    #[test]
    fn ticks_io_requests_and_reply() {
        let (cfg, t) = fake::start(|mut s| {
            // A tick must be answered with a tick.
            s.write_all(&[0, 0, 0, 0]).unwrap();
            let (pid, reference, request) = fake::read_gen_call(&mut s);
            assert!(fake::read_frame(&mut s).is_none(), "tick answer");
            let req = request.as_tuple().unwrap();
            assert!(req[0].is_atom("call") && req[1].is_atom("Elixir.Kernel.CLI"));
            assert_eq!(req[4], pid, "we are the group leader");
            let io = Term::Tuple(vec![
                Term::atom("io_request"),
                pid.clone(),
                Term::atom("reply_as"),
                Term::Tuple(vec![
                    Term::atom("put_chars"),
                    Term::atom("unicode"),
                    Term::binary("hé\n".as_bytes()),
                ]),
            ]);
            fake::send(&mut s, &pid, &io);
            let (_, reply) = fake::read_frame(&mut s).unwrap();
            let reply = reply.unwrap();
            assert_eq!(
                reply,
                Term::Tuple(vec![
                    Term::atom("io_reply"),
                    Term::atom("reply_as"),
                    Term::atom("ok")
                ])
            );
            let exit = Term::Tuple(vec![
                Term::atom("exit"),
                Term::Tuple(vec![Term::atom("shutdown"), Term::Int(3)]),
                Term::Nil,
            ]);
            fake::send(&mut s, &pid, &Term::Tuple(vec![reference, exit]));
        });
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut stdin: &[u8] = b"";
        let mut io = Stdio {
            stdin: &mut stdin,
            stdout: &mut out,
            stderr: &mut err,
            stdout_is_tty: false,
        };
        assert_eq!(rpc_eval(&cfg, "x", true, &mut io).unwrap(), 3);
        out.flush().unwrap();
        assert_eq!(out, "hé\n".as_bytes());
        assert!(err.is_empty());
        t.join().unwrap();
    }

    #[test]
    fn shutdown_codes() {
        let t = |a: &str, b: Term| Term::Tuple(vec![Term::atom(a), b]);
        assert_eq!(shutdown_code(&Term::atom("normal")), Some(0));
        assert_eq!(shutdown_code(&Term::atom("shutdown")), Some(0));
        assert_eq!(shutdown_code(&t("shutdown", Term::Int(3))), Some(3));
        // As `halt/1` in the script's client (observed: 300 → 44, 2^32+44 → 44,
        // 2^70+44 → 44, -1 → 1 after a crash report).
        assert_eq!(shutdown_code(&t("shutdown", Term::Int(300))), Some(44));
        assert_eq!(
            shutdown_code(&t("shutdown", Term::Int((1 << 32) + 44))),
            Some(44)
        );
        assert_eq!(shutdown_code(&t("shutdown", Term::Int(-1))), Some(1));
        assert_eq!(shutdown_code(&t("shutdown", Term::Int(i64::MIN))), Some(1));
        let mut digits = vec![44, 0, 0, 0, 0, 0, 0, 0, 64];
        let big = |negative, magnitude| Term::BigInt {
            negative,
            magnitude,
        };
        assert_eq!(
            shutdown_code(&t("shutdown", big(false, digits.clone()))),
            Some(44)
        );
        digits[0] = 0;
        assert_eq!(shutdown_code(&t("shutdown", big(true, digits))), Some(1));
        assert_eq!(shutdown_code(&t("shutdown", Term::atom("foo"))), Some(0));
        assert_eq!(shutdown_code(&Term::atom("foo")), None);
        assert_eq!(shutdown_code(&t("other", Term::Int(3))), None);
    }

    #[test]
    fn failure_messages() {
        let e = DistError::NotRegistered { node: "x".into() };
        assert_eq!(
            script_failure_message(&e, true),
            "--rpc-eval : RPC failed with reason :nodedown"
        );
        assert_eq!(
            script_failure_message(&e, false),
            "--rpc-eval : RPC failed with reason :noconnection"
        );
    }
}
