use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run(text: &str, pairs: &[(&str, &str)]) -> String {
    let e = env(pairs);
    substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Error).unwrap()
}

fn run_empty(text: &str, pairs: &[(&str, &str)]) -> String {
    let e = env(pairs);
    substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Empty).unwrap()
}

fn missing(text: &str, pairs: &[(&str, &str)]) -> Vec<(String, usize)> {
    let e = env(pairs);
    substitute(text, &|k| e.get(k).cloned(), UnsetPolicy::Error)
        .unwrap_err()
        .into_iter()
        .map(|m| {
            assert_eq!(m.why, Why::Unset);
            (m.var, m.line)
        })
        .collect()
}

#[test]
fn plain_and_default() {
    assert_eq!(run("a ${A} b", &[("A", "x")]), "a x b");
    assert_eq!(run("${A}${B}", &[("A", "1"), ("B", "2")]), "12");
    assert_eq!(run("${UNSET:-def}", &[]), "def");
    assert_eq!(run("${A:-def}", &[("A", "v")]), "v");
    assert_eq!(run("${UNSET:-}", &[]), "");
    assert_eq!(run("${UNSET:-a:-b}", &[]), "a:-b");
    assert_eq!(run("{port, ${PORT:-4000}}.", &[]), "{port, 4000}.");
    assert_eq!(run("${_x9}", &[("_x9", "ok")]), "ok");
}

#[test]
fn empty_versus_unset() {
    // set-but-empty: `${VAR}` gives empty, `:-` takes the default
    assert_eq!(run("[${EMPTY}]", &[("EMPTY", "")]), "[]");
    assert_eq!(run("[${EMPTY:-def}]", &[("EMPTY", "")]), "[def]");
    assert_eq!(missing("[${UNSET}]", &[]), vec![("UNSET".into(), 1)]);
    assert_eq!(run_empty("[${UNSET}]", &[]), "[]");
}

#[test]
fn literal_escape_and_dollars() {
    assert_eq!(run("$${A}", &[("A", "x")]), "${A}");
    assert_eq!(run("$${NOT_SET}", &[]), "${NOT_SET}");
    assert_eq!(run("$$${A}", &[("A", "x")]), "$${A}");
    assert_eq!(run("$A ${A} $ $$ a$", &[("A", "aa")]), "$A aa $ $$ a$");
    assert_eq!(run("cost: 5$", &[]), "cost: 5$");
}

#[test]
fn not_a_reference_is_literal() {
    assert_eq!(run("${A-def}", &[("A", "x")]), "${A-def}");
    assert_eq!(run("${ A }", &[("A", "x")]), "${ A }");
    assert_eq!(run("${1}", &[]), "${1}");
    assert_eq!(run("${}", &[]), "${}");
    assert_eq!(run("${A:x}", &[("A", "x")]), "${A:x}");
    // scanning resumes after the literal `${`
    assert_eq!(run("${A-${B}}", &[("B", "b")]), "${A-b}");
    // unterminated on its line
    assert_eq!(run("${A", &[("A", "x")]), "${A");
    assert_eq!(run("${A:-abc\n}", &[]), "${A:-abc\n}");
    assert_eq!(run("x ${A:-abc", &[]), "x ${A:-abc");
}

#[test]
fn values_are_literal() {
    let cases = [
        "p&q",
        "x\\y",
        "$HOME",
        "a\nb",
        "${A}",
        "\\1 \\0 & $1",
        "${",
        ".*+?()[]{}|^",
    ];
    for v in cases {
        assert_eq!(run("<${V}>", &[("V", v), ("A", "no")]), format!("<{v}>"));
    }
    // self-referential value is not expanded again
    assert_eq!(run("${SELF}", &[("SELF", "${SELF}")]), "${SELF}");
}

#[test]
fn defaults_are_literal() {
    assert_eq!(run("${U:-x.y*z}", &[]), "x.y*z");
    assert_eq!(run("${U:-(p)}", &[]), "(p)");
    assert_eq!(run("${U:-p&q\\1$}", &[]), "p&q\\1$");
    assert_eq!(run("${U:-$A}", &[("A", "no")]), "$A");
    assert_eq!(run("${U:-$${A}", &[("A", "no")]), "$${A");
}

#[test]
fn nested_default_ends_at_first_brace() {
    // The default is `${B`; the outer `}` stays. Documented, and it must not hang.
    assert_eq!(run("${UNSET:-${A}}", &[("A", "aa")]), "${A}");
    assert_eq!(run("${X:-${A}}", &[("X", "x"), ("A", "aa")]), "x}");
}

