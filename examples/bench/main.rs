//! Side-by-side benchmark: beamrc (`bin/NAME`) against the original script (`bin/NAME.sh`)
//! on one release, in one run; prints ratios of median wall time and of peak memory, and the
//! start-up work of the release face (`bin/NAME version` over `beamrc --version`).
//! Run through `scripts/bench.sh`, which builds the release and starts the daemon:
//! `bench RELEASE_ROOT NAME BEAMRC_BINARY`.
//!
//! Wall time: untraced runs, alternating the two commands so machine noise hits both alike.
//! Memory: separate runs under the exit-stop probe of [`peak`], which cannot inherit the
//! bench's own size (see there).
mod erl_call;
mod lag;
mod peak;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command to completion, stdio on /dev/null; its wall time.
fn time_once(program: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let wall = start.elapsed();
    // Arguments as shown: the one after `-c` (erl_call's cookie) masked.
    let shown: Vec<&str> = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && args[i - 1] == "-c" {
                "********"
            } else {
                a
            }
        })
        .collect();
    assert!(
        status.success(),
        "{} {shown:?} failed: {status:?}",
        program.display()
    );
    wall
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall times of `a` and `b`, `n` runs each, alternating.
fn medians(n: usize, a: (&Path, &[&str]), b: (&Path, &[&str])) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..n {
        ta.push(time_once(a.0, a.1));
        tb.push(time_once(b.0, b.1));
    }
    (median(ta), median(tb))
}

/// The largest peak of `runs` traced runs.
fn peak(runs: usize, cmd: (&Path, &[&str])) -> u64 {
    (0..runs)
        .map(|_| peak::peak_rss_kib(cmd.0, cmd.1))
        .max()
        .unwrap_or(0)
}

/// Speed-up and memory ratio of ours against the script.
fn compare(label: &str, n: usize, ours: (&Path, &[&str]), script: (&Path, &[&str])) -> (f64, f64) {
    let (ta, tb) = medians(n, ours, script);
    let (ma, mb) = (peak(3, ours), peak(3, script));
    let speed = tb.as_secs_f64() / ta.as_secs_f64();
    let mem = mb as f64 / ma.max(1) as f64;
    println!(
        "{label:<28} beamrc {:>9.2} ms  script {:>9.2} ms  speed-up {:>7.1}x  peak RSS {:>6} KiB vs {:>6} KiB ({:.1}x less)",
        ta.as_secs_f64() * 1e3,
        tb.as_secs_f64() * 1e3,
        speed,
        ma,
        mb,
        mem
    );
    (speed, mem)
}

/// A command's stdout, trimmed (it must succeed).
fn output(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(out.status.success(), "{args:?}: {:?}", out.status);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The targets, printed as they are checked; the missed ones make the bench fail.
#[derive(Default)]
struct Checks {
    missed: Vec<String>,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool, text: String) {
        println!("  {what}: {text} {}", if ok { "ok" } else { "MISSED" });
        if !ok {
            self.missed.push(what.to_string());
        }
    }

    fn at_least(&mut self, what: &str, got: f64, want: f64) {
        self.check(what, got >= want, format!("{got:.2} (target >= {want})"));
    }
}

