//! What the checks before the first change say — a passed check, or the refusal — each
//! with a stable id (`upgrade.relup`, … listed in the README), and `check --upgrade VSN
//! --json`: the same report as `check --json`, through check's writer, with the upgrade
//! command's own exit code (0, or the refusal's 2–4).
use crate::Error;
use crate::check::report::{self, Finding};

/// Why a check refused, with the exit code (relx's classes: 2 unpack, 3 check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The check's stable id.
    pub check: &'static str,
    pub code: i32,
    pub text: String,
    /// What to do, when the sentence says it (its last part).
    pub hint: Option<String>,
}

pub(super) fn refuse<T>(check: &'static str, code: i32, text: String) -> Result<T, Refusal> {
    Err(Refusal {
        check,
        code,
        text,
        hint: None,
    })
}

/// A refusal whose `text` ends with what to do, `hint`.
pub(super) fn refuse_hinted<T>(
    check: &'static str,
    code: i32,
    text: String,
    hint: &str,
) -> Result<T, Refusal> {
    Err(Refusal {
        check,
        code,
        text,
        hint: Some(hint.to_string()),
    })
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Refused {
            check: r.check,
            code: r.code,
            text: r.text,
            hint: r.hint,
        }
    }
}

/// One passed check: its stable id and the report's line (`checked: LINE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub check: &'static str,
    pub line: String,
}

pub(super) fn pass(check: &'static str, line: String) -> Checked {
    Checked { check, line }
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// The id of a failure that is no check's refusal: the node unreachable or not answering,
/// release_handler not running (no sasl), no current release, the node running from
/// another directory, an unreadable package.
pub(crate) const NODE: &str = "upgrade.node";

/// `check --upgrade VSN --json`: the report and the exit code.
pub(crate) fn json(result: &crate::Result<Vec<Checked>>) -> (String, i32) {
    let (findings, code) = match result {
        Ok(passed) => (
            passed
                .iter()
                .map(|c| Finding::ok(c.check, c.line.clone()))
                .collect(),
            0,
        ),
        Err(e) => (vec![of_error(e)], e.code()),
    };
    (report::json_exiting(&findings, code), code)
}

fn of_error(e: &Error) -> Finding {
    match e {
        Error::Refused {
            check, text, hint, ..
        } => {
            let f = Finding::error(check, text.clone());
            match hint {
                Some(h) => f.hint(h.clone()),
                None => f,
            }
        }
        e => {
            let line = e.line();
            Finding::error(NODE, line.strip_prefix("ERROR: ").unwrap_or(&line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passed_checks_are_ok_findings() {
        let passed = vec![
            pass(
                "upgrade.package",
                "package releases/a-0.2.0.tar.gz: 9 entries".into(),
            ),
            pass(
                "upgrade.relup",
                "releases/0.2.0/relup upgrades from 0.1.0".into(),
            ),
        ];
        assert_eq!(
            json(&Ok(passed)),
            (
                "{\"ok\":true,\"exit_code\":0,\"findings\":[\
                 {\"level\":\"ok\",\"check\":\"upgrade.package\",\"what\":\"package releases/a-0.2.0.tar.gz: 9 entries\",\"where\":null,\"hint\":null},\
                 {\"level\":\"ok\",\"check\":\"upgrade.relup\",\"what\":\"releases/0.2.0/relup upgrades from 0.1.0\",\"where\":null,\"hint\":null}]}\n"
                    .to_string(),
                0
            )
        );
    }

    #[test]
    fn a_refusal_is_one_error_finding_with_its_code_and_hint() {
        let r: Result<(), Refusal> = refuse_hinted(
            "upgrade.contents",
            3,
            "a 0.2.0 needs ERTS 14.0: it is not \"installed\"; build the package with ERTS included".into(),
            "build the package with ERTS included",
        );
        let e = Error::from(r.unwrap_err());
        assert_eq!(
            e.line(),
            "ERROR: a 0.2.0 needs ERTS 14.0: it is not \"installed\"; build the package with ERTS included",
            "the text report's line is unchanged"
        );
        assert_eq!(
            json(&Err(e)),
            (
                "{\"ok\":false,\"exit_code\":3,\"findings\":[\
                 {\"level\":\"error\",\"check\":\"upgrade.contents\",\
                 \"what\":\"a 0.2.0 needs ERTS 14.0: it is not \\\"installed\\\"; build the package with ERTS included\",\
                 \"where\":null,\"hint\":\"build the package with ERTS included\"}]}\n"
                    .to_string(),
                3
            )
        );
        let r: Result<(), Refusal> = refuse("upgrade.package", 2, "no package".into());
        let (text, code) = json(&Err(r.unwrap_err().into()));
        assert_eq!(code, 2);
        assert!(
            text.contains(
                "\"check\":\"upgrade.package\",\"what\":\"no package\",\"where\":null,\"hint\":null"
            ),
            "{text}"
        );
    }

    #[test]
    fn other_failures_are_the_node_finding_without_the_prefix() {
        let e = Error::message(1, "ERROR: cannot reach a@h: connection refused");
        let (text, code) = json(&Err(e));
        assert_eq!(code, 1);
        assert!(
            text.starts_with("{\"ok\":false,\"exit_code\":1,")
                && text.contains(
                    "\"check\":\"upgrade.node\",\"what\":\"cannot reach a@h: connection refused\""
                ),
            "{text}"
        );
        let (text, code) = json(&Err(Error::Lifecycle("a@h did not answer".into())));
        assert_eq!(code, 6);
        assert!(text.contains("\"what\":\"a@h did not answer\""), "{text}");
    }
}
