//! Figures for `beamrc pack`: packed size against `tar czf` of the release, the time of
//! `beamrc pack`, the first run (extraction), and a warm `version` of the packed file
//! against the installed release's `bin/NAME version` (medians, interleaved).
//!
//! `cargo run --release --example bench_pack -- BEAMRC RELEASE_DIR [RUNS]`
//! (BEAMRC: the static build, `target/x86_64-unknown-linux-musl/release/beamrc`).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(program: &Path, args: &[&str], env: &[(&str, &Path)]) -> Duration {
    let mut c = Command::new(program);
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let start = Instant::now();
    let status = c
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let wall = start.elapsed();
    assert!(status.success(), "{} {args:?}: {status}", program.display());
    wall
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(beamrc), Some(release)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bench_pack BEAMRC RELEASE_DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(300);
    let beamrc = PathBuf::from(beamrc);
    let release = std::fs::canonicalize(release).expect("release dir");
    let name = release.file_name().unwrap().to_string_lossy().into_owned();
    let work = std::env::temp_dir().join(format!("beamrc-bench-pack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("out")).unwrap();
    let cache = work.join("cache");

    // The installed release, as the baseline.
    let inst = work.join(&name);
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(&release)
            .arg(&inst)
            .status()
            .unwrap()
            .success()
    );
    run(&beamrc, &["install", inst.to_str().unwrap()], &[]);

    let pack_time = run(
        &beamrc,
        &[
            "pack",
            release.to_str().unwrap(),
            "-o",
            work.join("out").to_str().unwrap(),
        ],
        &[],
    );
    let packed = work.join("out").join(&name);
    let tgz = work.join("release.tar.gz");
    assert!(
        Command::new("tar")
            .arg("czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&release)
            .arg(".")
            .status()
            .unwrap()
            .success()
    );

    let env = [("BEAMRC_PACK_DIR", cache.as_path())];
    let first = median(
        (0..5)
            .map(|_| {
                let _ = std::fs::remove_dir_all(&cache);
                run(&packed, &["version"], &env)
            })
            .collect(),
    );
    let bin = inst.join("bin").join(&name);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(run(&bin, &["version"], &env));
        b.push(run(&packed, &["version"], &env));
    }
    let (installed, warm) = (median(a), median(b));
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| packed file vs `tar czf` of the release | {:.2} MiB vs {:.2} MiB ({:.2}×; beamrc itself {:.2} MiB) |",
        mib(size(&packed)),
        mib(size(&tgz)),
        size(&packed) as f64 / size(&tgz) as f64,
        mib(size(&beamrc))
    );
    println!("| `beamrc pack` | {:.0} ms |", ms(pack_time));
    println!(
        "| first run (`version`, extraction included) | {:.1} ms |",
        ms(first)
    );
    println!(
        "| warm `./{name} version` vs installed `bin/{name} version` | {:.2} ms vs {:.2} ms ({:.2}×) |",
        ms(warm),
        ms(installed),
        warm.as_secs_f64() / installed.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
}
