//! `BEAMRC_DRY_RUN=1`: the plan as text — what would be prepared, run, and with which
//! environment changes — with the cookie masked everywhere it appears.
use super::{Action, ExecSpec, Plan, Prepare};
use crate::environment::EnvMap;
use std::ffi::OsStr;
use std::fmt::Write;

pub const MASK: &str = "********";

/// Renders the plan. `caller` is the environment beamrc was started with: only the
/// variables the plan adds or changes are listed (and the ones it removes).
pub fn render(plan: &Plan, caller: &EnvMap, cookie: Option<&str>) -> String {
    let mask = |s: &OsStr| -> String {
        let text = s.to_string_lossy().into_owned();
        match cookie {
            Some(c) if !c.is_empty() => mask_cookie(&text, c),
            _ => text,
        }
    };
    let mut out = String::new();
    for p in &plan.prepare {
        match p {
            Prepare::CreateDir(d) => {
                let _ = writeln!(out, "mkdir -p {}", mask(d.as_os_str()));
            }
            Prepare::WriteFile {
                path,
                contents,
                mode,
            } => {
                let _ = writeln!(
                    out,
                    "write {} ({} bytes, mode {:o})",
                    mask(path.as_os_str()),
                    contents.len(),
                    mode
                );
            }
        }
    }
    match &plan.action {
        Action::Print(text) => {
            let _ = writeln!(out, "print {text:?}");
        }
        Action::Exec(spec) => render_spec(&mut out, "exec", spec, caller, &mask),
        Action::Daemon(d) => render_spec(&mut out, "run", &d.run_erl, caller, &mask),
    }
    out
}

fn render_spec(
    out: &mut String,
    verb: &str,
    spec: &ExecSpec,
    caller: &EnvMap,
    mask: &dyn Fn(&OsStr) -> String,
) {
    let _ = writeln!(out, "{verb} {}", mask(spec.program.as_os_str()));
    for (i, a) in spec.argv.iter().enumerate() {
        let _ = writeln!(out, "  argv[{i}] {}", mask(a));
    }
    for (k, v) in spec.env.iter() {
        if caller.get(&k.to_string_lossy()) != Some(v) {
            let _ = writeln!(out, "  env {}={}", k.to_string_lossy(), mask(v));
        }
    }
    for (k, _) in caller.iter() {
        if !spec.env.contains(&k.to_string_lossy()) {
            let _ = writeln!(out, "  unset {}", k.to_string_lossy());
        }
    }
}

/// Replaces the cookie, and its backslash-escaped forms in run_erl's command string
/// (1.14 escapes `-`, later versions do not).
pub fn mask_cookie(text: &str, cookie: &str) -> String {
    let escaped = |dash_safe: bool| -> String {
        cookie
            .chars()
            .flat_map(|c| {
                let safe =
                    c.is_ascii_alphanumeric() || c == '_' || c == '/' || (dash_safe && c == '-');
                (!safe)
                    .then_some('\\')
                    .into_iter()
                    .chain(std::iter::once(c))
            })
            .collect()
    };
    text.replace(&escaped(false), MASK)
        .replace(&escaped(true), MASK)
        .replace(cookie, MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_escaped_cookie() {
        assert_eq!(
            mask_cookie("-setcookie AB== x", "AB=="),
            "-setcookie ******** x"
        );
        assert_eq!(
            mask_cookie(r" \-setcookie AB\=\= x", "AB=="),
            r" \-setcookie ******** x"
        );
        assert_eq!(mask_cookie("a-b", "a-b"), MASK);
        assert_eq!(mask_cookie(r"x a-b\= y", "a-b="), format!("x {MASK} y"));
        assert_eq!(mask_cookie(r"x a\-b\= y", "a-b="), format!("x {MASK} y"));
    }
}
