//! relx's remote commands over beamrc's distribution client: `rpc`, `eval`, `pid`, `stop`,
//! `restart`, `reboot`, liveness; output and exit codes as relx's erl_call path (default) or
//! nodetool path (`USE_NODETOOL`), without erl_call's defects (see the README).
use std::ffi::OsString;
use std::io::Write;
use std::time::{Duration, Instant};

use super::term::ei_print;
use crate::dist::{ClientConfig, DistError, Session, Term};
use crate::{Error, Result};

/// A node to talk to, and how to print results.
#[derive(Debug, Clone)]
pub struct Remote {
    pub cfg: ClientConfig,
    /// Print the nodetool way (`~p`, remote output shown) instead of erl_call's.
    pub nodetool: bool,
}

impl Remote {
    /// `erl_rpc erlang is_alive` succeeded.
    pub fn is_alive(&self) -> bool {
        crate::dist::ping(&self.cfg).is_ok()
    }

    pub fn os_pid(&self) -> std::result::Result<u32, DistError> {
        crate::app::node::os_pid(&self.cfg)
    }

    fn call(&self, m: &str, f: &str, args: Vec<Term>) -> std::result::Result<Term, DistError> {
        crate::dist::call(&self.cfg, m, f, args)
    }

    /// `net_kernel:get_net_ticktime()` as text (for remsh).
    pub fn ticktime(&self) -> String {
        match self.call("net_kernel", "get_net_ticktime", vec![]) {
            Ok(Term::Int(n)) => n.to_string(),
            _ => "60".to_string(),
        }
    }

    /// `rpc M [F [Args]]`: `F` defaults to `start`, `Args` to `[]`; Args is an Erlang term
    /// (a list), parsed on the node.
    pub fn rpc(&self, words: &[OsString]) -> Result<i32> {
        let joined: Vec<String> = words
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let joined = joined.join(" ");
        let mut parts = joined.trim_start().splitn(3, ' ');
        let m = parts.next().unwrap_or_default().to_string();
        let f = parts
            .next()
            .filter(|f| !f.is_empty())
            .unwrap_or("start")
            .to_string();
        let args_text = parts
            .next()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or("[]");
        self.with_session(|s, remote| {
            let args = match parse_term(s, args_text)? {
                Ok(t) => t,
                Err(why) => return Ok(Outcome::Unparsable(format!("{args_text}: {why}"))),
            };
            let Some(list) = as_list(&args) else {
                return Ok(Outcome::Unparsable(format!("{args_text}: not a list")));
            };
            let result = s.call(&m, &f, list)?;
            remote.outcome(s, result)
        })
    }

    /// `eval EXPRS`: the words joined by spaces, parsed and evaluated on the node.
    pub fn eval(&self, words: &[OsString]) -> Result<i32> {
        let text: Vec<String> = words
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        let text = text.join(" ");
        self.with_session(|s, remote| {
            let scanned = s.call("erl_scan", "string", vec![Term::charlist(&text)])?;
            let tokens = match scanned.as_tuple() {
                Some([ok, toks, _]) if ok.is_atom("ok") => toks.clone(),
                _ => {
                    return Ok(Outcome::Unparsable(format!(
                        "{text}: {}",
                        ei_print(&scanned)
                    )));
                }
            };
            let parsed = s.call("erl_parse", "parse_exprs", vec![tokens])?;
            let exprs = match parsed.as_tuple() {
                Some([ok, exprs]) if ok.is_atom("ok") => exprs.clone(),
                _ => {
                    return Ok(Outcome::Unparsable(format!(
                        "{text}: {}",
                        ei_print(&parsed)
                    )));
                }
            };
            let bindings = s.call("erl_eval", "new_bindings", vec![])?;
            let result = s.call("erl_eval", "exprs", vec![exprs, bindings])?;
            let value = match result.as_tuple() {
                Some([tag, v, _]) if tag.is_atom("value") => v.clone(),
                _ => result,
            };
            remote.outcome(s, value)
        })
    }

