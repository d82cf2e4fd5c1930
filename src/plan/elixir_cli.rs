//! What `releases/VSN/elixir` and `releases/VSN/iex` do with their arguments, per Elixir
//! generation: turn `--cookie`/`--vm-args`/`--erl`/... into the erl argv.
//!
//! beamrc builds the same Elixir-level arguments the release script passes and translates
//! them here once, so every command shares one translation and the version differences live
//! in one place.
use crate::release::ElixirGen;
use std::ffi::{OsStr, OsString};

/// The Elixir-level invocation `bin/NAME` makes: `releases/VSN/elixir ARGS` or `.../iex ARGS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    pub iex: bool,
    pub args: Vec<OsString>,
}

impl Invocation {
    pub fn elixir() -> Self {
        Invocation::default()
    }

    pub fn iex() -> Self {
        Invocation {
            iex: true,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, A>(mut self, items: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        self.args.extend(items.into_iter().map(Into::into));
        self
    }
}

/// Context the shell script reads from the environment and the terminal.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `$ELIXIR_ERL_OPTIONS`, split on blanks (the script leaves it unquoted).
    pub elixir_erl_options: Option<OsString>,
    /// stdout and stderr are ttys and `NO_COLOR` is empty (1.14–1.18 add ansi_enabled).
    pub ansi_tty: bool,
}

/// The result: erl's arguments (after the program name) and the `--pipe-to` directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub erl_args: Vec<OsString>,
    pub pipe_to: Option<(OsString, OsString)>,
}

/// `bin/iex`: the arguments it puts in front of the caller's.
fn iex_prefix(generation: ElixirGen) -> Vec<&'static str> {
    match generation {
        ElixirGen::V1_14 => vec![
            "--no-halt",
            "--erl",
            "-noshell -user Elixir.IEx.CLI",
            "+iex",
        ],
        ElixirGen::V1_15 => vec![
            "--no-halt",
            "--erl",
            "-user elixir",
            "-e",
            ":elixir.start_iex()",
            "+iex",
        ],
        _ => vec!["--no-halt", "--erl", "-user elixir", "+iex"],
    }
}

/// How many arguments an Elixir flag copies to the plain-argument tail (after `-extra`).
fn copied(flag: &[u8]) -> Option<usize> {
    match flag {
        b"+iex" | b"+elixirc" | b"-v" | b"--no-halt" | b"--color" | b"--no-color" => Some(1),
        b"-e" | b"-r" | b"-pr" | b"-pa" | b"-pz" | b"--app" | b"--eval" | b"--remsh"
        | b"--dot-iex" | b"--no-pry" | b"--dbg" => Some(2),
        b"--rpc-eval" => Some(3),
        _ => None,
    }
}

/// Splits a string the way an unquoted shell expansion does (blanks only; no globbing).
pub fn split_words(s: &OsStr) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes()
        .split(|b| matches!(b, b' ' | b'\t' | b'\n'))
        .filter(|w| !w.is_empty())
        .map(|w| OsStr::from_bytes(w).to_os_string())
        .collect()
}

