//! The usage texts, read from the kept script's `relx_usage` function (so they follow the
//! relx version that built the release) and printed without a shell.
//!
//! The function is a `case "$command" in` whose arms are `WORDS)` lines followed by
//! `echo "…"` lines up to `;;`; the `*)` arm holds the full usage as one multi-line
//! `echo "…"` ending in `$EXTENSIONS`. `$REL_NAME` / `${REL_NAME}` are the only variables.

/// What `relx_usage TOPIC` prints, or `None` when the topic has no arm of its own (then the
/// caller checks extensions, and else prints [`full`]).
pub fn topic(script_text: &str, rel_name: &str, topic: &str) -> Option<String> {
    let body = usage_body(script_text)?;
    let mut lines = body.lines();
    while let Some(line) = lines.next() {
        let Some(words) = arm_words(line) else {
            continue;
        };
        if words == "*" || !words.split('|').any(|w| w.trim_matches('"') == topic) {
            continue;
        }
        let mut out = String::new();
        for l in lines.by_ref() {
            let t = l.trim();
            if t == ";;" {
                break;
            }
            if let Some(text) = t.strip_prefix("echo \"").and_then(|r| r.strip_suffix('"')) {
                out.push_str(&expand(text, rel_name, ""));
                out.push('\n');
            }
        }
        return Some(out);
    }
    None
}

/// The full usage (`relx_usage` with no known topic); `extensions` as the last line shows
/// them (`a|b`, or `undefined`).
pub fn full(script_text: &str, rel_name: &str, extensions: &str) -> Option<String> {
    let body = usage_body(script_text)?;
    let start = body.find("echo \"Usage: ${REL_NAME} [COMMAND] [ARGS]")? + "echo \"".len();
    let rest = &body[start..];
    let end = rest.find("\"\n")?;
    let mut text = expand(&rest[..end], rel_name, extensions);
    text.push('\n');
    Some(text)
}

fn usage_body(text: &str) -> Option<&str> {
    let start = text.find("\nrelx_usage() {\n")?;
    let body = &text[start..];
    let end = body.find("\n}\n")?;
    Some(&body[..end])
}

/// `        rpc)` / `        remote_console|remote|remsh)` / `        "eval")`.
fn arm_words(line: &str) -> Option<&str> {
    let t = line.trim();
    let words = t.strip_suffix(')')?;
    (line.starts_with("        ")
        && !line.starts_with("         ")
        && !words.is_empty()
        && words
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_|\"*".contains(c)))
    .then_some(words)
}

fn expand(text: &str, rel_name: &str, extensions: &str) -> String {
    text.replace("${REL_NAME}", rel_name)
        .replace("$REL_NAME", rel_name)
        .replace("$(relx_extension_descriptions)", extensions)
        .replace("$EXTENSIONS", extensions)
}

/// Later relx's `relx_extension_descriptions`: `  %-23s %s` per `cmd=text` of the
/// `|`-separated list (`cut -d= -f1` / `-f2`), trailing newlines removed as `$(…)` does.
pub fn descriptions(list: &str) -> String {
    let mut out = String::new();
    for entry in list.split('|').filter(|e| !e.is_empty()) {
        let mut fields = entry.split('=');
        let cmd = fields.next().unwrap_or_default();
        let text = fields.next().unwrap_or(cmd);
        out.push_str(&format!("  {cmd:<23} {text}\n"));
    }
    out.trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "#!/bin/sh\n\nrelx_usage() {\n    command=\"$1\"\n\n    case \"$command\" in\n\
\x20       rpc)\n            echo \"Usage: $REL_NAME rpc [Mod [Fun [Args]]]]\"\n\
\x20           echo \"Applies the specified function and returns the result.\"\n            ;;\n\
\x20       \"eval\")\n            echo \"Usage: $REL_NAME eval [Exprs]\"\n            ;;\n\
\x20       remote_console|remote|remsh)\n            echo \"Usage: $REL_NAME remote\"\n            ;;\n\
\x20       *)\n            IS_EXTENSION=$(relx_is_extension \"$command\")\n\
\x20               echo \"Usage: ${REL_NAME} [COMMAND] [ARGS]\n\nCommands:\n\n  status      x\n  $EXTENSIONS\"\n\
\x20           fi\n            ;;\n    esac\n}\n\nfind_erts_dir() {\n}\n";

    #[test]
    fn extension_descriptions_as_later_relx_prints_them() {
        assert_eq!(
            descriptions("bar=runs bar|foo=foo it"),
            "  bar                     runs bar\n  foo                     foo it"
        );
        assert_eq!(descriptions(""), "");
    }

    #[test]
    fn topics_and_full_usage() {
        assert_eq!(
            topic(SCRIPT, "demo", "rpc").unwrap(),
            "Usage: demo rpc [Mod [Fun [Args]]]]\nApplies the specified function and returns the result.\n"
        );
        assert_eq!(
            topic(SCRIPT, "demo", "eval").unwrap(),
            "Usage: demo eval [Exprs]\n"
        );
        assert_eq!(
            topic(SCRIPT, "demo", "remsh").unwrap(),
            "Usage: demo remote\n"
        );
        assert_eq!(topic(SCRIPT, "demo", "nope"), None);
        assert_eq!(
            full(SCRIPT, "demo", "undefined").unwrap(),
            "Usage: demo [COMMAND] [ARGS]\n\nCommands:\n\n  status      x\n  undefined\n"
        );
    }
}
