//! `beamrc pack` of a relx release (rebar3's prod profile bundles ERTS): the single file,
//! copied alone to another directory, runs relx's commands from its cache entry.
use crate::support::relx::{RelxFixture, RelxRelease};
use crate::support::{RunOutput, beamrc_bin, ok};

#[test]
fn relx_pack_a_copied_file_runs_ping_daemon_rpc_stop() {
    let rel = RelxRelease::new(RelxFixture::Plain);
    let packed = rel.dir.join("packed");
    std::fs::create_dir_all(&packed).unwrap();
    let root = rel.root.to_string_lossy().into_owned();
    let out = rel.run(
        &beamrc_bin(),
        &["pack", &root, "-o", packed.to_str().unwrap()],
        &[],
    );
    assert!(ok(&out).starts_with("packed "), "{out}");
    let elsewhere = rel.dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let file = elsewhere.join("erlapp");
    crate::support::copy_executable(&packed.join("erlapp"), &file);
    // the release itself is gone: everything runs from the cache entry
    std::fs::remove_dir_all(&rel.root).unwrap();
    let cache = rel.dir.join("cache");
    let pipes = format!("{}/pipes/", rel.dir.display());
    let env = [
        ("BEAMRC_PACK_DIR", cache.to_str().unwrap()),
        ("PIPE_DIR", pipes.as_str()),
        ("BEAMRC_START_TIMEOUT", "30"),
    ];
    let run = |args: &[&str]| -> RunOutput { rel.run(&file, args, &env) };
    let info = rel.run(&file, &[], &[("BEAMRC_PACK_INFO", "1"), env[0]]);
    assert!(info.stdout.contains("relx"), "{info}");
    let down = run(&["ping"]);
    assert_eq!(down.code, Some(1), "{down}");
    assert_eq!(down.stdout, "Node is not running!\n", "{down}");
    assert_eq!(run(&["daemon"]).code, Some(0), "daemon");
    let pong = run(&["ping"]);
    assert_eq!(
        (pong.code, pong.stdout.as_str()),
        (Some(0), "pong\n"),
        "{pong}"
    );
    let node = run(&["rpc", "erlang", "node"]);
    assert_eq!(node.code, Some(0), "{node}");
    assert!(node.stdout.starts_with("erlapp@"), "{node}");
    let cwd = run(&["rpc", "file", "get_cwd"]);
    assert!(cwd.stdout.contains(cache.to_str().unwrap()), "{cwd}");
    assert_eq!(run(&["stop"]).code, Some(0), "stop");
    let after = run(&["ping"]);
    assert_eq!(after.code, Some(1), "{after}");
}