fn main() {
    let usage = "usage: bench RELEASE_ROOT NAME BEAMRC_BINARY";
    let arg = |i: usize| std::env::args().nth(i).expect(usage);
    let (root, name, beamrc) = (arg(1), arg(2), arg(3));
    let root = Path::new(&root);
    let beamrc = Path::new(&beamrc);
    let ours = root.join("bin").join(&name);
    let script = root.join("bin").join(format!("{name}.sh"));
    let n: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    println!(
        "{n} runs each, alternating; medians of wall time; peak RSS = largest VmHWM of the command's process tree at exit (3 traced runs)"
    );
    let mut checks = Checks::default();
    let (s, _) = compare(
        "version",
        n * 5,
        (&ours, &["version"]),
        (&script, &["version"]),
    );
    checks.at_least("version speed-up", s, 10.0);
    let (s, _) = compare(
        "eval 'true'",
        n / 2,
        (&ours, &["eval", "true"]),
        (&script, &["eval", "true"]),
    );
    // At most 0.95x the script's wall time means a speed-up of at least 1/0.95.
    checks.at_least("eval speed-up", s, 1.0 / 0.95);
    for (label, ours_args, script_args, want) in [
        ("pid", &["pid"][..], &["pid"][..], 100.0),
        (
            "rpc 'IO.puts(1)'",
            &["rpc", "IO.puts(1)"][..],
            &["rpc", "IO.puts(1)"][..],
            50.0,
        ),
        ("ping (vs script pid)", &["ping"][..], &["pid"][..], 50.0),
    ] {
        let (s, m) = compare(label, n, (&ours, ours_args), (&script, script_args));
        checks.at_least(&format!("{label} speed-up"), s, want);
        checks.at_least(&format!("{label} memory ratio"), m, 10.0);
    }

    // Probes (issue 13): the readiness probe against the `rpc "1 + 1"` probe people use
    // today (the script's hidden VM).
    let (s, m) = compare(
        "ready (vs script rpc 1 + 1)",
        n,
        (&ours, &["ready"]),
        (&script, &["rpc", "1 + 1"]),
    );
    checks.at_least("ready speed-up", s, 100.0);
    checks.at_least("ready memory ratio", m, 20.0);

    // Native ping and pid against OTP's C client on the same node (issue 13: >= 1.3x).
    let node = output(&ours, &["rpc", "IO.puts(node())"]);
    let host = node.split_once('@').map_or("", |(_, h)| h).to_string();
    let cookie = std::fs::read_to_string(root.join("releases/COOKIE")).unwrap_or_default();
    match erl_call::ErlCall::find(root, &node, cookie.trim()) {
        Some(ec) => {
            for (label, ours_args, mf) in [
                ("ping (vs erl_call)", "ping", "erlang node"),
                ("pid (vs erl_call)", "pid", "os getpid"),
            ] {
                let args = ec.args(mf);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (ta, tb) = medians(n, (&ours, &[ours_args]), (&ec.program, &args));
                let speed = tb.as_secs_f64() / ta.as_secs_f64();
                println!(
                    "{label:<28} beamrc {:>9.2} ms  erl_call {:>7.2} ms  speed-up {speed:>5.2}x  ({})",
                    ta.as_secs_f64() * 1e3,
                    tb.as_secs_f64() * 1e3,
                    ec.shown(mf)
                );
                checks.at_least(&format!("{label} speed-up"), speed, 1.3);
            }
        }
        None => checks.check("erl_call", false, "no erts-*/bin/erl_call".into()),
    }

    // Return lag of daemon and stop (issue 13: <= 20 ms each), on another instance.
    let target = lag::Target {
        bin: &ours,
        host: &host,
        cookie: cookie.trim(),
        epmd_port: std::env::var("ERL_EPMD_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(4369),
    };
    let cycles: usize = (n / 4).max(3);
    let (mut daemon, mut stop, mut registered) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cycles {
        let c = lag::cycle(&target, "bench_lag");
        daemon.push(c.daemon);
        stop.push(c.stop);
        registered.push(c.registered_before);
    }
    let ms = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "{:<28} daemon: {} ms; stop: {} ms ({cycles} cycles; the node was reachable {} ms before its boot finished)",
        "return lag",
        ms(&daemon),
        ms(&stop),
        ms(&registered)
    );
    for (what, v) in [("daemon return lag", daemon), ("stop return lag", stop)] {
        let m = median(v);
        checks.check(
            what,
            m <= Duration::from_millis(20),
            format!("{:.1} ms median (target <= 20 ms)", m.as_secs_f64() * 1e3),
        );
    }

    // 1,000 sequential readiness probes: the node's atom table (each hidden-node name the
    // node has not seen is an atom forever) and its port count.
    let counts = || {
        let text = output(
            &ours,
            &[
                "rpc",
                "IO.puts(\"#{:erlang.system_info(:atom_count)} #{length(:erlang.ports())}\")",
            ],
        );
        let mut n = text
            .split_whitespace()
            .map(|w| w.parse::<i64>().unwrap_or(-1));
        (n.next().unwrap_or(-1), n.next().unwrap_or(-1))
    };
    let (atoms, ports) = counts();
    for _ in 0..1000 {
        time_once(&ours, &["ready"]);
    }
    let (atoms_after, ports_after) = counts();
    println!(
        "{:<28} atoms {atoms} -> {atoms_after}, ports {ports} -> {ports_after}",
        "1,000 ready probes"
    );
    checks.check(
        "atoms per 1,000 probes",
        atoms_after - atoms <= 5 && ports_after == ports,
        format!(
            "{} (target <= 5), ports {:+}",
            atoms_after - atoms,
            ports_after - ports
        ),
    );

    // Fleet ping of 3 nodes (the bench's node and two more instances) against one ping.
    let extra = ["bench_fleet_b", "bench_fleet_c"];
    for node in extra {
        lag::instance(&ours, node, "daemon");
    }
    // Both through env(1), so the extra exec costs both alike.
    let nodes = format!("BEAMRC_FLEET_NODES={name},{}", extra.join(","));
    let ours_text = ours.display().to_string();
    let env = Path::new("/usr/bin/env");
    let (fleet, one) = medians(
        n,
        (env, &[&nodes, &ours_text, "ping"]),
        (env, &[&ours_text, "ping"]),
    );
    let ratio = fleet.as_secs_f64() / one.as_secs_f64();
    println!(
        "{:<28} fleet of 3 {:>6.2} ms  one ping {:>6.2} ms",
        "fleet ping (3 nodes)",
        fleet.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3
    );
    checks.check(
        "fleet ping of 3 over one ping",
        ratio <= 2.0,
        format!("{ratio:.2}x (target <= 2x)"),
    );
    for node in extra {
        lag::instance(&ours, node, "stop");
    }

    // Start-up work of the release face: locating the release, reading its files.
    let (release_face, tool_face) =
        medians(n * 10, (&ours, &["version"]), (beamrc, &["--version"]));
    let over_us = (release_face.as_secs_f64() - tool_face.as_secs_f64()) * 1e6;
    println!(
        "start-up: bin/NAME version {:.0} µs, beamrc --version {:.0} µs",
        release_face.as_secs_f64() * 1e6,
        tool_face.as_secs_f64() * 1e6
    );
    checks.check(
        "version over --version",
        over_us <= 100.0,
        format!("{over_us:.0} µs (target <= 100 µs)"),
    );

    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(0);
    checks.check(
        "binary size",
        size <= 2 * 1048576,
        format!(
            "{} : {} bytes ({:.2} MiB, target <= 2 MiB)",
            ours.display(),
            size,
            size as f64 / 1048576.0
        ),
    );
    if !checks.missed.is_empty() {
        println!("missed: {}", checks.missed.join(", "));
        std::process::exit(1);
    }
}
