//! Findings and how they are printed: one line each (`ok`, `WARNING:`, `ERROR:` + what,
//! where, what to do), or JSON for machines.
use std::fmt::Write;

/// `check` exits with this when at least one finding is an error (the release cannot
/// start as it is); 0 otherwise, warnings included.
pub(crate) const EXIT_CANNOT_START: i32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Level::Ok => "ok:",
            Level::Warning => "WARNING:",
            Level::Error => "ERROR:",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// A stable identifier (`runtime.library`, `config.name`, …), listed in the README.
    pub check: &'static str,
    pub what: String,
    /// The file, variable or address concerned.
    pub place: Option<String>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Finding {
    pub(crate) fn new(level: Level, check: &'static str, what: impl Into<String>) -> Finding {
        Finding {
            level,
            check,
            what: what.into(),
            place: None,
            hint: None,
        }
    }
    pub(crate) fn ok(check: &'static str, what: impl Into<String>) -> Finding {
        Finding::new(Level::Ok, check, what)
    }
    pub(crate) fn warning(check: &'static str, what: impl Into<String>) -> Finding {
        Finding::new(Level::Warning, check, what)
    }
    pub(crate) fn error(check: &'static str, what: impl Into<String>) -> Finding {
        Finding::new(Level::Error, check, what)
    }
    pub(crate) fn at(mut self, place: impl Into<String>) -> Finding {
        self.place = Some(place.into());
        self
    }
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }

    /// `ERROR: what (place) — hint`, on one line.
    pub(crate) fn line(&self) -> String {
        let mut s = format!("{} {}", self.level.prefix(), one_line(&self.what));
        if let Some(p) = &self.place {
            let _ = write!(s, " ({})", one_line(p));
        }
        if let Some(h) = &self.hint {
            let _ = write!(s, " — {}", one_line(h));
        }
        s
    }
}

/// A multi-line text on one line: line breaks and the indentation after them become one space.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Exit status of `check`.
pub(crate) fn exit_code(findings: &[Finding]) -> i32 {
    if findings.iter().any(|f| f.level == Level::Error) {
        EXIT_CANNOT_START
    } else {
        0
    }
}

pub(crate) fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&f.line());
        out.push('\n');
    }
    out
}

/// `{"ok": bool, "exit_code": N, "findings": [{"level", "check", "what", "where", "hint"}]}`.
pub(crate) fn json(findings: &[Finding]) -> String {
    json_exiting(findings, exit_code(findings))
}

/// The same JSON for a command that exits with its own `code` (`check --upgrade VSN`).
pub(crate) fn json_exiting(findings: &[Finding], code: i32) -> String {
    let mut out = format!("{{\"ok\":{},\"exit_code\":{code},\"findings\":[", code == 0);
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"level\":\"{}\",\"check\":{},\"what\":{},\"where\":{},\"hint\":{}}}",
            f.level.word(),
            json_string(f.check),
            json_string(&f.what),
            f.place.as_deref().map_or("null".into(), json_string),
            f.hint.as_deref().map_or("null".into(), json_string),
        );
    }
    out.push_str("]}\n");
    out
}

pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_exit_codes() {
        let f = vec![
            Finding::ok("runtime.format", "5 ERTS programs are x86-64 ELF for Linux"),
            Finding::warning("config.cookie", "cookie readable by others")
                .at("releases/COOKIE")
                .hint("chmod 400 releases/COOKIE"),
        ];
        assert_eq!(exit_code(&f), 0);
        assert_eq!(
            text(&f),
            "ok: 5 ERTS programs are x86-64 ELF for Linux\n\
             WARNING: cookie readable by others (releases/COOKIE) — chmod 400 releases/COOKIE\n"
        );
        let mut f = f;
        f.push(Finding::error("integrity.boot", "no boot file\nat all"));
        assert_eq!(exit_code(&f), EXIT_CANNOT_START);
        assert_eq!(f[2].line(), "ERROR: no boot file at all");
    }

    #[test]
    fn json_is_escaped() {
        let f = vec![Finding::error("x.y", "a \"q\" \\ \n\u{1}").at("p")];
        assert_eq!(
            json(&f),
            "{\"ok\":false,\"exit_code\":8,\"findings\":[{\"level\":\"error\",\"check\":\"x.y\",\
             \"what\":\"a \\\"q\\\" \\\\ \\n\\u0001\",\"where\":\"p\",\"hint\":null}]}\n"
        );
    }
}
