//! An upgrade's local overhead: everything `bin/NAME upgrade` spends besides waiting for the
//! node (release_handler's own work, the connection), from `BEAMRC_LOG=debug`'s
//! `upgrade command done total_ms=… node_ms=…` line, on a deployed release that can move
//! FROM → TO and back. Each cycle: `upgrade TO` (a first install from the package in
//! `releases/`), `downgrade FROM` (between installed versions), `uninstall TO`.
//!
//! ```sh
//! cargo run --release --example bench_upgrade -- DEPLOYED_ROOT NAME FROM TO
//! ```
//! The release must not run yet (the example starts it with `daemon`, `PIPE_DIR` under the
//! release, and stops it); its package for TO must be in `releases/`. Exit 1 when a median
//! misses the 20 ms target.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TARGET_MS: f64 = 20.0;

/// One command's figures: (wall of the whole process, total_ms, node_ms, beamrc's stderr).
fn run(bin: &Path, args: &[&str], env: &[(&str, String)]) -> (f64, f64, f64, String) {
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("BEAMRC_LOG", "beamrc=debug")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let wall = start.elapsed().as_secs_f64() * 1e3;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} {args:?}: {}\n{}{stderr}",
        bin.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let field = |key: &str| -> f64 {
        stderr
            .lines()
            .filter(|l| l.contains("upgrade command done"))
            .find_map(|l| {
                let at = l.find(key)? + key.len();
                l[at..]
                    .split(|c: char| c != '.' && !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {key} in the debug log of {args:?}:\n{stderr}"))
    };
    (wall, field("total_ms="), field("node_ms="), stderr)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let usage = "usage: bench_upgrade DEPLOYED_ROOT NAME FROM TO [CYCLES]";
    let root = PathBuf::from(argv.next().expect(usage));
    let name = argv.next().expect(usage);
    let from = argv.next().expect(usage);
    let to = argv.next().expect(usage);
    let cycles: usize = argv.next().map_or(7, |n| n.parse().expect(usage));
    let bin = root.join("bin").join(&name);
    let env = vec![("PIPE_DIR", format!("{}/tmp/pipes/", root.display()))];
    let status = Command::new(&bin)
        .arg("daemon")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status();
    assert!(status.is_ok_and(|s| s.success()), "daemon failed");
    let mut ok = false;
    for _ in 0..100 {
        let ping = Command::new(&bin)
            .arg("ping")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output();
        if ping.is_ok_and(|o| o.status.success()) {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "the node did not answer ping");
    let (mut first, mut switch, mut first_wall, mut first_node) = (vec![], vec![], vec![], vec![]);
    let (mut read_line, mut reads) = (String::new(), vec![]);
    for _ in 0..cycles {
        let (wall, total, node, err) = run(&bin, &["upgrade", &to], &env);
        first.push(total - node);
        first_wall.push(wall - node);
        first_node.push(node);
        if let Some(l) = err.lines().find(|l| l.starts_with("beamrc: read package")) {
            read_line = l.to_string();
            let ms = l
                .rsplit(" in ")
                .next()
                .and_then(|t| t.trim_end_matches(" ms").parse().ok());
            reads.push(ms.unwrap_or(f64::NAN));
        }
        let (_, total, node, _) = run(&bin, &["downgrade", &from], &env);
        switch.push(total - node);
        run(&bin, &["uninstall", &to], &env);
    }
    let _ = Command::new(&bin)
        .arg("stop")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status();
    let (f, s) = (median(first), median(switch));
    println!(
        "upgrade local overhead (total_ms - node_ms, median of {cycles}; target <= {TARGET_MS} ms):"
    );
    println!(
        "  first install from the package  {f:>7.1} ms {}   (whole process minus node: {:.1} ms; node {:.0} ms)",
        if f <= TARGET_MS { "ok" } else { "MISSED" },
        median(first_wall),
        median(first_node)
    );
    if !read_line.is_empty() {
        println!(
            "    of which reading the package (one pass, inflating it): {:.0} ms median; last: {read_line}",
            median(reads)
        );
    }
    println!(
        "  between installed versions      {s:>7.1} ms {}",
        if s <= TARGET_MS { "ok" } else { "MISSED" }
    );
    if f > TARGET_MS || s > TARGET_MS {
        std::process::exit(1);
    }
}
