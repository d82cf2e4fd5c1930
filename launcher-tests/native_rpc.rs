//! The native remote commands against the script's hidden-VM client, byte for byte
//! (stdout, stderr, exit code), on a running release.
use crate::support::{Fixture, TestRelease, beamrc_bin};
use std::time::Duration;

fn running(f: Fixture, env: &[(&str, &str)]) -> TestRelease {
    let rel = TestRelease::new(f);
    let out = rel.run(
        &beamrc_bin(),
        &["install", rel.root.to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let out = rel.run(&rel.bin(), &["daemon"], env, None);
    assert_eq!(out.code, Some(0), "daemon: {}", out.stderr);
    rel
}

fn script(rel: &TestRelease) -> std::path::PathBuf {
    crate::support::oracle_as_name(rel)
}

/// The `#PID<…>` in a killed-process message is the client's own pid; the same shape.
fn same(rel: &TestRelease, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) {
    let a = rel.run(&script(rel), args, env, stdin);
    let b = rel.run(&rel.bin(), args, env, stdin);
    assert_eq!(b.stdout, a.stdout, "{args:?}: stdout");
    assert_eq!(b.stderr, a.stderr, "{args:?}: stderr");
    assert_eq!(b.code, a.code, "{args:?}: exit code");
}

const EXPRESSIONS: &[&str] = &[
    "IO.puts(:hello)",
    "IO.puts(\"héllo ✓\"); IO.inspect([1, 2, 3])",
    "IO.puts(\"one\\ntwo\"); IO.write(\"three\")",
    ":io.format(\"~p ~ts~n\", [{1, 2}, \"ü\"])",
    "raise \"boom\"",
    "throw(:bar)",
    "exit({:shutdown, 3})",
    "exit(:normal)",
    "exit(:shutdown)",
    "exit(:foo)",
    ":ok = :nope",
    "foo(",
    "Process.exit(self(), :kill)",
    "Task.async(fn -> IO.puts(\"from task\") end) |> Task.await()",
    "IO.write(:binary.copy(\"x\", 100_000))",
    "1 + 1",
];

#[test]
fn rpc_matches_the_script() {
    let rel = running(Fixture::Plain, &[]);
    for expr in EXPRESSIONS {
        same(&rel, &["rpc", expr], &[], None);
    }
    same(
        &rel,
        &["rpc", "IO.gets(\"p> \") |> IO.inspect()"],
        &[],
        Some(b"typed line\n"),
    );
    same(
        &rel,
        &["rpc", "IO.gets(\"p> \") |> IO.inspect()"],
        &[],
        Some(b""),
    );
    same(&rel, &["pid"], &[], None);
    // The script's `restart` returns before the node is back (init:restart/0 is
    // asynchronous): ours must not meet the node mid-restart, or it reports a lost
    // connection the script never saw.
    let a = rel.run(&script(&rel), &["restart"], &[], None);
    crate::support::wait_until(
        Duration::from_secs(60),
        "the node back after restart",
        || rel.run(&rel.bin(), &["pid"], &[], None).code == Some(0),
    );
    let b = rel.run(&rel.bin(), &["restart"], &[], None);
    assert_eq!(
        (b.code, b.stdout, b.stderr),
        (a.code, a.stdout, a.stderr),
        "restart"
    );
    same(&rel, &["rpc"], &[], None);
    same(&rel, &["rpc", ""], &[], None);
    // wrong cookie: both report the connection failure
    same(&rel, &["pid"], &[("RELEASE_COOKIE", "wrong")], None);
    // a node that does not exist
    same(&rel, &["pid"], &[("RELEASE_NODE", "nosuch")], None);
    let out = rel.run(&rel.bin(), &["stop"], &[], None);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (Some(0), "", "")
    );
    same(&rel, &["pid"], &[], None);
}

#[test]
fn many_native_calls_leave_nothing_behind() {
    let rel = running(Fixture::Plain, &[]);
    let count = |rel: &TestRelease| {
        let out = rel.run(
            &rel.bin(),
            &[
                "rpc",
                "IO.puts(\"#{length(Node.list(:hidden))} #{length(Process.list())}\")",
            ],
            &[],
            None,
        );
        out.stdout
    };
    let before = count(&rel);
    for _ in 0..50 {
        let out = rel.run(&rel.bin(), &["rpc", "IO.puts(1)"], &[], None);
        assert_eq!(out.stdout, "1\n");
    }
    // Only the counting call's own connection may be listed.
    assert_eq!(count(&rel), before);
    rel.run(&rel.bin(), &["stop"], &[], None);
}

#[test]
fn ping_reasons() {
    let rel = running(Fixture::Plain, &[]);
    let out = rel.run(&rel.bin(), &["ping"], &[], None);
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "pong\n"));
    let out = rel.run(&rel.bin(), &["ping"], &[("RELEASE_COOKIE", "wrong")], None);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        "connection refused by demo@vm: cookie mismatch\n"
    );
    let out = rel.run(&rel.bin(), &["ping"], &[("RELEASE_NODE", "nosuch")], None);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (Some(1), "node nosuch@vm is not running\n")
    );
    let port = crate::support::free_port().to_string();
    let out = rel.run(&rel.bin(), &["ping"], &[("ERL_EPMD_PORT", &port)], None);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr, format!("epmd not reachable on port {port}\n"));
    rel.run(&rel.bin(), &["stop"], &[], None);
}

