//! Side-by-side benchmark on a rebar3/relx release: beamrc (`bin/NAME`) against relx's kept
//! script (`bin/NAME.sh`), alternating, in one run; prints median wall times and ratios and
//! exits 1 when a ratio misses its target.
//!
//! ```sh
//! rebar3 new release erlapp && cd erlapp && rebar3 as prod release
//! beamrc install _build/prod/rel/erlapp
//! cargo run --release --example bench_relx -- _build/prod/rel/erlapp erlapp
//! ```
//! The release's vm.args from `rebar3 new release` says `-sname erlapp` without a host, so
//! the script boots a VM on every call just to learn the host name; beamrc computes it.
//! The example starts the daemon itself (`PIPE_DIR` under the release) and stops it.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn time_once(program: &Path, args: &[&str], env: &[(&str, String)]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let elapsed = start.elapsed();
    assert!(status.success(), "{} {args:?}: {status}", program.display());
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let root = PathBuf::from(argv.next().expect("usage: bench_relx RELEASE_ROOT NAME"));
    let name = argv.next().expect("usage: bench_relx RELEASE_ROOT NAME");
    let ours = root.join("bin").join(&name);
    let script = root.join("bin").join(format!("{name}.sh"));
    let env = vec![("PIPE_DIR", format!("{}/tmp/pipes/", root.display()))];
    time_once(&ours, &["daemon"], &env);
    let n = 15;
    let cases: &[(&str, &[&str], f64)] = &[
        ("ping", &["ping"], 50.0),
        ("pid", &["pid"], 50.0),
        ("rpc erlang node", &["rpc", "erlang", "node"], 50.0),
        ("help (sname without host)", &["help"], 20.0),
        ("help rpc (sname without host)", &["help", "rpc"], 20.0),
        // relx's script runs install_upgrade.escript (a second VM); beamrc asks
        // release_handler natively (issue 12)
        ("versions", &["versions"], 50.0),
    ];
    let mut missed = false;
    println!(
        "{:<32} {:>10} {:>10} {:>8}  target",
        "command", "beamrc", "script", "ratio"
    );
    for (label, args, target) in cases {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        // `help` exits 1 in relx; time `help rpc`-like commands that exit 0, and for the bare
        // `help` accept its exit code by running it through `sh -c '…; true'`.
        let wrap = args == &["help"];
        for _ in 0..n {
            if wrap {
                let cmd = |p: &Path| format!("'{}' help >/dev/null; true", p.display());
                a.push(time_once(Path::new("/bin/sh"), &["-c", &cmd(&ours)], &env));
                b.push(time_once(
                    Path::new("/bin/sh"),
                    &["-c", &cmd(&script)],
                    &env,
                ));
            } else {
                a.push(time_once(&ours, args, &env));
                b.push(time_once(&script, args, &env));
            }
        }
        let (ma, mb) = (median(a), median(b));
        let ratio = mb.as_secs_f64() / ma.as_secs_f64();
        missed |= ratio < *target;
        println!(
            "{label:<32} {:>8.2}ms {:>8.2}ms {:>7.1}x  >= {target}x {}",
            ma.as_secs_f64() * 1e3,
            mb.as_secs_f64() * 1e3,
            ratio,
            if ratio >= *target { "ok" } else { "MISSED" }
        );
    }
    time_once(&ours, &["stop"], &env);
    if missed {
        std::process::exit(1);
    }
}
