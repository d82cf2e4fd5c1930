//! Readiness, pure: the options of `ready`/`wait`, the one remote call that answers them,
//! and what its reply means.
//!
//! One call to `rex` answers everything: `lists:zipwith(fun erlang:apply/2, Funs, Args)`
//! with export funs (`fun init:get_status/0`, `fun application:which_applications/1`,
//! `fun erlang:whereis/1`), so a probe is one connection, one round trip and nothing
//! evaluated on the node.
use crate::dist::Term;
use crate::{Error, Result};
use std::ffi::OsString;

/// What "ready" means beyond `init:get_status()` = `{started, started}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadyCheck {
    /// Applications that must be started (`application:which_applications/1`).
    pub apps: Vec<String>,
    /// Locally registered process names that must exist (relx's `wait_for_process`).
    pub processes: Vec<String>,
}

/// The parsed arguments of `ready`/`wait`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeArgs {
    pub check: ReadyCheck,
    /// `wait --timeout S`, as given (the planner reads it as seconds).
    pub timeout: Option<String>,
}

/// How long the node's application controller may take to list its applications.
const APPS_TIMEOUT_MS: i64 = 5000;

/// The answer to a readiness question, with its LSB-like exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// 0.
    Ready,
    /// 1: the node answers but is booting, stopping, or lacks an application or process.
    NotReady(String),
    /// 3: no node of that name (EPMD has none, or nothing listens).
    NotRunning(String),
    /// 4: cannot tell (cookie, protocol, no answer in time).
    Unknown(String),
}

impl Readiness {
    pub fn code(&self) -> i32 {
        match self {
            Readiness::Ready => 0,
            Readiness::NotReady(_) => 1,
            Readiness::NotRunning(_) => 3,
            Readiness::Unknown(_) => 4,
        }
    }

    /// The line `ready` prints.
    pub fn line(&self, node: &str) -> String {
        match self {
            Readiness::Ready => format!("{node} is ready"),
            Readiness::NotReady(why) => format!("{node} is not ready: {why}"),
            Readiness::NotRunning(why) => format!("{node} is not running ({why})"),
            Readiness::Unknown(why) => format!("{node} readiness unknown: {why}"),
        }
    }
}

/// `[--app APP]… [--process NAME]…` (and `--timeout S` for `wait`); `--opt=value` too.
pub fn parse_args(command: &str, args: &[OsString], with_timeout: bool) -> Result<ProbeArgs> {
    let usage = if with_timeout {
        "[--timeout S] [--app APP]... [--process NAME]..."
    } else {
        "[--app APP]... [--process NAME]..."
    };
    let bad = |what: String| {
        Error::message(
            1,
            format!("ERROR: {command}: {what} (usage: {command} {usage})"),
        )
    };
    let mut out = ProbeArgs::default();
    let mut words = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        let (key, inline) = match word.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (word.clone(), None),
        };
        let known =
            matches!(key.as_str(), "--app" | "--process") || (with_timeout && key == "--timeout");
        if !known {
            return Err(bad(format!("unknown argument {word:?}")));
        }
        let value = match inline.or_else(|| words.next()) {
            Some(v) if !v.is_empty() => v,
            _ => return Err(bad(format!("{key} needs a value"))),
        };
        match key.as_str() {
            "--timeout" => out.timeout = Some(value),
            _ if !is_atom_text(&value) => {
                return Err(bad(format!(
                    "{key} {value:?}: a name is an atom of letters, digits, _, . and @"
                )));
            }
            "--app" => out.check.apps.push(value),
            _ => out.check.processes.push(value),
        }
    }
    Ok(out)
}

/// Names we send as atoms and may quote in an Elixir expression without escaping.
fn is_atom_text(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@'))
}

/// `fun M:F/A` as an export fun (EXPORT_EXT): a reference by name, valid on any node.
fn export_fun(m: &str, f: &str, arity: u8) -> Term {
    let mut bytes = vec![113];
    Term::atom(m).encode_into(&mut bytes);
    Term::atom(f).encode_into(&mut bytes);
    Term::Int(i64::from(arity)).encode_into(&mut bytes);
    Term::Raw(bytes)
}

