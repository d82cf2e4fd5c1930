//! `daemon`, `ping` and `rpc` on a machine without `/etc/hosts` (issue 9): what `debootstrap`
//! leaves and some minimal images have. The VM resolves its own host name there
//! (`inet:gethostbyname` → 127.0.0.1); beamrc must reach it too.
//!
//! Ignored in a plain `cargo test` (the host has an `/etc/hosts`): `scripts/test.sh` runs it in
//! each chroot of the version matrix with the file removed
//! (`scripts/matrix/run.sh --no-hosts ROOT TEST_EXE --ignored no_etc_hosts`).
//!
//! Before dist's resolution fix (issue 9), `ping` said `epmd not reachable` there and `daemon`
//! waited out its timeout although the node was up; it passes on trixie and sid since main
//! 0efbed2.
use std::path::Path;

use crate::support::{Fixture, installed, oracle_as_name};

#[test]
#[ignore = "needs a root without /etc/hosts: run by scripts/test.sh in the matrix roots"]
fn daemon_ping_and_rpc_work_without_etc_hosts() {
    assert!(
        !Path::new("/etc/hosts").exists(),
        "this test proves nothing with an /etc/hosts: run it in a matrix root \
         (scripts/matrix/run.sh --no-hosts ROOT TEST_EXE --ignored no_etc_hosts)"
    );
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let script = oracle_as_name(&rel);
    // Short enough that a failed boot wait does not dominate the run; the fixture boots in ~1 s.
    let env = [("BEAMRC_START_TIMEOUT", "20")];
    let mut failures = Vec::new();

    let daemon = rel.run(&bin, &["daemon"], &env, None);
    if !daemon.success() {
        failures.push(format!("`daemon` failed:\n{daemon}"));
    }
    // Whatever beamrc said, the script (a hidden VM) tells whether the node is up.
    let by_script = rel.run(&script, &["pid"], &[], None);
    assert!(
        by_script.success(),
        "the node is not up even for the script, so nothing here can be judged:\n{by_script}\n\
         daemon log:\n{}",
        rel.daemon_log()
    );
    let node_pid = by_script.stdout.trim();

    let ping = rel.run(&bin, &["ping"], &[], None);
    if ping.code != Some(0) || ping.stdout != "pong\n" {
        failures.push(format!("`ping` (node pid {node_pid} is up):\n{ping}"));
    }
    let rpc = rel.run(&bin, &["rpc", "IO.puts(System.pid())"], &[], None);
    if rpc.code != Some(0) || rpc.stdout.trim() != node_pid {
        failures.push(format!(
            "`rpc 'IO.puts(System.pid())'` (expected {node_pid}):\n{rpc}"
        ));
    }
    let pid = rel.run(&bin, &["pid"], &[], None);
    if pid.code != Some(0) || pid.stdout.trim() != node_pid {
        failures.push(format!("`pid` (expected {node_pid}):\n{pid}"));
    }
    // Stop it with the script so the teardown does not depend on what is being tested.
    rel.run(&script, &["stop"], &[], None);
    assert!(
        failures.is_empty(),
        "without /etc/hosts:\n\n{}",
        failures.join("\n\n")
    );
}
