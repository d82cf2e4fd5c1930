//! `vm.args` chains: the include walk. Renders the entry and every file reached through
//! `-args_file` (when substituting) and collects the arguments erlexec will assemble, for
//! [`super::vm_args_info`] to analyse.
//!
//! The syntax is erlexec's ([`super::args_file`]); values are written so that they arrive
//! as written ([`super::args_template`]). An `-args_file F` pair is replaced by the
//! arguments of `F`; an `-extra` makes the rest of *that* file plain arguments (moved to
//! the end, after `-extra`).
//!
//! # Decisions
//!
//! * `vm.args.src` **always wins** over `vm.args` (see [`super::source`]), and the same
//!   rule applies to every file reached through `-args_file` when rendering.
//! * A relative `-args_file` path is resolved against the directory of the file naming it
//!   (erlexec resolves it against its cwd). Rendered copies always name their includes by
//!   the rendered target path, so they do not depend on the cwd; pass an absolute
//!   `render_dir`.
//! * Rendered names in `render_dir`: the entry keeps its file name (`vm.args`); every
//!   included file is `<entry>.<n>-<file name>` (`vm.args.1-extra.args`, …), `n` counting
//!   distinct files in discovery order, so equal basenames never collide and `vm.args`
//!   and `remote.vm.args` chains can share a directory. A file included twice is rendered
//!   once.
//! * `-args_file` cycles are an error in every mode (erlexec would loop forever).
//!   A missing included file is an error when rendering; without rendering it is only a
//!   warning, since erlexec will look for it relative to its own cwd. Line numbers in
//!   include errors refer to the rendered text (they differ from the template only when
//!   a substituted value contains a newline).
use std::collections::HashMap;
use std::ffi::OsString;
use std::ops::Range;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::args_file::{quote_arg, tokenize};
use super::source::{self, FileId, file_id};
use super::subst::UnsetPolicy;
use super::template::{self, Format, Problems, Subst};
use super::vm_args_info::{VmArgsInfo, analyse};
use crate::error::Error;

pub(crate) use super::render::RenderedFile;
pub(crate) use super::vm_args_info::NameKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VmArgsPlan {
    /// The path to pass as `-args_file` / `RELEASE_VM_ARGS`.
    pub entry: PathBuf,
    /// Files to write (`render::write_fresh`, mode 0600), entry first; empty when
    /// nothing is substituted.
    pub files: Vec<RenderedFile>,
    pub info: VmArgsInfo,
}

/// Plans `path` (a `vm.args`, or `remote.vm.args`): see the module documentation.
///
/// Errors: neither `path` nor `path.src` exists → `Error::Release`; unset variables (all
/// of them, across the chain), cycles, missing includes, `-args_file` without a file →
/// `Error::Config`; unreadable files → `Error::Io`.
pub(crate) fn plan_vm_args(
    path: &Path,
    render_dir: &Path,
    substitute: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
    policy: UnsetPolicy,
) -> Result<VmArgsPlan, Error> {
    let (source, substitute) = source::entry_source(path, substitute)?;
    if substitute {
        super::private_dir::check(render_dir)?;
    }
    let entry_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| OsString::from("vm.args"));
    let mut walk = Walk {
        render_dir,
        entry_name: entry_name.clone(),
        substitute,
        subst: Subst { lookup, policy },
        files: Vec::new(),
        rendered: HashMap::new(),
        problems: Problems::new(),
        stack: Vec::new(),
        args: Vec::new(),
        extra: Vec::new(),
        warnings: Vec::new(),
    };
    let entry_target = render_dir.join(&entry_name);
    walk.visit(&source, substitute.then_some(entry_target.clone()))?;
    if !walk.problems.is_empty() {
        return Err(template::problems_error(
            "cannot render vm.args",
            &walk.problems,
        ));
    }
    let mut info = analyse(&walk.args, walk.warnings);
    info.flags = walk.args;
    if !walk.extra.is_empty() {
        info.flags.push("-extra".to_string());
        info.flags.extend(walk.extra);
    }
    Ok(VmArgsPlan {
        entry: if substitute {
            entry_target
        } else {
            path.to_path_buf()
        },
        files: walk.files,
        info,
    })
}

