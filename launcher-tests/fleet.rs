//! Fleet mode (issue 13): one invocation, several nodes of the fixture release — three
//! instances on this host, one of them stopped.
use crate::support::{Fixture, TestRelease, beamrc_bin, installed, ok};

fn node_env<'a>(rel: &TestRelease, node: &'a str) -> Vec<(&'a str, String)> {
    vec![
        ("RELEASE_NODE", node.to_string()),
        (
            "RELEASE_TMP",
            rel.dir.join(format!("tmp-{node}")).display().to_string(),
        ),
    ]
}

fn run(
    rel: &TestRelease,
    node: &str,
    extra: &[(&str, &str)],
    args: &[&str],
) -> crate::support::RunOutput {
    let env = node_env(rel, node);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    rel.run(&rel.bin(), args, &all, None)
}

/// `(node, ok|failed, result)` of each line.
fn lines(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "not NODE, STATE, TIME, RESULT: {l:?}");
            assert!(f[2].ends_with("ms"), "{l:?}");
            (f[0].to_string(), f[1].to_string(), f[3].to_string())
        })
        .collect()
}

#[test]
fn fleet_of_three_with_one_stopped() {
    let rel = installed(Fixture::Plain);
    for node in ["fa", "fb", "fc"] {
        let out = run(&rel, node, &[], &["daemon"]);
        assert_eq!(out.code, Some(0), "{node}: {}", out.stderr);
    }
    assert_eq!(run(&rel, "fc", &[], &["stop"]).code, Some(0));
    let fa = ok(&run(&rel, "fa", &[], &["rpc", "IO.puts(node())"]))
        .trim()
        .to_string();
    let host = fa.split_once('@').unwrap().1.to_string();

    // an explicit list; names without @host get the target's host
    let out = run(&rel, "fa", &[("BEAMRC_FLEET_NODES", "fa,fb,fc")], &["ping"]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let got = lines(&out.stdout);
    assert_eq!(got.len(), 3, "{}", out.stdout);
    assert_eq!(got[0], (format!("fa@{host}"), "ok".into(), "pong".into()));
    assert_eq!(got[1], (format!("fb@{host}"), "ok".into(), "pong".into()));
    assert_eq!(got[2].1, "failed");
    assert!(got[2].2.contains("not running"), "{:?}", got[2]);

    // ready, status, pid, rpc over the live two: exit 0
    for args in [
        &["ready", "--app", "demo"][..],
        &["status"],
        &["pid"],
        &["rpc", "IO.puts(node())"],
    ] {
        let out = run(
            &rel,
            "fa",
            &[("BEAMRC_FLEET_NODES", "fa,fb"), ("BEAMRC_FLEET_JOBS", "2")],
            args,
        );
        assert_eq!(out.code, Some(0), "{args:?}: {}{}", out.stdout, out.stderr);
        let got = lines(&out.stdout);
        assert_eq!(got.len(), 2);
        if args[0] == "rpc" {
            assert_eq!(got[1].2, format!("fb@{host}"));
        }
        if args[0] == "ready" {
            assert_eq!(got[0].2, "ready");
        }
    }

    // connected: the target and its nodes()
    let out = run(
        &rel,
        "fa",
        &[("BEAMRC_FLEET_NODES", "connected")],
        &["ping"],
    );
    assert_eq!(lines(ok(&out)).len(), 1, "fa is connected to nobody yet");
    let connect = format!("IO.puts(Node.connect(:\"fb@{host}\"))");
    assert_eq!(ok(&run(&rel, "fa", &[], &["rpc", &connect])).trim(), "true");
    let out = run(&rel, "fa", &[("BEAMRC_FLEET_NODES", "connected")], &["pid"]);
    let got = lines(ok(&out));
    let names: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(names, [format!("fa@{host}"), format!("fb@{host}")]);

    // the tool face: beamrc fleet --release DIR …
    let root = rel.root.display().to_string();
    let env = node_env(&rel, "fa");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = rel.run(
        &beamrc_bin(),
        &[
            "fleet",
            "--release",
            &root,
            "--connected",
            "rpc",
            "IO.puts(:erlang.node())",
        ],
        &env,
        None,
    );
    let got = lines(ok(&out));
    assert_eq!(got[1].2, format!("fb@{host}"));
    let out = rel.run(
        &beamrc_bin(),
        &[
            "fleet",
            "--release",
            &root,
            "--nodes",
            "fa,fc",
            "--jobs",
            "1",
            "status",
        ],
        &env,
        None,
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(lines(&out.stdout).len(), 2);
    let out = rel.run(
        &beamrc_bin(),
        &["fleet", "--release", &root, "ping"],
        &env,
        None,
    );
    assert_eq!(out.code, Some(1), "--nodes or --connected is required");

    // same cookie rules: a wrong cookie fails every node, and is never printed
    let out = run(
        &rel,
        "fa",
        &[
            ("BEAMRC_FLEET_NODES", "fa,fb"),
            ("RELEASE_COOKIE", "wrong-cookie-x"),
        ],
        &["ping"],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        lines(&out.stdout)
            .iter()
            .all(|l| l.1 == "failed" && l.2.contains("cookie"))
    );
    assert!(!out.stdout.contains("wrong-cookie-x") && !out.stderr.contains("wrong-cookie-x"));
    // fleet mode refuses what it does not do
    let out = run(&rel, "fa", &[("BEAMRC_FLEET_NODES", "fa,fb")], &["stop"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);

    for node in ["fa", "fb"] {
        assert_eq!(run(&rel, node, &[], &["stop"]).code, Some(0));
    }
}

#[test]
fn fleet_mode_in_the_dry_run() {
    let rel = installed(Fixture::Plain);
    let out = run(
        &rel,
        "fa",
        &[
            ("BEAMRC_DRY_RUN", "1"),
            ("BEAMRC_FLEET_NODES", "fa,fb@otherhost"),
            ("BEAMRC_FLEET_JOBS", "4"),
        ],
        &["ready", "--app", "demo"],
    );
    let text = ok(&out);
    assert!(text.starts_with("route native"), "{text}");
    assert!(
        text.contains("fleet (BEAMRC_FLEET_NODES): on fa, fb@otherhost, at most 4 at a time"),
        "{text}"
    );
    let out = run(
        &rel,
        "fa",
        &[("BEAMRC_FLEET_NODES", "connected"), ("BEAMRC_NATIVE", "0")],
        &["ping"],
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("needs the native route")
            && out.stderr.contains("no hidden-VM fallback"),
        "{}",
        out.stderr
    );
    // The dry run says the same before anything runs.
    let out = run(
        &rel,
        "fa",
        &[
            ("BEAMRC_FLEET_NODES", "connected"),
            ("BEAMRC_NATIVE", "0"),
            ("BEAMRC_DRY_RUN", "1"),
        ],
        &["ping"],
    );
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(
        out.stderr.contains("no hidden-VM fallback"),
        "{}",
        out.stderr
    );
}
