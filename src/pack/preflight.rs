//! On the first extraction: can this host run the packed ERTS? `check`'s runtime checks
//! (ELF class, machine and OS ABI, interpreter, every library and symbol version of the
//! ERTS programs) run on the staged copy before it is renamed into the cache, so a wrong
//! architecture or a missing library is one clear error and leaves no cache entry. The warm
//! path (entry complete) never runs it.
use crate::check::report::{Finding, Level};
use crate::check::{Host, Subject, runtime};
use crate::environment::EnvMap;
use std::path::Path;

/// `Err` with one sentence saying why the ERTS under `staged` cannot run here.
pub(crate) fn check(staged: &Path, erts_vsn: &str, env: EnvMap) -> Result<(), String> {
    let bin = staged.join(format!("erts-{erts_vsn}")).join("bin");
    let host = Host::detect(&env, String::new());
    let subject = Subject::runtime_only(staged.to_path_buf(), bin, env);
    let errors: Vec<Finding> = runtime::erts_programs(&subject, &host)
        .into_iter()
        .filter(|f| f.level == Level::Error)
        .collect();
    sentence(&errors).map_or(Ok(()), Err)
}

/// The first error (with its hint), and how many more there are. (Its place is the
/// staged copy, removed by then: `what` names the file relative to the release.)
fn sentence(errors: &[Finding]) -> Option<String> {
    let first = errors.first()?;
    let mut text = first.what.clone();
    if let Some(hint) = &first.hint {
        text.push_str(&format!(": {hint}"));
    }
    if errors.len() > 1 {
        text.push_str(&format!(" (and {} more like it)", errors.len() - 1));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sentence_for_many_findings() {
        assert_eq!(sentence(&[]), None);
        let f = Finding {
            level: Level::Error,
            check: "runtime.format",
            what: "erts-1/bin/beam.smp is an aarch64 binary".into(),
            place: None,
            hint: Some("use a release built for x86-64".into()),
        };
        let text = sentence(&[f.clone(), f]).unwrap();
        assert_eq!(
            text,
            "erts-1/bin/beam.smp is an aarch64 binary: use a release built for x86-64 (and 1 more like it)"
        );
    }

    #[test]
    fn a_host_erts_passes_and_a_missing_one_is_named() {
        let dir = std::env::temp_dir().join(format!("beamrc-preflight-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("erts-1/bin")).unwrap();
        let err = check(&dir, "1", EnvMap::new()).unwrap_err();
        assert!(err.contains("erlexec"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