/// The remote call answering `check`: module, function and arguments for `rex`.
pub fn request(check: &ReadyCheck) -> (&'static str, &'static str, Vec<Term>) {
    let mut funs = vec![export_fun("init", "get_status", 0)];
    let mut args = vec![Term::Nil];
    if !check.apps.is_empty() {
        funs.push(export_fun("application", "which_applications", 1));
        args.push(Term::list(vec![Term::Int(APPS_TIMEOUT_MS)]));
    }
    for p in &check.processes {
        funs.push(export_fun("erlang", "whereis", 1));
        args.push(Term::list(vec![Term::atom(p)]));
    }
    (
        "lists",
        "zipwith",
        vec![
            export_fun("erlang", "apply", 2),
            Term::list(funs),
            Term::list(args),
        ],
    )
}

/// What the reply to [`request`] says.
pub fn interpret(reply: &Term, check: &ReadyCheck) -> Readiness {
    let Some(items) = reply.list_items() else {
        return match reply.as_tuple() {
            Some([tag, reason]) if tag.is_atom("badrpc") => {
                Readiness::NotReady(format!("the readiness call failed: {}", short(reason)))
            }
            _ => Readiness::Unknown(format!("unexpected answer {}", short(reply))),
        };
    };
    let mut items = items.into_iter();
    let status = items.next().unwrap_or(Term::Nil);
    match status.as_tuple() {
        Some([a, b]) if a.is_atom("started") && b.is_atom("started") => {}
        Some([a, _]) if a.is_atom("stopping") => {
            return Readiness::NotReady("stopping".into());
        }
        Some([a, _]) if a.is_atom("starting") => {
            return Readiness::NotReady(format!(
                "booting (init:get_status() is {})",
                short(&status)
            ));
        }
        _ => return Readiness::NotReady(format!("init:get_status() is {}", short(&status))),
    }
    let mut missing = Vec::new();
    if !check.apps.is_empty() {
        let started: Vec<String> = items
            .next()
            .and_then(|t| t.list_items())
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.as_tuple()?.first()?.as_atom().map(str::to_string))
            .collect();
        for app in &check.apps {
            if !started.contains(app) {
                missing.push(format!("application {app} is not started"));
            }
        }
    }
    for (p, found) in check.processes.iter().zip(items) {
        if !matches!(found, Term::Pid(_)) {
            missing.push(format!("process {p} is not registered"));
        }
    }
    if missing.is_empty() {
        Readiness::Ready
    } else {
        Readiness::NotReady(missing.join(", "))
    }
}

