use super::*;
use crate::config::testing::{Rng, erl_eval};
use crate::test_support::scratch;

fn values(text: &str) -> Vec<String> {
    words(text)
}

#[test]
fn tokenizer_follows_erlexec() {
    assert_eq!(
        values("-sname demo # comment\n+K true\n\t-a  'b c'  \"d  e\"\n"),
        ["-sname", "demo", "+K", "true", "-a", "b c", "d  e"]
    );
    // `#` ends the argument it touches, but not inside quotes or after `\`
    assert_eq!(values("a#b c\nd"), ["a", "d"]);
    assert_eq!(values("\"a#b\" c 'x#y'"), ["a#b", "c", "x#y"]);
    assert_eq!(values("a\\#b"), ["a#b"]);
    // `\` takes the next byte, a newline too; inside quotes it is literal
    assert_eq!(values("a\\\\ b"), ["a\\", "b"]);
    assert_eq!(values("a\\ b"), ["a b"]);
    assert_eq!(values("a\\\nb \"c\\\\d\""), ["a\nb", "c\\\\d"]);
    assert_eq!(values("\"a\nb\" 'c\td'"), ["a\nb", "c\td"]);
    assert_eq!(values("''  x"), ["", "x"]);
    assert_eq!(values("a\"b c\"d"), ["ab cd"]);
    assert_eq!(values("   \n# only comment\n"), Vec::<String>::new());
    // unterminated quotes end with the text, a final `\` is dropped, NUL ends the text
    assert_eq!(values("x 'a b"), ["x", "a b"]);
    assert_eq!(values("x ab\\"), ["x", "ab"]);
    assert_eq!(values("x a\0b c"), ["x", "a"]);
    // variables have no comments
    assert_eq!(words_of_variable("-a #b c#d"), ["-a", "#b", "c#d"]);
    let toks = tokenize("x\n\n  -args_file 'my file'\n");
    assert_eq!(toks[2].line, 3);
    assert_eq!(
        &"x\n\n  -args_file 'my file'\n"[toks[2].span.clone()],
        "'my file'"
    );
    let text = "a \\#b\\\\c \"q\"#x";
    let spans: Vec<_> = tokenize(text).into_iter().map(|t| &text[t.span]).collect();
    assert_eq!(spans, ["a", "\\#b\\\\c", "\"q\""]);
}

#[test]
fn quote_arg_round_trips() {
    let samples: [&[u8]; 9] = [
        b"/tmp/plain/vm.args",
        b"/tmp/with space/a  b",
        b"/x/#hash'quote\"dq",
        b"back\\slash\\",
        b"tab\tnl\ncr\r",
        b"",
        b"  lead and trail  ",
        b"$HOME ${X} & * ? ~",
        "/t\u{e9}st/\u{1F600}".as_bytes(),
    ];
    for s in samples {
        let q = quote_arg(s);
        let text = format!("-args_file {} -x", String::from_utf8(q).unwrap());
        let toks = tokenize(&text);
        assert_eq!(toks.len(), 3, "{text:?}");
        assert_eq!(toks[1].value.as_bytes(), s, "{text:?}");
    }
    assert_eq!(quote_arg(b"/tmp/x/vm.args"), b"/tmp/x/vm.args");
}

/// Random args-file text over the bytes both passes care about (never `-` or `+`, so
/// every argument is a plain value of the flag in front of it).
pub(crate) fn random_args_text(rng: &mut Rng, max: usize) -> String {
    const PIECES: &[&str] = &[
        "a", "b", "\u{e9}", " ", "  ", "\\", "#", "\"", "'", "\n", "\t", "\r", "x y", "\\\\", "$",
        "${", "}", "\x0b", "\x0c", "\0", "# c\n",
    ];
    rng.text(PIECES, max)
}

/// The oracle: real erlexec reads every file, `init:get_argument/1` gives the values.
#[test]
fn differential_against_erlexec() {
    let d = scratch("erlexec");
    let mut rng = Rng::new(0x5eed);
    let mut files = Vec::new();
    let mut expected = String::new();
    for i in 0..300 {
        let body = random_args_text(&mut rng, 20);
        let text = format!("-f{i} {body}");
        let path = d.join(format!("f{i}"));
        std::fs::write(&path, &text).unwrap();
        files.push(path);
        let vals: Vec<String> = words(&text)[1..]
            .iter()
            .map(|v| {
                let codes: Vec<String> = v.chars().map(|c| (c as u32).to_string()).collect();
                format!("[{}]", codes.join(","))
            })
            .collect();
        expected.push_str(&format!("{i} {{ok,[[{}]]}}\n", vals.join(",")));
    }
    let mut args: Vec<String> = Vec::new();
    for f in &files {
        args.push("-args_file".into());
        args.push(f.display().to_string());
    }
    let out = erl_eval(
        &args,
        "[io:format(\"~w ~w~n\", [I, init:get_argument(list_to_atom(\"f\" ++ \
         integer_to_list(I)))]) || I <- lists:seq(0, 299)], halt().",
    );
    for (got, want) in out.lines().zip(expected.lines()) {
        let i: usize = want.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(
            got,
            want,
            "file {:?}",
            std::fs::read_to_string(&files[i]).unwrap()
        );
    }
    assert_eq!(out.lines().count(), 300, "{out}");
}