    fn outcome(&self, s: &mut Session, result: Term) -> std::result::Result<Outcome, DistError> {
        if let Some([_, reason]) = result.as_tuple().filter(|_| is_badrpc(&result)) {
            let reason = reason.clone();
            return Ok(if self.nodetool {
                // One io_lib:format call, so ~p wraps as nodetool's line does.
                let line = s.call(
                    "io_lib",
                    "format",
                    vec![
                        Term::charlist("RPC to ~s failed: ~p"),
                        Term::list(vec![Term::charlist(&self.cfg.target), reason]),
                    ],
                )?;
                Outcome::Failed(chars(&line))
            } else {
                Outcome::Failed(ei_print(&result))
            });
        }
        if !self.nodetool {
            return Ok(Outcome::Print(format!("{}\n", ei_print(&result))));
        }
        if result.is_atom("rpc_ok") {
            return Ok(Outcome::Print(String::new()));
        }
        match result.as_tuple() {
            Some([tag, Term::Int(code)]) if tag.is_atom("rpc_error") => {
                Ok(Outcome::Code(*code as i32, String::new()))
            }
            Some([tag, Term::Int(code), out]) if tag.is_atom("rpc_error") => {
                Ok(Outcome::Code(*code as i32, chars(out)))
            }
            _ => Ok(Outcome::Print(pretty(s, &result)?)),
        }
    }

    /// Runs `f` over one connection (served as group leader under nodetool, so remote
    /// output appears here), then prints and maps the outcome.
    fn with_session(
        &self,
        f: impl FnOnce(&mut Session, &Remote) -> std::result::Result<Outcome, DistError>,
    ) -> Result<i32> {
        let outcome = crate::dist::with_process_stdio(|io| {
            match Session::open(&self.cfg, self.nodetool.then_some(io)) {
                Ok(mut s) => f(&mut s, self),
                Err(e) => Err(e),
            }
        });
        let outcome = match outcome {
            Ok(o) => o,
            Err(DistError::Timeout("call")) => {
                Outcome::Failed(format!("RPC to {} failed: timeout", self.cfg.target))
            }
            Err(e) => Outcome::Failed(format!("RPC to {} failed: {e}", self.cfg.target)),
        };
        let mut out = std::io::stdout().lock();
        match outcome {
            Outcome::Print(text) => {
                let _ = out.write_all(text.as_bytes());
                Ok(0)
            }
            Outcome::Failed(text) => {
                let _ = writeln!(out, "{text}");
                Ok(1)
            }
            Outcome::Code(code, text) => {
                let _ = std::io::stderr().write_all(text.as_bytes());
                Ok(code)
            }
            Outcome::Unparsable(text) => Err(Error::message(
                1,
                format!("ERROR: cannot parse the arguments: {text}"),
            )),
        }
    }

    /// Calls `init:F()` (reboot); false when the call did not go through.
    pub fn init(&self, function: &str) -> bool {
        self.call("init", function, vec![])
            .is_ok_and(|r| r.is_atom("ok"))
    }

    /// On one connection: `first` (what to compare with afterwards), `init:F()`, then —
    /// unless `wait` is zero — the node closing the connection, within `wait`. Returns
    /// `first`'s answer, whether the close came in time, and the deadline; `None` when the
    /// request did not reach a node. A reply lost as the node went down (seen once for
    /// `stop`) counts as sent, `first` having answered: the close is the answer.
    fn init_then_close<T>(
        &self,
        function: &str,
        wait: Duration,
        first: impl FnOnce(&mut Session) -> std::result::Result<T, DistError>,
    ) -> Option<(T, bool, Instant)> {
        let deadline = Instant::now().checked_add(wait);
        let mut session = Session::connect(&self.cfg).ok()?;
        let answer = first(&mut session).ok()?;
        match session.call("init", function, vec![]) {
            Ok(reply) if reply.is_atom("ok") => {}
            Err(DistError::ConnectionClosed) => {}
            _ => return None,
        }
        let closed = wait.is_zero() || {
            session.set_deadline(deadline);
            crate::probe::events::wait_closed(&mut session).unwrap_or(true)
        };
        let deadline = deadline.unwrap_or_else(|| Instant::now() + wait);
        Some((answer, closed, deadline))
    }

    /// `init:stop()`, then — unless `wait` is zero — wait until the node is gone, on one
    /// connection: the node closing it at the end of its shutdown, then its OS process
    /// exiting (`probe::events`, as for Mix). `None`: the request did not reach a node.
    pub fn stop(&self, wait: Duration) -> Option<Gone> {
        let (pid, closed, deadline) =
            self.init_then_close("stop", wait, crate::app::node::os_pid_on)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let gone = wait.is_zero() || (closed && crate::probe::events::wait_exit(pid, left));
        Some(if gone { Gone::Yes } else { Gone::Late })
    }

