//! Writing substituted values into an args file (`vm.args` and the files it pulls in) so
//! that erlexec reads back exactly the value, as part of the argument the reference is in.
//!
//! The [`Syntax`] follows the rendered output through erlexec's own state machine
//! ([`Lexer`]), so it always knows where the next byte lands, and writes the value for
//! that place:
//!
//! * outside quotes, a `\` goes before each byte erlexec would interpret there (`\ # " '`,
//!   whitespace): `x y` → `x\ y`;
//! * inside `"…"` everything is literal but `"`, written `"\""` (close, escaped quote,
//!   reopen); likewise `'` inside `'…'`;
//! * right after a `\` (which takes the next byte as it is) the first byte is written bare.
//!
//! An empty value writes nothing (as relx): a reference that is a whole argument then
//! removes the argument, since an empty argument would become a value of the flag in
//! front of it; `"${V}"` passes an empty argument. Comments are copied verbatim.
use super::args_file::{Lexer, State, push_escaped};
use super::subst::Syntax;

/// [`Syntax`] for args files.
#[derive(Default)]
pub(crate) struct ArgsFile {
    lexer: Lexer,
}

impl ArgsFile {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.lexer.feed(b);
        }
    }
}

impl Syntax for ArgsFile {
    fn copied(&mut self, bytes: &[u8]) {
        self.feed(bytes);
    }

    fn in_comment(&mut self, _: usize) -> bool {
        self.lexer.in_comment()
    }

    fn write(&mut self, _: usize, value: &str, out: &mut String) -> Result<(), String> {
        let bytes = encode(&self.lexer, value.as_bytes());
        self.feed(&bytes);
        // only ASCII bytes were added, between whole characters of `value`
        out.push_str(std::str::from_utf8(&bytes).map_err(|e| e.to_string())?);
        Ok(())
    }
}

/// The bytes that make erlexec, in state `lexer`, add exactly `value` to the argument.
fn encode(lexer: &Lexer, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    match lexer.state {
        State::Double | State::Single => {
            let q = if lexer.state == State::Double {
                b'"'
            } else {
                b'\''
            };
            for &c in value {
                if c == q {
                    out.extend_from_slice(&[q, b'\\', q, q]);
                } else {
                    out.push(c);
                }
            }
        }
        State::Accept => {
            if let Some((&first, rest)) = value.split_first() {
                out.push(first);
                push_escaped(&mut out, rest);
            }
        }
        State::Between | State::Word | State::Comment | State::Ended => {
            push_escaped(&mut out, value)
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::args_file::words;
    use crate::config::subst::{UnsetPolicy, render};

    fn render_with(template: &str, value: &str) -> String {
        let v = value.to_string();
        let r = render(
            template,
            &mut ArgsFile::default(),
            &|k| (k == "V").then(|| v.clone()),
            UnsetPolicy::Error,
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        r.text
    }

    /// Values that erlexec's tokenizer would change if written as they are.
    const VALUES: [&str; 13] = [
        "say \"hi\"",
        "a\\b",
        "it's",
        "x y",
        "  two  spaces  ",
        "tab\there",
        "line\nbreak",
        "#not a comment",
        "\\",
        "trailing\\",
        "'\"'\"",
        "${X} $HOME &",
        "\u{e9}t\u{e9} \u{1F600}",
    ];

    #[test]
    fn values_arrive_as_written() {
        for v in VALUES {
            let args = words(&render_with("-myarg ${V} -next", v));
            assert_eq!(args, ["-myarg", v, "-next"], "{v:?}");
            let args = words(&render_with("-myarg pre${V}post", v));
            assert_eq!(args[1], format!("pre{v}post"), "{v:?}");
            let args = words(&render_with("-myarg \"in ${V} dq\" 'in ${V} sq'", v));
            assert_eq!(
                args[1..],
                [format!("in {v} dq"), format!("in {v} sq")],
                "{v:?}"
            );
            // right after a `\`
            let args = words(&render_with("-a \\${V} -b", v));
            assert_eq!(args, ["-a", v, "-b"], "{v:?}");
        }
    }

    #[test]
    fn empty_values_and_comments() {
        assert_eq!(words(&render_with("-a ${V} -b", "")), ["-a", "-b"]);
        assert_eq!(words(&render_with("-a \"${V}\" -b", "")), ["-a", "", "-b"]);
        assert_eq!(words(&render_with("-a x${V}y", "")), ["-a", "xy"]);
        // a reference in a comment stays as written
        assert_eq!(
            render_with("-a 1 # ${V} ${UNSET}\n-b ${V}", "q r"),
            "-a 1 # ${V} ${UNSET}\n-b q\\ r"
        );
        let r = render(
            "-a ${V:-\0}",
            &mut ArgsFile::default(),
            &|_| None,
            UnsetPolicy::Error,
        );
        assert_eq!(r.problems.len(), 1);
    }

    #[test]
    fn plain_values_are_unchanged() {
        assert_eq!(
            render_with("-sname ${V}\n-env PORT ${PORT:-4000}\n", "web1@host"),
            "-sname web1@host\n-env PORT 4000\n"
        );
    }

    /// The rendered files read by the real erlexec: `init:get_argument(myarg)`.
    #[test]
    fn erlexec_reads_the_values_back() {
        use crate::config::testing::erl_eval;
        let d = crate::test_support::scratch("erlexec-values");
        let templates = [
            "-myarg ${V}",
            "-myarg p${V}q",
            "-myarg \"d ${V}\"",
            "-myarg 's ${V}'",
            "-myarg \\${V}",
        ];
        let mut args = Vec::new();
        let mut want = Vec::new();
        for (i, v) in VALUES.iter().enumerate() {
            for (j, t) in templates.iter().enumerate() {
                let f = d.join(format!("f{i}-{j}"));
                std::fs::write(&f, render_with(t, v)).unwrap();
                args.push("-args_file".to_string());
                args.push(f.display().to_string());
                let expect = match j {
                    1 => format!("p{v}q"),
                    2 => format!("d {v}"),
                    3 => format!("s {v}"),
                    _ => v.to_string(),
                };
                let codes: Vec<String> = expect.chars().map(|c| (c as u32).to_string()).collect();
                want.push(format!("[[{}]]", codes.join(",")));
            }
        }
        let out = erl_eval(
            &args,
            "{ok, A} = init:get_argument(myarg), [io:format(\"~w~n\", [X]) || X <- A], halt().",
        );
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }
}