#[test]
fn all_missing_with_lines() {
    let text = "one ${A}\n${B} ${C:-c}\n\n${D}${A}\n$${E}\n";
    assert_eq!(
        missing(text, &[]),
        vec![
            ("A".into(), 1),
            ("B".into(), 2),
            ("D".into(), 4),
            ("A".into(), 4)
        ]
    );
}

#[test]
fn large_input_is_linear() {
    // 5 MB of mixed references and pathological unterminated defaults
    let chunk = "-env X ${A} ${U:-d} $${L} $ ${ ${A:-${A:-${A:- }} & \\\n";
    let mut text = String::new();
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(chunk);
    }
    let mut patho = "${A:-".repeat(200_000);
    patho.push('\n');
    text.push_str(&patho);
    let start = std::time::Instant::now();
    let out = run(&text, &[("A", "a")]);
    assert!(out.len() > 3 * 1024 * 1024);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn policy_from_setting() {
    assert_eq!(UnsetPolicy::from_setting(None).unwrap(), UnsetPolicy::Error);
    assert_eq!(
        UnsetPolicy::from_setting(Some("empty")).unwrap(),
        UnsetPolicy::Empty
    );
    assert!(UnsetPolicy::from_setting(Some("yes")).is_err());
}

#[test]
fn env_lookup_reads_envmap() {
    let mut m = EnvMap::new();
    m.set("A", "1");
    let l = env_lookup(&m);
    assert_eq!(l("A").as_deref(), Some("1"));
    assert_eq!(l("B"), None);
}

#[test]
fn values_that_are_not_text_are_refused() {
    use std::os::unix::ffi::OsStringExt;
    let mut m = EnvMap::new();
    m.set("BAD", std::ffi::OsString::from_vec(b"caf\xe9".to_vec()));
    m.set("OK", "caf\u{e9}");
    let l = env_lookup(&m);
    let e = substitute("a ${OK} ${BAD}\n${BAD:-x}", &l, UnsetPolicy::Error).unwrap_err();
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        matches!(&e[0].why, Why::Refused(r) if r.contains("UTF-8")),
        "{e:?}"
    );
    assert_eq!((e[0].var.as_str(), e[1].line), ("BAD", 2));
    // a NUL in a default cannot be written either
    let e = substitute("${U:-a\0b}", &l, UnsetPolicy::Error).unwrap_err();
    assert!(
        matches!(&e[0].why, Why::Refused(r) if r.contains("NUL")),
        "{e:?}"
    );
    assert_eq!(
        substitute("${OK}", &l, UnsetPolicy::Error).unwrap(),
        "caf\u{e9}"
    );
}

/// relx's awk renderer (the loop from `extended_bin`), for the cases where it neither
/// hangs nor silently empties: the outputs must agree.
#[test]
fn differential_against_relx_awk() {
    let awk = ["mawk", "awk", "gawk"].into_iter().find(|a| {
        std::process::Command::new(a)
            .arg("BEGIN{}")
            .output()
            .is_ok()
    });
    let awk = awk.expect("no awk found: install mawk (apt-get install mawk)");
    let program = r#"{
  while (match($0, "[$]{[^}]*}")) {
    var = substr($0, RSTART+2, RLENGTH-3)
    split(var, parts, ":-")
    val = ENVIRON[parts[1]]
    gsub("&", "\\\\&", val)
    if (index(var, ":-") && val == "") {
      def = substr(var, index(var, ":-") + 2)
      gsub("&", "\\\\&", def)
      gsub("[$]{"var"}", def)
    } else {
      gsub("[$]{"var"}", val)
    }
  }
  print
}"#;
    let input = "-sname ${A}\n\
                     -setcookie ${AMP}\n\
                     {a, \"${UNSET:-def}\"}\n\
                     x ${EMPTY:-fallback} y\n\
                     $A ${A} ${BS} ${DOL}\n\
                     ${UNSET:-a:-b} ${UNSET:-}\n\
                     plain line & stuff\n";
    let vars = [
        ("A", "aa"),
        ("AMP", "p&q"),
        ("EMPTY", ""),
        ("BS", "x\\y"),
        ("DOL", "$HOME"),
    ];
    let out = std::process::Command::new(awk)
        .arg(program)
        .env_remove("UNSET")
        .envs(vars)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(input.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let relx = String::from_utf8(out.stdout).unwrap();
    assert_eq!(run(input, &vars), relx);
}