/// A term in one short line (Debug form, cut at 120 characters).
fn short(t: &Term) -> String {
    let text = match t {
        Term::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(short).collect();
            format!("{{{}}}", inner.join(", "))
        }
        Term::Atom(a) => a.clone(),
        other => format!("{other:?}"),
    };
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// The same check as an Elixir expression, for the hidden VM route (prints the line, exits
/// 1 when not ready).
pub fn vm_expression(check: &ReadyCheck) -> String {
    let atoms = |names: &[String]| {
        names
            .iter()
            .map(|n| format!(":\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "case :init.get_status() do {{:started, :started}} -> \
         started = for {{a, _, _}} <- Application.started_applications(), do: a; \
         missing = Enum.map([{apps}] -- started, &\"application #{{&1}} is not started\") ++ \
         for(p <- [{procs}], Process.whereis(p) == nil, do: \"process #{{p}} is not registered\"); \
         if missing == [], do: IO.puts(\"#{{node()}} is ready\"), \
         else: (IO.puts(\"#{{node()}} is not ready: #{{Enum.join(missing, \", \")}}\"); exit({{:shutdown, 1}})); \
         status -> IO.puts(\"#{{node()}} is not ready: init:get_status() is #{{inspect(status)}}\"); exit({{:shutdown, 1}}) end",
        apps = atoms(&check.apps),
        procs = atoms(&check.processes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn pid() -> Term {
        Term::Pid(crate::dist::etf::Pid {
            node: "n@h".into(),
            id: 1,
            serial: 0,
            creation: 1,
        })
    }

    fn started() -> Term {
        Term::Tuple(vec![Term::atom("started"), Term::atom("started")])
    }

    #[test]
    fn options() {
        let a = parse_args(
            "wait",
            &args(&[
                "--app",
                "demo",
                "--process=Demo.Supervisor",
                "--timeout",
                "2.5",
            ]),
            true,
        )
        .unwrap();
        assert_eq!(a.check.apps, ["demo"]);
        assert_eq!(a.check.processes, ["Demo.Supervisor"]);
        assert_eq!(a.timeout.as_deref(), Some("2.5"));
        for bad in [
            &["--timeout", "1"][..],
            &["--app"],
            &["x"],
            &["--app", "a b"],
            &["--app="],
        ] {
            let e = parse_args("ready", &args(bad), false).unwrap_err();
            assert_eq!(e.code(), 1, "{bad:?}");
            assert!(e.line().starts_with("ERROR: ready: "), "{}", e.line());
        }
    }

    #[test]
    fn the_request_is_one_zipwith_of_export_funs() {
        let check = ReadyCheck {
            apps: vec!["demo".into()],
            processes: vec!["p".into(), "q".into()],
        };
        let (m, f, a) = request(&check);
        assert_eq!((m, f), ("lists", "zipwith"));
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].list_items().unwrap().len(), 4);
        assert_eq!(a[2].list_items().unwrap().len(), 4);
        // fun erlang:apply/2 = 113, 'erlang', 'apply', 2
        let mut bytes = Vec::new();
        a[0].encode_into(&mut bytes);
        assert_eq!(bytes[0], 113);
        assert_eq!(*bytes.last().unwrap(), 2);
        let decoded = crate::dist::etf::decode(&Term::list(a).to_bytes()).unwrap();
        assert!(decoded.list_items().is_some());
    }

    #[test]
    fn replies() {
        let none = ReadyCheck::default();
        assert_eq!(
            interpret(&Term::list(vec![started()]), &none),
            Readiness::Ready
        );
        let booting = Term::Tuple(vec![Term::atom("starting"), Term::atom("started")]);
        let r = interpret(&Term::list(vec![booting]), &none);
        assert_eq!(r.code(), 1);
        assert!(r.line("n@h").contains("booting"), "{}", r.line("n@h"));
        let stopping = Term::Tuple(vec![Term::atom("stopping"), Term::atom("started")]);
        assert_eq!(
            interpret(&Term::list(vec![stopping]), &none),
            Readiness::NotReady("stopping".into())
        );
        let check = ReadyCheck {
            apps: vec!["demo".into(), "missing".into()],
            processes: vec!["p".into(), "q".into()],
        };
        let apps = Term::list(vec![Term::Tuple(vec![
            Term::atom("demo"),
            Term::Charlist(b"d".to_vec()),
            Term::Charlist(b"0.1.0".to_vec()),
        ])]);
        let reply = Term::list(vec![started(), apps, pid(), Term::atom("undefined")]);
        assert_eq!(
            interpret(&reply, &check),
            Readiness::NotReady(
                "application missing is not started, process q is not registered".into()
            )
        );
        let badrpc = Term::Tuple(vec![Term::atom("badrpc"), Term::atom("timeout")]);
        assert_eq!(interpret(&badrpc, &check).code(), 1);
        assert_eq!(interpret(&Term::atom("what"), &check).code(), 4);
    }

    #[test]
    fn the_vm_expression_names_the_atoms() {
        let e = vm_expression(&ReadyCheck {
            apps: vec!["demo".into()],
            processes: vec!["Elixir.Demo.Supervisor".into()],
        });
        assert!(e.contains("[:\"demo\"] -- started"), "{e}");
        assert!(e.contains("p <- [:\"Elixir.Demo.Supervisor\"]"), "{e}");
    }
}
