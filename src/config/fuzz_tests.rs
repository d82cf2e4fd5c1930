//! Bounded fuzz drivers for the parsers beamrc runs on user input: erlexec's args-file
//! tokenizer, the vm.args and sys.config value writers, the substitution engine, and the
//! env-file parser (`environment::dotenv`). Each runs on the stable toolchain under
//! `cargo test`, deterministic (fixed seeds) and bounded to about two seconds; it asserts
//! no panic plus an invariant per parser.
use std::time::Duration;

use super::args_file::{quote_arg, tokenize, words};
use super::args_template::ArgsFile;
use super::erl_strings::decode_string;
use super::erl_template::ErlangTerms;
use super::erl_terms::{Tok, lex, top_level_strings};
use super::subst::{Raw, Syntax, UnsetPolicy, render};
use super::testing::{Rng, bounded, erl_eval};
use crate::test_support::scratch;

const BUDGET: Duration = Duration::from_secs(2);

/// Pieces that matter to one parser or another.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    " ",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\0",
    "\\",
    "\\\\",
    "#",
    "%",
    "\"",
    "'",
    "$",
    "$$",
    "${",
    "$${",
    "}",
    "{",
    "[",
    "]",
    ",",
    ".",
    "<<",
    ">>",
    ":-",
    "${V}",
    "${V:-d}",
    "${U}",
    "${U:-x y}",
    "-args_file",
    "-sname",
    "\u{e9}",
    "\u{20ac}",
    "\u{1F600}",
    "=",
    "export ",
    "K=v\n",
];

/// Values a user could put in a variable (no NUL: the environment cannot hold one).
const VALUE_PIECES: &[&str] = &[
    "a",
    "b",
    " ",
    "  ",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\\",
    "#",
    "\"",
    "'",
    "$",
    "${X}",
    "%",
    "}",
    "\u{e9}",
    "\u{20ac}",
    "\u{1F600}",
    "\x01",
    "\x7f",
];

fn value(rng: &mut Rng) -> String {
    let v = rng.text(VALUE_PIECES, 6);
    if v.is_empty() { "x".into() } else { v }
}

#[test]
fn args_file_tokenizer_never_panics() {
    let n = bounded("args_file", 20_000, BUDGET, |rng| {
        let text = rng.text(PIECES, 40);
        for t in tokenize(&text) {
            assert!(
                t.span.start < t.span.end && t.span.end <= text.len(),
                "{text:?}"
            );
            assert!(text.is_char_boundary(t.span.start), "{text:?}");
            assert!(t.line >= 1 && t.line <= 1 + text.matches('\n').count());
            assert!(!text[t.span.clone()].starts_with(char::is_whitespace));
        }
        let v = value(rng);
        let quoted = String::from_utf8(quote_arg(v.as_bytes())).unwrap();
        assert_eq!(words(&format!("-a {quoted} -b")), ["-a", &v, "-b"], "{v:?}");
    });
    assert!(n > 100, "only {n} cases ran");
}

/// Writes a fresh placeholder character for every non-empty value and remembers it.
#[derive(Default)]
struct Placeholders(Vec<String>);

impl Syntax for Placeholders {
    fn copied(&mut self, _: &[u8]) {}
    fn in_comment(&mut self, _: usize) -> bool {
        false
    }
    fn write(&mut self, _: usize, value: &str, out: &mut String) -> Result<(), String> {
        if !value.is_empty() {
            out.push(char::from_u32(0xE000 + self.0.len() as u32).unwrap());
            self.0.push(value.to_string());
        }
        Ok(())
    }
}

