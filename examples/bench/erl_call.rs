//! OTP's C client `erl_call` (the release's `erts-*/bin/erl_call`), the comparison for the
//! native `ping` and `pid`. The cookie goes on its command line (`-c`), as erl_call wants
//! it; the bench never prints it (see [`ErlCall::shown`] and `time_once`).
use std::path::{Path, PathBuf};

pub struct ErlCall {
    pub program: PathBuf,
    node: String,
    cookie: String,
}

impl ErlCall {
    /// The release's erl_call, for `node` (a short name, as the release's default).
    pub fn find(root: &Path, node: &str, cookie: &str) -> Option<ErlCall> {
        let program = std::fs::read_dir(root)
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin/erl_call"))
            .find(|p| {
                p.is_file()
                    && p.parent()
                        .and_then(|b| b.parent())
                        .and_then(|e| e.file_name())
                        .is_some_and(|n| n.to_string_lossy().starts_with("erts-"))
            })?;
        Some(ErlCall {
            program,
            node: node.to_string(),
            cookie: cookie.to_string(),
        })
    }

    /// `erl_call -c COOKIE -sname NODE -a 'M F'`.
    pub fn args(&self, mf: &str) -> Vec<String> {
        ["-c", &self.cookie, "-sname", &self.node, "-a", mf]
            .map(String::from)
            .to_vec()
    }

    /// The command as printed: the cookie masked.
    pub fn shown(&self, mf: &str) -> String {
        format!(
            "{} -c ******** -sname {} -a '{mf}'",
            self.program.display(),
            self.node
        )
    }
}
