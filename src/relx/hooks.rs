//! relx hooks, extensions and the status hook, run as relx runs them: **sourced** by
//! `/bin/sh` under `set -e`, with the script's shell variables and its helper functions
//! (`erl_rpc`, `erl_eval`, `relx_get_pid`, `ping_or_exit`, `relx_escript`), cwd = release
//! root. The helpers call back into `bin/NAME` (beamrc), so they are native too.
//!
//! The shell program is built here as text and handed to `sh` through a pipe (never on a
//! command line: it holds `COOKIE`). It ends by writing one byte to fd 4: when that byte
//! is missing, a hook or an extension ended the shell itself (`exit N`), which in relx ends
//! the whole command with N.
use std::path::Path;

use super::script::Hook;

/// What the shell sources after the prelude.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// A phase's hooks, each with its own `|`-separated arguments.
    Hooks(&'a [Hook]),
    /// One script (extension or status hook) with the command's arguments.
    Source { script: &'a str, args: &'a [String] },
}

/// `'…'` with embedded quotes closed and escaped.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The program: variables, helpers, the body, then the completion marker.
/// `vars` are assigned as (unexported) shell variables; `callback` is the `bin/NAME` relx's
/// helper functions call (`None`: no helpers, for Mix releases). Scripts are relative to
/// `base` (relx ≤ 4.7: `bin/`; later relx: the release root; Mix: `releases/VSN`).
pub fn program(
    vars: &[(&str, String)],
    callback: Option<&Path>,
    base: &Path,
    body: &Body,
) -> String {
    let mut out = String::from("set -e\n");
    out.push_str(&format!(
        "__beamrc_base={}\n",
        sh_quote(&base.to_string_lossy())
    ));
    for (k, v) in vars {
        out.push_str(&format!("{k}={}\n", sh_quote(v)));
    }
    if let Some(callback) = callback {
        out.push_str(&helpers(callback));
    }
    let source = |out: &mut String, script: &str, args: &[String]| {
        let quoted: Vec<String> = args.iter().map(|a| sh_quote(a)).collect();
        out.push_str(&format!("set -- {}\n", quoted.join(" ")));
        let path = format!("\"$__beamrc_base\"/{}", sh_quote(script));
        out.push_str(&format!("if [ -f {path} ]; then . {path} \"$@\"; fi\n"));
    };
    match body {
        Body::Hooks(hooks) => {
            for h in hooks.iter() {
                source(&mut out, &h.script, &h.args);
            }
        }
        Body::Source { script, args } => source(&mut out, script, args),
    }
    out.push_str("printf x >&4\nexit 0\n");
    out
}

/// relx's helper functions, calling back into `bin/NAME`.
fn helpers(callback: &Path) -> String {
    let cb = sh_quote(&callback.to_string_lossy());
    format!(
        "erl_rpc() {{ {cb} rpc \"$@\"; }}\n\
         erl_eval() {{ {cb} eval \"$@\"; }}\n\
         relx_get_pid() {{ {cb} pid; }}\n\
         ping_or_exit() {{ if ! {cb} ping > /dev/null 2>&1; then echo \"Node is not running!\"; exit 1; fi; }}\n\
         relx_escript() {{ scriptpath=\"$1\"; shift; export RELEASE_ROOT_DIR; \"$ERTS_DIR/bin/escript\" \"$ROOTDIR/$scriptpath\" \"$@\"; }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_sources_each_hook_with_its_args() {
        let hooks = [
            Hook {
                script: "hooks/builtin/pid".into(),
                args: vec!["foo.pid".into()],
            },
            Hook {
                script: "hooks/it's".into(),
                args: vec![],
            },
        ];
        let p = program(
            &[("COOKIE", "a'b".into())],
            Some(Path::new("/r/bin/demo")),
            Path::new("/r/bin"),
            &Body::Hooks(&hooks),
        );
        assert!(p.starts_with("set -e\n__beamrc_base='/r/bin'\nCOOKIE='a'\\''b'\n"));
        assert!(p.contains("erl_rpc() { '/r/bin/demo' rpc \"$@\"; }"));
        assert!(p.contains(
            "set -- 'foo.pid'\nif [ -f \"$__beamrc_base\"/'hooks/builtin/pid' ]; then . \"$__beamrc_base\"/'hooks/builtin/pid' \"$@\"; fi\n"
        ));
        assert!(p.contains("'hooks/it'\\''s'"));
        assert!(p.ends_with("printf x >&4\nexit 0\n"));
    }
}
