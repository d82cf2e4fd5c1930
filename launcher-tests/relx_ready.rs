//! beamrc's `ready` / `wait` probes on a relx release (not relx commands).
use crate::support::relx::{RelxFixture, RelxRelease};

#[test]
fn relx_ready_and_wait_answer_for_a_relx_node() {
    let rel = RelxRelease::new(RelxFixture::Plain);
    rel.install_beamrc().assert_success("beamrc install");
    let pipes = format!("{}/pipes/", rel.dir.display());
    let env = [("PIPE_DIR", pipes.as_str()), ("BEAMRC_START_TIMEOUT", "30")];
    let down = rel.run(&rel.bin(), &["ready"], &env);
    assert_ne!(down.code, Some(0), "{down}");
    assert_eq!(rel.run(&rel.bin(), &["daemon"], &env).code, Some(0));
    let wait = rel.run(&rel.bin(), &["wait", "--timeout", "30"], &env);
    assert_eq!(wait.code, Some(0), "{wait}");
    let ready = rel.run(&rel.bin(), &["ready", "--app", "erlapp"], &env);
    assert_eq!(ready.code, Some(0), "{ready}");
    assert!(ready.stdout.contains("erlapp@"), "{ready}");
    let missing = rel.run(&rel.bin(), &["ready", "--app", "nosuchapp"], &env);
    assert_ne!(missing.code, Some(0), "{missing}");
    assert_eq!(rel.run(&rel.bin(), &["stop"], &env).code, Some(0));
}