/// A reference behaves like one plain character that is then replaced by its value: the
/// arguments erlexec reads from the rendered file are those of the template with a
/// placeholder character per reference, each placeholder replaced by its value.
#[test]
fn vm_args_values_arrive_as_written() {
    let n = bounded("vm_args values", 20_000, BUDGET, |rng| {
        let template = rng.text(PIECES, 30);
        let v = value(rng);
        let lookup = |k: &str| (k == "V").then(|| v.clone());
        let rendered = render(
            &template,
            &mut ArgsFile::default(),
            &lookup,
            UnsetPolicy::Empty,
        );
        if !rendered.problems.is_empty() {
            return; // a NUL in a default: refused
        }
        let mut placeholders = Placeholders::default();
        let oracle = render(&template, &mut placeholders, &lookup, UnsetPolicy::Empty);
        let want: Vec<String> = words(&oracle.text)
            .into_iter()
            .map(|w| {
                w.chars()
                    .map(|c| match (c as u32).checked_sub(0xE000) {
                        Some(k) if (k as usize) < placeholders.0.len() => {
                            placeholders.0[k as usize].clone()
                        }
                        _ => c.to_string(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            words(&rendered.text),
            want,
            "template {template:?} value {v:?} rendered {:?}",
            rendered.text
        );
    });
    assert!(n > 100, "only {n} cases ran");
}

#[test]
fn sys_config_strings_and_atoms_hold_values() {
    let n = bounded("sys.config values", 20_000, BUDGET, |rng| {
        let v = value(rng);
        let template = "[{a, \"<${V}>\"}, {b, '${V}'}, {c, <<\"${V}\">>}].\n";
        let lookup = |k: &str| (k == "V").then(|| v.clone());
        let r = render(
            template,
            &mut ErlangTerms::new(template),
            &lookup,
            UnsetPolicy::Error,
        );
        assert!(r.problems.is_empty());
        let strs: Vec<String> = lex(&r.text, false)
            .toks
            .iter()
            .filter_map(|t| match t {
                Tok::Str(s) => decode_string(&r.text[s.start + 1..s.end - 1]),
                _ => None,
            })
            .collect();
        assert_eq!(strs, [format!("<{v}>"), v.clone()], "{:?}", r.text);
        let atom = &r.text[r.text.find("{b, '").unwrap() + 5..r.text.rfind("'}, {c").unwrap()];
        assert_eq!(decode_string(atom).as_deref(), Some(v.as_str()), "{atom:?}");
        // arbitrary text: no panic anywhere
        let text = rng.text(PIECES, 40);
        let lexed = lex(&text, true);
        assert!(lexed.comments.iter().all(|c| c.end <= text.len()));
        let _ = top_level_strings(&text);
        let _ = render(
            &text,
            &mut ErlangTerms::new(&text),
            &lookup,
            UnsetPolicy::Error,
        );
    });
    assert!(n > 100, "only {n} cases ran");
}

#[test]
fn substitution_invariants() {
    let n = bounded("substitution", 20_000, BUDGET, |rng| {
        let text = rng.text(PIECES, 40);
        let lookup = |k: &str| match k {
            "V" => Some("val".to_string()),
            _ => None,
        };
        // never panics, whatever the syntax
        let raw = render(&text, &mut Raw, &lookup, UnsetPolicy::Error);
        let _ = render(&text, &mut ArgsFile::default(), &lookup, UnsetPolicy::Error);
        let _ = render(
            &text,
            &mut ErlangTerms::new(&text),
            &lookup,
            UnsetPolicy::Error,
        );
        // every unset reference is reported with a real line
        let lines = 1 + text.matches('\n').count();
        assert!(raw.problems.iter().all(|p| p.line >= 1 && p.line <= lines));
        // text without `${` is copied unchanged by every syntax
        let plain = text.replace("${", "$ {");
        for out in [
            render(&plain, &mut Raw, &lookup, UnsetPolicy::Error),
            render(
                &plain,
                &mut ArgsFile::default(),
                &lookup,
                UnsetPolicy::Error,
            ),
            render(
                &plain,
                &mut ErlangTerms::new(&plain),
                &lookup,
                UnsetPolicy::Error,
            ),
        ] {
            assert_eq!(out.text, plain);
            assert!(out.problems.is_empty());
        }
    });
    assert!(n > 100, "only {n} cases ran");
}

#[test]
fn env_file_parser_never_panics() {
    use crate::environment::EnvMap;
    use crate::environment::dotenv::load_env_files;
    const ENV_PIECES: &[&str] = &[
        "K", "_1", "=", "\n", "\r\n", " ", "#", "\"", "'", "\\", "\\n", "$", "${", "}", "export ",
        "s3cr3t", "\u{e9}", "\u{FEFF}", "\0", "\t", "=\"", "\"\n",
    ];
    let d = scratch("dotenv-fuzz");
    let file = d.join("release.env");
    let n = bounded("dotenv", 5_000, BUDGET, |rng| {
        let text = rng.text(ENV_PIECES, 30);
        std::fs::write(&file, &text).unwrap();
        match load_env_files(&EnvMap::new(), &file) {
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                assert_eq!(e.code(), 4, "{msg}");
                assert!(!msg.contains("s3cr3t"), "an error quoted the file: {msg}");
            }
        }
    });
    assert!(n > 100, "only {n} cases ran");
}

/// The values written into a sys.config, read back by the real VM (`file:consult/1`).
#[test]
fn sys_config_values_read_back_by_erlang() {
    let d = scratch("consult");
    let mut rng = Rng::new(0xc0ffee);
    let values: Vec<String> = (0..200).map(|_| value(&mut rng)).collect();
    let mut template = String::from("%% coding: utf-8\n[\n");
    let mut expected = String::new();
    for (i, v) in values.iter().enumerate() {
        template.push_str(&format!("{{v{i}, \"${{V{i}}}\", '${{V{i}}}'}},\n"));
        let codes: Vec<String> = v.chars().map(|c| (c as u32).to_string()).collect();
        let codes = codes.join(",");
        expected.push_str(&format!("[{codes}] [{codes}]\n"));
    }
    template.push_str("eol].\n");
    let lookup = |k: &str| {
        k.strip_prefix('V')
            .and_then(|i| i.parse::<usize>().ok())
            .map(|i| values[i].clone())
    };
    let r = render(
        &template,
        &mut ErlangTerms::new(&template),
        &lookup,
        UnsetPolicy::Error,
    );
    assert!(r.problems.is_empty());
    let file = d.join("values.config");
    std::fs::write(&file, &r.text).unwrap();
    let out = erl_eval(
        &[],
        &format!(
            "{{ok, [L]}} = file:consult(\"{}\"), \
             [io:format(\"~w ~w~n\", [S, atom_to_list(A)]) || {{_, S, A}} <- lists:droplast(L)], \
             halt().",
            file.display()
        ),
    );
    for ((got, want), v) in out.lines().zip(expected.lines()).zip(&values) {
        assert_eq!(got, want, "value {v:?}");
    }
    assert_eq!(out.lines().count(), values.len(), "{out}");
}