    /// `init:restart()`, then — unless `wait` is zero — wait until the applications are
    /// back (a new application controller, init started), on one connection until the node
    /// closes it as its kernel restarts, then one new one (`probe::events::wait_back`).
    /// `None`: the request did not reach a node.
    pub fn restart(&self, wait: Duration) -> Option<Gone> {
        let (before, dropped, deadline) =
            self.init_then_close("restart", wait, crate::probe::events::app_controller)?;
        let back = wait.is_zero()
            || (dropped && crate::probe::events::wait_back(&self.cfg, &before, deadline));
        Some(if back { Gone::Yes } else { Gone::Late })
    }
}

/// How a stop or restart that reached the node ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// Done (gone, or back), or not waited for.
    Yes,
    /// Still running (or not back) when the wait ran out.
    Late,
}

enum Outcome {
    /// Written to stdout, exit 0.
    Print(String),
    /// A failed call: the line on stdout, exit 1.
    Failed(String),
    /// nodetool's `{rpc_error, Code[, Out]}`: Out on stderr, exit Code.
    Code(i32, String),
    /// The arguments are not an Erlang term.
    Unparsable(String),
}

fn is_badrpc(t: &Term) -> bool {
    matches!(t.as_tuple(), Some([tag, _]) if tag.is_atom("badrpc"))
}

/// `erl_scan:string(Text ++ ".")` + `erl_parse:parse_term/1` on the node (a missing final
/// dot is added, as nodetool does).
fn parse_term(
    s: &mut Session,
    text: &str,
) -> std::result::Result<std::result::Result<Term, String>, DistError> {
    let mut text = text.trim_end().to_string();
    if !text.ends_with('.') {
        text.push('.');
    }
    let scanned = s.call("erl_scan", "string", vec![Term::charlist(&text)])?;
    let tokens = match scanned.as_tuple() {
        Some([ok, toks, _]) if ok.is_atom("ok") => toks.clone(),
        _ => return Ok(Err(ei_print(&scanned))),
    };
    let parsed = s.call("erl_parse", "parse_term", vec![tokens])?;
    Ok(match parsed.as_tuple() {
        Some([ok, term]) if ok.is_atom("ok") => Ok(term.clone()),
        _ => Err(ei_print(&parsed)),
    })
}

fn as_list(t: &Term) -> Option<Vec<Term>> {
    match t {
        Term::Charlist(bytes) => Some(bytes.iter().map(|b| Term::Int(i64::from(*b))).collect()),
        other => other.list_items(),
    }
}

/// `io_lib:format("~p~n", [T])` on the node, as text.
fn pretty(s: &mut Session, t: &Term) -> std::result::Result<String, DistError> {
    let formatted = s.call(
        "io_lib",
        "format",
        vec![Term::charlist("~p~n"), Term::list(vec![t.clone()])],
    )?;
    Ok(chars(&formatted))
}

/// Flattens chardata (nested lists of code points, charlists, UTF-8 binaries) to text.
fn chars(t: &Term) -> String {
    let mut out = String::new();
    fn walk(t: &Term, out: &mut String) {
        match t {
            Term::Int(c) => out.extend(char::from_u32(*c as u32)),
            Term::Charlist(bytes) => out.extend(bytes.iter().map(|&b| b as char)),
            Term::Binary(bytes) => out.push_str(&String::from_utf8_lossy(bytes)),
            Term::List(items, tail) => {
                items.iter().for_each(|i| walk(i, out));
                walk(tail, out);
            }
            _ => {}
        }
    }
    walk(t, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chardata_and_lists() {
        let deep = Term::List(
            vec![
                Term::Int(i64::from(b'o')),
                Term::Charlist(b"k ".to_vec()),
                Term::Binary("é".as_bytes().to_vec()),
            ],
            Box::new(Term::Nil),
        );
        assert_eq!(chars(&deep), "ok é");
        assert_eq!(
            as_list(&Term::Charlist(vec![1, 2])),
            Some(vec![Term::Int(1), Term::Int(2)])
        );
        assert_eq!(as_list(&Term::atom("x")), None);
        let bad = Term::Tuple(vec![Term::atom("badrpc"), Term::atom("nodedown")]);
        assert!(is_badrpc(&bad) && !is_badrpc(&Term::atom("ok")));
    }
}
