//! The argv of every command for every Elixir generation, against the lines recorded from
//! the real scripts of each version (the reference's `elixir-argv-by-version.md`).
use super::command::Command;
use super::escape::Locale;
use super::{Action, Inputs, commands, elixir_cli};
use crate::environment::{EnvMap, vars};
use crate::release::ElixirGen;
use std::path::{Path, PathBuf};

const COOKIE: &str = "NUIXYZ====";

fn inputs(version: &str) -> Inputs {
    let env: EnvMap = [
        ("RELEASE_ROOT", "/R"),
        ("RELEASE_NAME", "demo"),
        ("RELEASE_VSN", "0.1.0"),
        ("RELEASE_PROG", "demo"),
    ]
    .into_iter()
    .collect();
    let vars = vars::finish(env, Path::new("/R/releases/0.1.0"));
    Inputs {
        vars,
        generation: ElixirGen::from_version(version),
        elixir_version: crate::release::layout::version_tuple(version),
        cookie: Some(COOKIE.into()),
        cookie_in_vm_args: false,
        dist_in_vm_args: false,
        rendered: Vec::new(),
        erts_bin: Some(PathBuf::from("/R/releases/0.1.0/../../erts-13.1.5/bin")),
        bindir: Some(PathBuf::from("/R/erts-13.1.5/bin")),
        cli: elixir_cli::Context::default(),
        locale: Locale::Utf8,
        rand: ["aaaa".into(), "XXXX".into()],
        timestamp: "20260101000000".into(),
        reboot_release: false,
        baked_mode_flag: None,
        sys_config: None,
        switches: Default::default(),
        hostname: "vm".into(),
        pid1: false,
        remote_vm_args_words: Vec::new(),
    }
}

/// The recorded line: the erl script path, then the arguments (or run_erl's argv).
fn line(version: &str, args: &[&str]) -> String {
    let inputs = inputs(version);
    let cmd = Command::parse(&args.iter().map(Into::into).collect::<Vec<_>>());
    let plan = commands::plan(&cmd, &inputs).unwrap();
    let action = match plan.action {
        Action::Remote(r) => r.vm.action,
        Action::Start(s) => Action::Exec(s.spec),
        other => other,
    };
    let words: Vec<String> = match action {
        Action::Exec(spec) => {
            let mut w = vec!["$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl".to_string()];
            w.extend(
                spec.argv[1..]
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned()),
            );
            w
        }
        Action::Daemon(d) => d
            .run_erl
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        _ => unreachable!(),
    };
    words
        .join(" ")
        .replace("/R/", "$ROOT/")
        .replace(COOKIE, "$COOKIE")
        .replace(r"NUIXYZ\=\=\=\=", "$COOKIE")
}

