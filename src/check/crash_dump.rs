//! `check --crash-dump [FILE]`: the slogan of an `erl_crash.dump`, explained.
use super::diagnose;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The dump to read: FILE, else `ERL_CRASH_DUMP`, else `erl_crash.dump` in the cwd.
pub(crate) fn default_path(file: Option<&Path>, env_dump: Option<&std::ffi::OsStr>) -> PathBuf {
    match (file, env_dump) {
        (Some(f), _) => f.to_path_buf(),
        (None, Some(e)) if !e.is_empty() => PathBuf::from(e),
        _ => PathBuf::from("erl_crash.dump"),
    }
}

/// `(slogan, system version)` from the head of a dump.
pub(crate) fn slogan(head: &str) -> Option<(String, Option<String>)> {
    if !head.starts_with("=erl_crash_dump:") {
        return None;
    }
    let field = |name: &str| {
        head.lines()
            .take(50)
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    Some((field("Slogan:")?, field("System version:")))
}

/// The explanation printed for a dump (exit 0), or why it cannot be read (exit 1).
pub(crate) fn explain(path: &Path) -> Result<String, String> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|e| format!("ERROR: cannot read crash dump {}: {e}", path.display()))?;
    let head = String::from_utf8_lossy(&head);
    let (slogan, system) = slogan(&head)
        .ok_or_else(|| format!("ERROR: {} is not an Erlang crash dump", path.display()))?;
    let mut out = format!("crash dump {}", path.display());
    if let Some(s) = system {
        out.push_str(&format!(" ({s})"));
    }
    out.push('\n');
    let found = diagnose::diagnose(&slogan);
    if found.is_empty() {
        out.push_str(&format!(
            "ERROR: the VM crashed: {slogan}\n  hint: no known boot-failure pattern; the slogan is the reason the VM gave\n"
        ));
    } else {
        out.push_str(&diagnose::render(&found));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_explains_a_slogan() {
        let d = crate::test_support::scratch("dump");
        let p = d.join("erl_crash.dump");
        std::fs::write(
            &p,
            "=erl_crash_dump:0.5\nTue Dec  1 20:00:00 2026\nSlogan: Protocol 'inet_tcp': register/listen error: econnrefused\nSystem version: Erlang/OTP 25 [erts-13.1.5]\n=memory\n",
        )
        .unwrap();
        let t = explain(&p).unwrap();
        assert!(t.contains("ERROR: the VM cannot register with epmd"), "{t}");
        assert!(t.contains("(Erlang/OTP 25 [erts-13.1.5])"), "{t}");
        std::fs::write(
            &p,
            "=erl_crash_dump:0.5\nSlogan: eheap_alloc: Cannot allocate 1 bytes\n",
        )
        .unwrap();
        assert!(
            explain(&p)
                .unwrap()
                .contains("ERROR: the VM crashed: eheap_alloc")
        );
        std::fs::write(&p, "hello").unwrap();
        assert!(
            explain(&p)
                .unwrap_err()
                .contains("not an Erlang crash dump")
        );
        assert!(explain(&d.join("nope")).is_err());
        assert_eq!(default_path(None, Some("/x".as_ref())), PathBuf::from("/x"));
        assert_eq!(default_path(None, None), PathBuf::from("erl_crash.dump"));
    }
}