#[test]
fn fallback_to_the_hidden_vm_is_traced() {
    let rel = running(Fixture::Plain, &[]);
    let out = rel.run(
        &rel.bin(),
        &["pid"],
        &[("BEAMRC_NATIVE", "0"), ("BEAMRC_LOG", "debug")],
        None,
    );
    assert_eq!(out.code, Some(0));
    assert!(
        out.stderr.contains("hidden VM path: BEAMRC_NATIVE=0"),
        "{}",
        out.stderr
    );
    let native = rel.run(&rel.bin(), &["pid"], &[("BEAMRC_LOG", "debug")], None);
    assert_eq!(native.stdout, out.stdout);
    assert!(
        native.stderr.contains("native distribution"),
        "{}",
        native.stderr
    );
    rel.run(&rel.bin(), &["stop"], &[], None);
}

/// A fake EPMD on a free port that answers every connection one byte per 300 ms (its reply
/// would take ~5 s), for as long as the returned guard lives.
struct TricklingEpmd {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl TricklingEpmd {
    fn start() -> TricklingEpmd {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = stop.clone();
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                };
                std::thread::spawn(move || {
                    s.set_nonblocking(false).unwrap();
                    let mut req = [0u8; 64];
                    let _ = s.read(&mut req);
                    let reply = [b'w', 0, 0x94, 0x21, 77, 0, 0, 6, 0, 6, 0, 4, b'd', b'e'];
                    for b in reply {
                        if s.write_all(&[b]).is_err() {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(300));
                    }
                });
            }
        });
        TricklingEpmd { port, stop }
    }
}

impl Drop for TricklingEpmd {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn trickling_epmd_cannot_stretch_the_connect_timeout() {
    // Issue 15: with BEAMRC_RPC_CONNECT_TIMEOUT=2 such an EPMD kept ping/rpc running > 20 s.
    let rel = crate::support::installed(Fixture::Plain);
    let epmd = TricklingEpmd::start();
    let port = epmd.port.to_string();
    let env = [
        ("ERL_EPMD_PORT", port.as_str()),
        ("BEAMRC_RPC_CONNECT_TIMEOUT", "2"),
    ];
    for args in [&["ping"][..], &["rpc", "IO.puts(1)"], &["pid"]] {
        let start = std::time::Instant::now();
        let out = rel.run(&rel.bin(), args, &env, None);
        let took = start.elapsed();
        assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
        // The figure of issue 15: timeout + 250 ms (the process start is inside it too).
        assert!(
            took < std::time::Duration::from_millis(2250),
            "{args:?} took {took:?}"
        );
    }
}

#[test]
fn latin1_cookie_release_boots_and_answers() {
    // Issue 15: a RELEASE_COOKIE like "ünï" made daemon report a failed boot (exit 6) for a
    // node that was up, and rpc fail: the VM hashes the cookie atom's characters.
    let env = [("RELEASE_COOKIE", "ünï"), ("LC_ALL", "C.UTF-8")];
    let rel = running(Fixture::Plain, &env);
    let out = rel.run(&rel.bin(), &["ping"], &env, None);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "pong\n"),
        "{}",
        out.stderr
    );
    same(&rel, &["rpc", "IO.puts(:ok)"], &env, None);
    same(&rel, &["pid"], &env, None);
    let out = rel.run(&rel.bin(), &["stop"], &env, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

/// Appends `node` to vm.args and `remote` to remote.vm.args (as Mix's docs show for
/// epmd-less and IPv6 setups), installs beamrc, starts the daemon.
fn running_with_flags(node: &str, remote: &str) -> TestRelease {
    let rel = TestRelease::new(Fixture::Plain);
    for (file, extra) in [("vm.args", node), ("remote.vm.args", remote)] {
        let path = rel.version_dir().join(file);
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("\n{extra}\n"));
        std::fs::write(&path, text).unwrap();
    }
    crate::support::install_with_beamrc(&rel);
    let out = rel.run(&rel.bin(), &["daemon"], &[], None);
    assert_eq!(out.code, Some(0), "daemon: {}", out.stderr);
    rel
}