const V14: &[(&[&str], &str)] = &[
    (
        &["start"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt",
    ),
    (
        &["start_iex"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -user Elixir.IEx.CLI -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt +iex",
    ),
    (
        &["daemon"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts\-13\.1\.5/bin/erl \-noshell \-s elixir start_cli \-mode embedded \-setcookie $COOKIE \-sname demo \-config $ROOT/releases/0\.1\.0/sys \-boot $ROOT/releases/0\.1\.0/start \-boot_var RELEASE_LIB $ROOT/lib \-args_file $ROOT/releases/0\.1\.0/vm\.args \-extra \-\-no\-halt",
    ),
    (
        &["daemon_iex"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts\-13\.1\.5/bin/erl \-noshell \-user Elixir\.IEx\.CLI \-mode embedded \-setcookie $COOKIE \-sname demo \-config $ROOT/releases/0\.1\.0/sys \-boot $ROOT/releases/0\.1\.0/start \-boot_var RELEASE_LIB $ROOT/lib \-args_file $ROOT/releases/0\.1\.0/vm\.args \-extra \-\-no\-halt \+iex",
    ),
    (
        &["eval", "X"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -setcookie $COOKIE -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --eval X",
    ),
    (
        &["rpc", "X"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -hidden -setcookie $COOKIE -sname rpc-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --rpc-eval demo X",
    ),
    (
        &["remote"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -user Elixir.IEx.CLI -hidden -setcookie $COOKIE -sname rem-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --no-halt +iex --remsh demo",
    ),
];

const V15: &[(&[&str], &str)] = &[
    (
        &["start_iex"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt -e :elixir.start_iex() +iex",
    ),
    (
        &["daemon"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts-13\.1\.5/bin/erl -noshell -s elixir start_cli -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0\.1\.0/sys -boot $ROOT/releases/0\.1\.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0\.1\.0/vm\.args -extra --no-halt",
    ),
    (
        &["daemon_iex"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts-13\.1\.5/bin/erl -noshell -s elixir start_cli -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0\.1\.0/sys -boot $ROOT/releases/0\.1\.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0\.1\.0/vm\.args -extra --no-halt -e \:elixir\.start_iex\(\) \+iex",
    ),
    (
        &["eval", "X"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -setcookie $COOKIE -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --eval X --",
    ),
    (
        &["remote"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -user elixir -hidden -setcookie $COOKIE -sname rem-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --no-halt -e :elixir.start_iex() +iex --remsh demo",
    ),
];

const V16: &[(&[&str], &str)] = &[
    (
        &["start_iex"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_iex -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt +iex",
    ),
    (
        &["daemon_iex"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts-13\.1\.5/bin/erl -noshell -s elixir start_iex -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0\.1\.0/sys -boot $ROOT/releases/0\.1\.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0\.1\.0/vm\.args -extra --no-halt \+iex",
    ),
    (
        &["remote"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_iex -user elixir -hidden -setcookie $COOKIE -sname rem-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --no-halt +iex --remsh demo",
    ),
];

/// v1.17.0 through HEAD produced byte-identical lines.
const V17: &[(&[&str], &str)] = &[
    (
        &["start"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt",
    ),
    (
        &["start_iex"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --no-halt +iex",
    ),
    (
        &["daemon_iex"],
        r"$ROOT/releases/0.1.0/../../erts-13.1.5/bin/run_erl -daemon $ROOT/tmp/pipe/ $ROOT/tmp/log/  $ROOT/releases/0\.1\.0/\.\./\.\./erts-13\.1\.5/bin/erl -noshell -user elixir -mode embedded -setcookie $COOKIE -sname demo -config $ROOT/releases/0\.1\.0/sys -boot $ROOT/releases/0\.1\.0/start -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0\.1\.0/vm\.args -extra --no-halt \+iex",
    ),
    (
        &["eval", "X"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -setcookie $COOKIE -config $ROOT/releases/0.1.0/sys -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/vm.args -extra --eval X --",
    ),
    (
        &["rpc", "X"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -s elixir start_cli -hidden -setcookie $COOKIE -sname rpc-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --rpc-eval demo X",
    ),
    (
        &["remote"],
        "$ROOT/releases/0.1.0/../../erts-13.1.5/bin/erl -noshell -user elixir -hidden -setcookie $COOKIE -sname rem-XXXX-demo -boot $ROOT/releases/0.1.0/start_clean -boot_var RELEASE_LIB $ROOT/lib -args_file $ROOT/releases/0.1.0/remote.vm.args -extra --no-halt +iex --remsh demo",
    ),
];

fn check(version: &str, table: &[(&[&str], &str)]) {
    for (args, want) in table {
        assert_eq!(line(version, args), *want, "Elixir {version} {args:?}");
    }
}

#[test]
fn elixir_1_14() {
    check("1.14.0", V14);
}

#[test]
fn elixir_1_15() {
    check("1.15.0", V15);
}

#[test]
fn elixir_1_16() {
    check("1.16.0", V16);
}

#[test]
fn elixir_1_17_to_head() {
    for v in ["1.17.0", "1.18.0", "1.19.0", "1.20.0", "1.21.0-dev"] {
        check(v, V17);
    }
}
