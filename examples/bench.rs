//! Side-by-side benchmark: beamrc (`bin/NAME`) against the original script (`bin/NAME.sh`)
//! on one release, in one run; prints ratios of median wall time and of peak memory.
//! Run through `scripts/bench.sh`, which builds the release and starts the daemon.
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

/// Runs a command to completion and reads its peak RSS from wait4's rusage.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives the rusage
fn run_once(program: &Path, args: &[&str]) -> Sample {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let mut status = 0;
    // SAFETY: rusage is plain data filled by the kernel; the pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as i32;
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    let st = std::process::ExitStatus::from_raw(status);
    assert!(
        st.success(),
        "{} {:?} failed: {st:?}",
        program.display(),
        args
    );
    Sample {
        wall,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Alternates the two commands so machine noise hits both alike.
fn compare(label: &str, n: usize, ours: (&Path, &[&str]), script: (&Path, &[&str])) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut ma, mut mb) = (0, 0);
    for _ in 0..n {
        let s = run_once(ours.0, ours.1);
        a.push(s.wall);
        ma = ma.max(s.max_rss_kib);
        let s = run_once(script.0, script.1);
        b.push(s.wall);
        mb = mb.max(s.max_rss_kib);
    }
    let (ma_t, mb_t) = (median(a), median(b));
    let speed = mb_t.as_secs_f64() / ma_t.as_secs_f64();
    let mem = mb as f64 / ma.max(1) as f64;
    println!(
        "{label:<28} beamrc {:>9.2} ms  script {:>9.2} ms  speed-up {:>7.1}x  peak RSS {:>6} KiB vs {:>6} KiB ({:.1}x less)",
        ma_t.as_secs_f64() * 1e3,
        mb_t.as_secs_f64() * 1e3,
        speed,
        ma,
        mb,
        mem
    );
    (speed, mem)
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: bench RELEASE_ROOT NAME");
    let name = std::env::args()
        .nth(2)
        .expect("usage: bench RELEASE_ROOT NAME");
    let root = Path::new(&root);
    let ours = root.join("bin").join(&name);
    let script = root.join("bin").join(format!("{name}.sh"));
    let n: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    println!("{n} runs each, alternating; medians of wall time, max of peak RSS");
    let mut failed = Vec::new();
    let mut check = |what: &str, got: f64, want: f64| {
        let ok = got >= want;
        println!(
            "  {what}: {got:.2} (target >= {want}) {}",
            if ok { "ok" } else { "MISSED" }
        );
        if !ok {
            failed.push(what.to_string());
        }
    };
    let (s, _) = compare(
        "version",
        n * 5,
        (&ours, &["version"]),
        (&script, &["version"]),
    );
    check("version speed-up", s, 10.0);
    let (s, _) = compare(
        "eval 'true'",
        n / 2,
        (&ours, &["eval", "true"]),
        (&script, &["eval", "true"]),
    );
    // At most 0.95x the script's wall time means a speed-up of at least 1/0.95.
    check("eval speed-up", s, 1.0 / 0.95);
    for (label, ours_args, script_args) in [
        ("pid", &["pid"][..], &["pid"][..]),
        (
            "rpc 'IO.puts(1)'",
            &["rpc", "IO.puts(1)"][..],
            &["rpc", "IO.puts(1)"][..],
        ),
        ("ping (vs script pid)", &["ping"][..], &["pid"][..]),
    ] {
        let (s, m) = compare(label, n, (&ours, ours_args), (&script, script_args));
        check(&format!("{label} speed-up"), s, 50.0);
        check(&format!("{label} memory ratio"), m, 10.0);
    }
    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(0);
    println!(
        "binary {} : {} bytes ({:.2} MiB, target <= 1.5 MiB) {}",
        ours.display(),
        size,
        size as f64 / 1048576.0,
        if size <= 1572864 { "ok" } else { "MISSED" }
    );
    if size > 1572864 {
        failed.push("size".into());
    }
    if !failed.is_empty() {
        println!("missed: {}", failed.join(", "));
        std::process::exit(1);
    }
}