/// The command ran natively (no hidden VM) and answered as the script does.
fn native_and_same(rel: &TestRelease, args: &[&str]) {
    let out = rel.run(&rel.bin(), args, &[("BEAMRC_LOG", "debug")], None);
    assert!(
        out.stderr.contains("native distribution") && !out.stderr.contains("hidden VM"),
        "{args:?}: {}",
        out.stderr
    );
    same(rel, args, &[], None);
}

#[test]
fn epmd_less_and_ipv6_releases_are_reached_natively() {
    let port = crate::support::free_port();
    let epmd_less = format!("-start_epmd false -erl_epmd_port {port}");
    let setups = [
        (epmd_less.clone(), format!("{epmd_less} -dist_listen false")),
        (
            "-proto_dist inet6_tcp".to_string(),
            "-proto_dist inet6_tcp".to_string(),
        ),
    ];
    for (node, remote) in setups {
        let rel = running_with_flags(&node, &remote);
        native_and_same(&rel, &["pid"]);
        native_and_same(&rel, &["rpc", "IO.puts(node())"]);
        let out = rel.run(&rel.bin(), &["ping"], &[], None);
        assert_eq!(out.stdout, "pong\n", "{node}: {}", out.stderr);
        let out = rel.run(&rel.bin(), &["stop"], &[], None);
        assert_eq!(out.code, Some(0), "{node}: stop: {}", out.stderr);
    }
}

#[test]
fn unresolvable_host_is_named_not_blamed_on_epmd() {
    // Issue 9: a host that does not resolve said "epmd not reachable on port N".
    let rel = crate::support::installed(Fixture::Plain);
    let env = [
        ("RELEASE_NODE", "demo@no-such-host.invalid"),
        ("BEAMRC_RPC_CONNECT_TIMEOUT", "3"),
    ];
    let out = rel.run(&rel.bin(), &["ping"], &env, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("epmd"), "{}", out.stderr);
    // A resolver that answers (NXDOMAIN) gives the name; one that hangs, the timeout.
    assert!(
        out.stderr
            == "cannot resolve host no-such-host.invalid of node demo@no-such-host.invalid\n"
            || out.stderr.contains("timed out"),
        "{}",
        out.stderr
    );
}

/// A TCP proxy in front of the test's EPMD that counts the connections made through it.
struct CountingProxy {
    port: u16,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxy {
    fn start(to: u16) -> CountingProxy {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                let Ok(upstream) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let pipe = |mut a: std::net::TcpStream, mut b: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut a, &mut b);
                        let _ = b.shutdown(std::net::Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        CountingProxy { port, count }
    }

    fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn stop_waits_on_one_connection() {
    // Issue 13: stop polled EPMD + TCP + handshake every few ms for as long as it waited.
    let rel = running(Fixture::Plain, &[]);
    let proxy = CountingProxy::start(rel.epmd().port);
    let port = proxy.port.to_string();
    let out = rel.run(&rel.bin(), &["stop"], &[("ERL_EPMD_PORT", &port)], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(proxy.count(), 1, "EPMD lookups during stop");
    // And the node is gone.
    let out = rel.run(&rel.bin(), &["ping"], &[], None);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
}

#[test]
fn restart_returns_when_the_node_is_back() {
    let rel = running(Fixture::Plain, &[]);
    let pid = rel.run(&rel.bin(), &["pid"], &[], None).stdout;
    let proxy = CountingProxy::start(rel.epmd().port);
    let port = proxy.port.to_string();
    let out = rel.run(&rel.bin(), &["restart"], &[("ERL_EPMD_PORT", &port)], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Connections: the first, then reconnects only while the node is down.
    eprintln!("EPMD lookups during restart: {}", proxy.count());
    let status = rel.run(
        &rel.bin(),
        &["rpc", "IO.inspect(:init.get_status())"],
        &[],
        None,
    );
    assert_eq!(status.stdout, "{:started, :started}\n", "{}", status.stderr);
    assert_eq!(rel.run(&rel.bin(), &["pid"], &[], None).stdout, pid);
    rel.run(&rel.bin(), &["stop"], &[], None);
}
