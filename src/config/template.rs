//! The one substitute-and-collect walker step for every rendered file: read a file,
//! substitute it for its format, and collect every problem (unset variables, refused
//! values) with the file's name, so that one run reports them all across a chain.
use std::path::Path;

use super::args_template::ArgsFile;
use super::erl_template::ErlangTerms;
use super::subst::{self, Problem, UnsetPolicy, Why};
use crate::error::Error;

/// The syntax of a rendered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// erlexec's args files: `vm.args` and what it pulls in.
    ArgsFile,
    /// Erlang terms: `sys.config` and its included files.
    ErlangTerms,
}

/// How to substitute: where values come from, what an unset variable does.
#[derive(Clone, Copy)]
pub(crate) struct Subst<'a> {
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub policy: UnsetPolicy,
}

/// Problems of several files, each with the file's display name.
pub(crate) type Problems = Vec<(String, Problem)>;

/// Reads and substitutes `path`. Problems are appended to `problems` (the text then has
/// nothing where they were, so the walk can go on); `None` drops them (a file already
/// reported). Non-UTF-8 text is `Error::Config`, an unreadable file `Error::Io`.
pub(crate) fn render_file(
    path: &Path,
    format: Format,
    subst: Subst<'_>,
    problems: Option<&mut Problems>,
) -> Result<String, Error> {
    let raw =
        std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let text = String::from_utf8(raw).map_err(|_| {
        Error::Config(format!(
            "{}: not valid UTF-8, cannot substitute",
            path.display()
        ))
    })?;
    Ok(render_text(
        &text,
        &path.display().to_string(),
        format,
        subst,
        problems,
    ))
}

/// [`render_file`] for text already read; `name` names it in problems.
pub(crate) fn render_text(
    text: &str,
    name: &str,
    format: Format,
    subst: Subst<'_>,
    problems: Option<&mut Problems>,
) -> String {
    let rendered = match format {
        Format::ArgsFile => {
            subst::render(text, &mut ArgsFile::default(), subst.lookup, subst.policy)
        }
        Format::ErlangTerms => subst::render(
            text,
            &mut ErlangTerms::new(text),
            subst.lookup,
            subst.policy,
        ),
    };
    if let Some(list) = problems {
        list.extend(rendered.problems.into_iter().map(|p| (name.to_string(), p)));
    }
    rendered.text
}

/// Formats the problems of several files as one configuration error.
pub(crate) fn problems_error(what: &str, problems: &[(String, Problem)]) -> Error {
    let unset: Vec<_> = problems
        .iter()
        .filter(|(_, p)| p.why == Why::Unset)
        .collect();
    let mut lines = Vec::new();
    if let Some((_, first)) = unset.first() {
        let mut text = format!("{what}: unset variables referenced without a default:");
        for (file, p) in &unset {
            text.push_str(&format!("\n  {file}:{}: {}", p.line, p.var));
        }
        let first = &first.var;
        text.push_str(&format!(
            "\nSet them (export {first}=...), give a default (${{{first}:-value}}), \
             or set BEAMRC_SUBST_UNSET=empty to substitute the empty string like relx."
        ));
        lines.push(text);
    }
    for (file, p) in problems {
        if let Why::Refused(reason) = &p.why {
            lines.push(format!(
                "{what}: {file}:{}: the value of {} {reason}",
                p.line, p.var
            ));
        }
    }
    Error::Config(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_listed_with_files() {
        let lookup = |k: &str| (k == "Q").then(|| "x".to_string());
        let subst = Subst {
            lookup: &lookup,
            policy: UnsetPolicy::Error,
        };
        let mut problems = Problems::new();
        let out = render_text(
            "-a ${A}\n-b ${Q}",
            "f.args",
            Format::ArgsFile,
            subst,
            Some(&mut problems),
        );
        assert_eq!(out, "-a \n-b x");
        render_text(
            "{s, \"\\${Q}\"}.\n",
            "s.config",
            Format::ErlangTerms,
            subst,
            Some(&mut problems),
        );
        let e = problems_error("cannot render", &problems).to_string();
        assert!(e.starts_with("cannot render: unset variables"), "{e}");
        assert!(e.contains("\n  f.args:1: A\n"), "{e}");
        assert!(
            e.contains("cannot render: s.config:1: the value of Q follows a `\\`"),
            "{e}"
        );
        assert_eq!(problems_error("x", &problems).code(), 4);
    }
}
