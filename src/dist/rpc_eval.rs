//! The `--rpc-eval` emulation: what the script's client prints and exits with for each
//! outcome of `Kernel.CLI.rpc_eval/1` on the node, per Elixir generation.
use super::etf::Term;
use super::rpc::Session;
use super::{ClientConfig, DistError, Stdio};

/// The script's client VM prints its own pid when the remote process was killed
/// (`Process.exit(self(), r)` on `{:badrpc, {:EXIT, r}}`, or erpc's `{:signal, r}`): the
/// pid of the release's `start_clean` client process that runs the command, the same in
/// every run of one OTP/Elixir pair. Observed: `#PID<0.100.0>` on OTP 25 / Elixir 1.14,
/// `#PID<0.99.0>` on OTP 27 / 1.18 and OTP 29 / 1.20. OTP 26 is taken to print as 27, and
/// 28 as 29 (not run). A plain `elixir` client (not a release's) prints `#PID<0.102.0>` on
/// OTP 25.
pub fn script_client_pid(otp_release: u32) -> &'static str {
    if otp_release <= 25 {
        "#PID<0.100.0>"
    } else {
        "#PID<0.99.0>"
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
        map_result(self, result)
    }
}

/// Turns `Kernel.CLI.rpc_eval/1`'s reply into output and an exit code, like the script's
/// client (`Kernel.CLI.exec_fun/2`) does.
fn map_result(session: &mut Session, result: Term) -> Result<i32, DistError> {
    if result.is_atom("ok") {
        return Ok(0);
    }
    let Some(items) = result.as_tuple() else {
        return Err(DistError::Protocol(format!(
            "unexpected rpc reply {result:?}"
        )));
    };
    match items {
        [badrpc, reason] if badrpc.is_atom("badrpc") => badrpc_exit(session, reason),
        [kind, reason, stack] => {
            if kind.is_atom("exit")
                && let Some(code) = shutdown_code(reason)
            {
                return Ok(code);
            }
            let args = vec![kind.clone(), reason.clone(), stack.clone()];
            let text = session.remote_text("Elixir.Kernel.CLI", "format_error", args)?;
            let text = session.without_node_colours(text)?;
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
fn badrpc_exit(session: &mut Session, reason: &Term) -> Result<i32, DistError> {
    let text = match reason.as_tuple() {
        Some([tag, r]) if tag.is_atom("EXIT") => {
            // The client's process running the command exits with R (1.14: `Process.exit(self(),
            // r)` on `{:badrpc, {:EXIT, r}}`; 1.15+ likewise for erpc's `{:signal, r}`, seen on
            // 1.18 and 1.20), so `Kernel.CLI` prints the EXIT banner naming that process.
            let pid = script_client_pid(session.otp_release()?);
            let mut text = format!("** (EXIT from {pid}) ").into_bytes();
            text.extend(session.remote_text("Elixir.Exception", "format_exit", vec![r.clone()])?);
            text.extend_from_slice(b"\n\n");
            text
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

/// `text` without SGR sequences (`ESC [ digits/semicolons m`), the ANSI colour codes.
fn strip_sgr(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == 0x1b && text.get(i + 1) == Some(&b'[') {
            let params = text[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b';')
                .count();
            if text.get(i + 2 + params) == Some(&b'm') {
                i += 3 + params;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
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

impl Session<'_, '_> {
    /// The node formats errors with *its* ANSI setting (Elixir 1.17+ turns it on when the
    /// node's stdio is a terminal, as under run_erl); the script's client formats them with
    /// its own, off when its stdout is not a terminal. So: colour codes out when the node has
    /// ANSI on and our stdout is not a terminal. (One extra call, on the error path only.)
    fn without_node_colours(&mut self, text: Vec<u8>) -> Result<Vec<u8>, DistError> {
        let tty = self.io.as_ref().is_some_and(|io| io.stdout_is_tty);
        if tty || !text.contains(&0x1b) {
            return Ok(text);
        }
        let env = self.call(
            "application",
            "get_env",
            vec![Term::atom("elixir"), Term::atom("ansi_enabled")],
        )?;
        let node_ansi =
            matches!(env.as_tuple(), Some([ok, on]) if ok.is_atom("ok") && on.is_atom("true"));
        Ok(if node_ansi { strip_sgr(&text) } else { text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::fake;
    use std::io::Write as _;

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
        let mut io = Stdio::captured(&mut stdin, &mut out, &mut err);
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
    fn colour_codes_are_stripped_and_nothing_else() {
        let coloured = "\x1b[31merror:\x1b[0m missing \x1b[1;31m│\x1b[0m x";
        assert_eq!(
            strip_sgr(coloured.as_bytes()),
            "error: missing │ x".as_bytes()
        );
        // Not SGR: kept as they are.
        for other in ["\x1b[2J", "\x1b", "\x1b[", "a\x1bb", "\x1b[12"] {
            assert_eq!(strip_sgr(other.as_bytes()), other.as_bytes(), "{other:?}");
        }
    }

    #[test]
    fn client_pid_per_otp_release() {
        assert_eq!(script_client_pid(25), "#PID<0.100.0>");
        assert_eq!(script_client_pid(0), "#PID<0.100.0>");
        for otp in [26, 27, 28, 29, 30] {
            assert_eq!(script_client_pid(otp), "#PID<0.99.0>", "OTP {otp}");
        }
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