struct Walk<'a> {
    render_dir: &'a Path,
    entry_name: OsString,
    substitute: bool,
    subst: Subst<'a>,
    files: Vec<RenderedFile>,
    /// source (see `file_id`) → target, for files already rendered
    rendered: HashMap<FileId, PathBuf>,
    problems: Problems,
    /// the files being visited (see `file_id`), with their display form
    stack: Vec<(FileId, String)>,
    args: Vec<String>,
    extra: Vec<String>,
    warnings: Vec<String>,
}

impl Walk<'_> {
    /// Visits `source`; `target` is where its rendering goes (`None` when not rendering,
    /// or when it was already rendered).
    fn visit(&mut self, source: &Path, target: Option<PathBuf>) -> Result<(), Error> {
        let id = file_id(source)?;
        let display = source.display().to_string();
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == id) {
            let mut chain: Vec<&str> = self.stack[pos..].iter().map(|(_, d)| d.as_str()).collect();
            chain.push(&display);
            return Err(Error::Config(format!(
                "-args_file cycle: {}",
                chain.join(" -> ")
            )));
        }
        let text = if self.substitute {
            // a file rendered before was reported then
            let problems = target.is_some().then_some(&mut self.problems);
            template::render_file(source, Format::ArgsFile, self.subst, problems)?
        } else {
            let raw = std::fs::read(source)
                .map_err(|e| Error::io(format!("cannot read {}", source.display()), e))?;
            String::from_utf8_lossy(&raw).into_owned()
        };
        let slot = target.as_ref().map(|t| {
            self.rendered.insert(id, t.clone());
            self.files.push(RenderedFile {
                source: source.to_path_buf(),
                target: t.clone(),
                contents: Vec::new(),
            });
            self.files.len() - 1
        });
        self.stack.push((id, display.clone()));

        let tokens = tokenize(&text);
        let mut rewrites: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let base_dir = source.parent().unwrap_or(Path::new("."));
        let mut it = tokens.into_iter();
        while let Some(tok) = it.next() {
            if tok.value == "-extra" {
                self.extra.extend(it.by_ref().map(|t| t.value));
                break;
            }
            if tok.value != "-args_file" {
                self.args.push(tok.value);
                continue;
            }
            let Some(file) = it.next() else {
                return Err(Error::Config(format!(
                    "{display}:{}: -args_file without a file name",
                    tok.line
                )));
            };
            let named = base_dir.join(&file.value);
            let found = if self.substitute {
                source::source_of(&named).map(|(file, _)| file)
            } else {
                // erlexec reads the plain file itself
                named.exists().then(|| named.clone())
            };
            let Some(child) = found else {
                let text = format!(
                    "{display}:{}: -args_file {}: {} not found",
                    file.line,
                    file.value,
                    named.display()
                );
                if self.substitute {
                    return Err(Error::Config(text));
                }
                self.warnings.push(text);
                continue;
            };
            if !self.substitute {
                self.visit(&child, None)?;
                continue;
            }
            let key = file_id(&child)?;
            let (child_target, fresh) = match self.rendered.get(&key) {
                Some(t) => (t.clone(), false),
                None => (self.include_target(&child), true),
            };
            rewrites.push((file.span, quote_arg(child_target.as_os_str().as_bytes())));
            self.visit(&child, fresh.then_some(child_target))?;
        }
        self.stack.pop();

        if let Some(slot) = slot {
            let mut contents = Vec::with_capacity(text.len());
            let mut at = 0;
            for (span, repl) in rewrites {
                contents.extend_from_slice(&text.as_bytes()[at..span.start]);
                contents.extend_from_slice(&repl);
                at = span.end;
            }
            contents.extend_from_slice(&text.as_bytes()[at..]);
            self.files[slot].contents = contents;
        }
        Ok(())
    }

    fn include_target(&self, source: &Path) -> PathBuf {
        let n = self.rendered.len();
        let mut base = source
            .file_name()
            .map(|b| b.as_bytes().to_vec())
            .unwrap_or_default();
        if base.ends_with(b".src") {
            base.truncate(base.len() - 4);
        }
        let mut name = self.entry_name.as_bytes().to_vec();
        name.extend_from_slice(format!(".{n}-").as_bytes());
        name.extend_from_slice(&base);
        self.render_dir.join(OsString::from_vec(name))
    }
}

#[cfg(test)]
#[path = "vm_args_tests.rs"]
mod tests;