/// Translates an invocation into erl arguments, as the generation's `bin/elixir` does.
pub fn translate(inv: &Invocation, generation: ElixirGen, ctx: &Context) -> Translated {
    use std::os::unix::ffi::OsStrExt;
    let mut args: Vec<OsString> = Vec::new();
    if inv.iex {
        args.extend(iex_prefix(generation).into_iter().map(OsString::from));
    }
    args.extend(inv.args.iter().cloned());

    let mut erl: Vec<OsString> = Vec::new(); // $ERL, word-split later
    let mut array: Vec<OsString> = Vec::new(); // E0..En
    let mut tail: Vec<OsString> = Vec::new(); // copied after -extra
    let mut iex_mode = false;
    let mut pipe_to = None;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_bytes();
        let value = |k: usize| args.get(i + k).cloned().unwrap_or_default();
        if flag == b"+iex" {
            iex_mode = true;
        }
        if let Some(n) = copied(flag) {
            let end = (i + n).min(args.len());
            tail.extend(args[i..end].iter().cloned());
            i = end;
            continue;
        }
        let shift = match flag {
            b"--hidden" => {
                erl.push("-hidden".into());
                1
            }
            b"--logger-otp-reports" | b"--logger-sasl-reports" => {
                let v = value(1);
                if v == "true" || v == "false" {
                    let key = if flag == b"--logger-otp-reports" {
                        "handle_otp_reports"
                    } else {
                        "handle_sasl_reports"
                    };
                    erl.extend(["-logger".into(), key.into(), v]);
                }
                2
            }
            b"--erl" => {
                erl.extend(split_words(&value(1)));
                2
            }
            b"--cookie" => {
                array.extend(["-setcookie".into(), value(1)]);
                2
            }
            b"--sname" | b"--name" => {
                array.extend([OsString::from(OsStr::from_bytes(&flag[1..])), value(1)]);
                2
            }
            b"--erl-config" => {
                array.extend(["-config".into(), value(1)]);
                2
            }
            b"--vm-args" => {
                array.extend(["-args_file".into(), value(1)]);
                2
            }
            b"--boot" => {
                array.extend(["-boot".into(), value(1)]);
                2
            }
            b"--boot-var" => {
                array.extend(["-boot_var".into(), value(1), value(2)]);
                3
            }
            b"--pipe-to" => {
                pipe_to = Some((value(1), value(2)));
                3
            }
            b"--werl" => 1,
            _ => {
                // Anything else stops option parsing: it and the rest are copied.
                tail.extend(args[i..].iter().cloned());
                break;
            }
        };
        i += shift;
    }

    let mut prefix: Vec<&str> = Vec::new();
    if ctx.ansi_tty && generation < ElixirGen::V1_19 {
        prefix.extend(["-elixir", "ansi_enabled", "true"]);
    }
    match generation {
        ElixirGen::V1_14 if !iex_mode => prefix.extend(["-noshell", "-s", "elixir", "start_cli"]),
        ElixirGen::V1_15 => prefix.extend(["-s", "elixir", "start_cli"]),
        ElixirGen::V1_16 if iex_mode => prefix.extend(["-s", "elixir", "start_iex"]),
        ElixirGen::V1_16 | ElixirGen::V1_17 | ElixirGen::V1_19 if !iex_mode => {
            prefix.extend(["-s", "elixir", "start_cli"])
        }
        _ => {}
    }

    let mut erl_args: Vec<OsString> = Vec::new();
    if generation > ElixirGen::V1_14 {
        erl_args.push("-noshell".into());
    }
    if let Some(opts) = &ctx.elixir_erl_options {
        erl_args.extend(split_words(opts));
    }
    erl_args.extend(prefix.into_iter().map(OsString::from));
    erl_args.extend(erl);
    erl_args.extend(array);
    erl_args.push("-extra".into());
    erl_args.extend(tail);
    Translated { erl_args, pipe_to }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &Translated) -> String {
        t.erl_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn start(iex: bool) -> Invocation {
        let inv = if iex {
            Invocation::iex()
        } else {
            Invocation::elixir()
        };
        let inv = inv.args([
            "--cookie",
            "C",
            "--sname",
            "demo",
            "--erl",
            "-mode embedded",
            "--erl-config",
            "/R/releases/0.1.0/sys",
            "--boot",
            "/R/releases/0.1.0/start",
            "--boot-var",
            "RELEASE_LIB",
            "/R/lib",
            "--vm-args",
            "/R/releases/0.1.0/vm.args",
        ]);
        if iex { inv } else { inv.arg("--no-halt") }
    }

    const TAIL: &str = "-setcookie C -sname demo -config /R/releases/0.1.0/sys -boot /R/releases/0.1.0/start -boot_var RELEASE_LIB /R/lib -args_file /R/releases/0.1.0/vm.args -extra";

    #[test]
    fn start_is_the_same_in_every_generation() {
        for g in [
            ElixirGen::V1_15,
            ElixirGen::V1_16,
            ElixirGen::V1_17,
            ElixirGen::V1_19,
        ] {
            let t = translate(&start(false), g, &Context::default());
            assert_eq!(
                words(&t),
                format!("-noshell -s elixir start_cli -mode embedded {TAIL} --no-halt")
            );
        }
        let t = translate(&start(false), ElixirGen::V1_14, &Context::default());
        assert_eq!(
            words(&t),
            format!("-noshell -s elixir start_cli -mode embedded {TAIL} --no-halt")
        );
    }

    #[test]
    fn start_iex_per_generation() {
        let cases = [
            (
                ElixirGen::V1_14,
                "-noshell -user Elixir.IEx.CLI -mode embedded",
                "--no-halt +iex",
            ),
            (
                ElixirGen::V1_15,
                "-noshell -s elixir start_cli -user elixir -mode embedded",
                "--no-halt -e :elixir.start_iex() +iex",
            ),
            (
                ElixirGen::V1_16,
                "-noshell -s elixir start_iex -user elixir -mode embedded",
                "--no-halt +iex",
            ),
            (
                ElixirGen::V1_17,
                "-noshell -user elixir -mode embedded",
                "--no-halt +iex",
            ),
            (
                ElixirGen::V1_19,
                "-noshell -user elixir -mode embedded",
                "--no-halt +iex",
            ),
        ];
        for (g, head, tail) in cases {
            let t = translate(&start(true), g, &Context::default());
            assert_eq!(words(&t), format!("{head} {TAIL} {tail}"), "{g:?}");
        }
    }

    #[test]
    fn options_and_tty() {
        let ctx = Context {
            elixir_erl_options: Some("+K true -heart".into()),
            ansi_tty: true,
        };
        let t = translate(&start(true), ElixirGen::V1_14, &ctx);
        assert!(
            words(&t).starts_with(
                "+K true -heart -elixir ansi_enabled true -noshell -user Elixir.IEx.CLI"
            )
        );
        let t = translate(&start(false), ElixirGen::V1_17, &ctx);
        assert!(
            words(&t).starts_with(
                "-noshell +K true -heart -elixir ansi_enabled true -s elixir start_cli"
            )
        );
        let t = translate(&start(false), ElixirGen::V1_19, &ctx);
        assert!(words(&t).starts_with("-noshell +K true -heart -s elixir start_cli"));
    }

    #[test]
    fn pipe_to_and_rpc_eval() {
        let inv = Invocation::elixir().args([
            "--hidden",
            "--rpc-eval",
            "demo",
            "IO.puts 1",
            "--pipe-to",
            "/T/pipe",
            "/T/log",
        ]);
        let t = translate(&inv, ElixirGen::V1_17, &Context::default());
        assert_eq!(
            words(&t),
            "-noshell -s elixir start_cli -hidden -extra --rpc-eval demo IO.puts 1"
        );
        assert_eq!(t.pipe_to, Some(("/T/pipe".into(), "/T/log".into())));
        let inv = Invocation::elixir().args(["--eval", "x", "--", "a", "--cookie"]);
        let t = translate(&inv, ElixirGen::V1_17, &Context::default());
        assert_eq!(
            words(&t),
            "-noshell -s elixir start_cli -extra --eval x -- a --cookie"
        );
    }
}
