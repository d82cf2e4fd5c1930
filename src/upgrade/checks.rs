//! The checks before the first change on the node: every mistake release_handler would
//! only report half-way (or silently absorb) is refused here with one `ERROR:` sentence.
//!
//! Pure: the node's answers (running version, known releases) and the package's contents
//! come in as data, the release directory through [`Files`].
use super::beam;
pub(crate) use super::findings::{Checked, Refusal};
use super::findings::{pass, refuse, refuse_hinted};
use super::package;
use super::rel::{self, Rel};
use super::relup::{self, Direction, Relup};
use super::tarball::Package;
use super::terms::{self, Access};
use std::path::{Component, Path, PathBuf};

/// Read access to the release directory (tests use a map).
pub(crate) trait Files {
    fn read(&self, path: &Path) -> Option<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
}

/// The real file system.
pub(crate) struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
}

/// What the checks look at.
pub(crate) struct Facts<'a> {
    pub root: &'a Path,
    pub name: &'a str,
    /// The version asked for.
    pub target: &'a str,
    /// The version the node runs (release_handler's current, else permanent).
    pub running: &'a str,
    /// The target's package (path relative to the root, contents), when it is not
    /// unpacked yet; `None` when release_handler already knows the version.
    pub package: Option<(&'a Path, &'a Package)>,
}

/// What passed: the script's direction, and the package entries that must not be
/// unpacked over the running release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Passed {
    pub direction: Direction,
    /// Entries outside `lib/`, `releases/VSN/`, `erts-*/` (`bin/NAME`,
    /// `releases/start_erl.data`, …): release_handler does not unpack them over the running
    /// release's own files.
    pub outside: Vec<String>,
    /// The target's sys.config text (for the runtime-config step).
    pub sys_config: Option<String>,
    /// One line per check, for the report.
    pub checked: Vec<Checked>,
}

/// The files in `releases/VSN/` that say the version was unpacked there (release_handler
/// removes the `.rel` after unpacking, `start.boot` stays).
pub(crate) fn unpacked_markers(name: &str) -> [String; 2] {
    ["start.boot".to_string(), format!("{name}.rel")]
}

/// A package entry release_handler may unpack into a running release.
pub(crate) fn safe_entry(entry: &str, vsn: &str, name: &str) -> bool {
    let n = entry.trim_end_matches('/');
    let vsn_dir = format!("releases/{vsn}");
    n == "lib"
        || n.starts_with("lib/")
        || n == "releases"
        || n == vsn_dir
        || n.starts_with(&format!("{vsn_dir}/"))
        || n == format!("releases/{name}.rel")
        || n.starts_with("erts-")
}

/// A release under a `_build` directory (where `mix release`/`rebar3` put it).
pub(crate) fn inside_build(root: &Path) -> bool {
    root.components()
        .any(|c| matches!(c, Component::Normal(n) if n == "_build"))
}

/// Reads one of the target's files (by its path in the release).
type Reader<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Runs every check; the first refusal wins.
pub(crate) fn run(facts: &Facts, files: &dyn Files) -> Result<Passed, Refusal> {
    let (root, name, target) = (facts.root, facts.name, facts.target);
    let mut checked = Vec::new();
    if inside_build(root) {
        let hint = "deploy the release to a directory of its own and upgrade it there";
        return refuse_hinted(
            "upgrade.location",
            2,
            format!(
                "{} is inside a _build directory: release_handler replaces and removes files of the release it upgrades; {hint}",
                root.display()
            ),
            hint,
        );
    }
    let vsn_dir = Path::new("releases").join(target);
    let rel_name = vsn_dir.join(format!("{name}.rel"));
    let text_of = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    // Where the target's files come from: the package, or the unpacked release.
    let (source, read_target): (String, Reader) = match facts.package {
        Some((path, pkg)) => {
            if let Some(entry) = pkg.prefixed_entry() {
                let hint = "pack it again from the release root without the prefix (tar -czf PACKAGE lib releases …)";
                return refuse_hinted(
                    "upgrade.package",
                    2,
                    format!(
                        "{}: its entries start with `{}` ({entry}); release_handler looks for {} and would fail with {{enoent, …}}: {hint}",
                        path.display(),
                        if entry.starts_with('/') { "/" } else { "./" },
                        rel_name.display()
                    ),
                    hint,
                );
            }
            let unpacked_here = unpacked_markers(name)
                .iter()
                .any(|f| files.read(&root.join(&vsn_dir).join(f)).is_some());
            if unpacked_here {
                let dir = root.join(&vsn_dir);
                let hint = format!(
                    "Remove it first (rm -r {}) and run the command again",
                    dir.display()
                );
                return refuse_hinted(
                    "upgrade.leftover",
                    2,
                    format!(
                        "{} holds a release release_handler does not know (left by an interrupted unpack?); release_handler would unpack over it. {hint}",
                        dir.display()
                    ),
                    &hint,
                );
            }
            checked.push(pass(
                "upgrade.package",
                format!(
                    "package {}: {} entries, named as release_handler expects",
                    path.display(),
                    pkg.entries.len()
                ),
            ));
            (
                format!("the package {}", path.display()),
                Box::new(move |f: &str| pkg.files.get(f).cloned().map(text_of)),
            )
        }
        None => (
            format!("{}", root.join(&vsn_dir).display()),
            Box::new(move |f: &str| files.read(&root.join(f)).map(text_of)),
        ),
    };
    let rel_key = rel_name.to_string_lossy().into_owned();
    let rel = match (read_target(&rel_key), facts.package) {
        (Some(text), _) => rel::parse(&text)
            .or_else(|e| refuse("upgrade.rel", 2, format!("{rel_key} in {source}: {e}")))?,
        // Unpacked already: release_handler deleted the .rel, RELEASES has it.
        (None, None) => match known_release(files, root, name, target) {
            Some(rel) => rel,
            None => {
                return refuse(
                    "upgrade.rel",
                    2,
                    format!("neither {rel_key} nor releases/RELEASES describes {name} {target}"),
                );
            }
        },
        (None, Some((_, pkg))) => {
            let rels: Vec<&str> = pkg
                .entries
                .iter()
                .filter(|e| e.starts_with("releases/") && e.ends_with(".rel"))
                .map(String::as_str)
                .collect();
            return refuse(
                "upgrade.rel",
                2,
                format!(
                    "{source} has no {rel_key} (release_handler reads the release's name and version from it); its release files: {}",
                    if rels.is_empty() {
                        "none".to_string()
                    } else {
                        rels.join(", ")
                    }
                ),
            );
        }
    };
    if rel.vsn != target || rel.name != name {
        return refuse(
            "upgrade.rel",
            2,
            format!(
                "{rel_key} in {source} is release {} {}, not {name} {target}",
                rel.name, rel.vsn
            ),
        );
    }
    checked.push(pass("upgrade.rel", format!("{rel_key}: {name} {target}")));
    let running_rel = known_release(files, root, name, facts.running);
    let (direction, script) = direction_check(facts, files, &*read_target, &source, &mut checked)?;
    contents_check(facts, files, &rel, running_rel.as_ref(), &mut checked)?;
    let sys_key = vsn_dir.join("sys.config").to_string_lossy().into_owned();
    let sys_config = read_target(&sys_key);
    if let Some(text) = &sys_config {
        match terms::consult(text) {
            Ok(t) if t.len() == 1 && t[0].list().is_some() => {
                checked.push(pass("upgrade.sys_config", format!("{sys_key} parses")))
            }
            Ok(_) => {
                return refuse(
                    "upgrade.sys_config",
                    3,
                    format!(
                        "{sys_key} in {source} is not one list of application settings: release_handler would use [] instead"
                    ),
                );
            }
            Err(e) => {
                return refuse(
                    "upgrade.sys_config",
                    3,
                    format!(
                        "{sys_key} in {source} does not parse ({e}): release_handler would silently use [] and the applications would lose their configuration"
                    ),
                );
            }
        }
    }
    chunks_check(facts, files, &script, running_rel.as_ref(), &mut checked)?;
    let outside = match facts.package {
        Some((_, pkg)) => pkg
            .entries
            .iter()
            .filter(|e| !safe_entry(e, target, name))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    Ok(Passed {
        direction,
        outside,
        sys_config,
        checked,
    })
}

/// An installed release: its `.rel`, else its entry in `releases/RELEASES`.
fn known_release(files: &dyn Files, root: &Path, name: &str, vsn: &str) -> Option<Rel> {
    let text = |p: PathBuf| {
        files
            .read(&p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    text(root.join(format!("releases/{vsn}/{name}.rel")))
        .and_then(|t| rel::parse(&t).ok())
        .or_else(|| rel::from_releases(&text(root.join("releases/RELEASES"))?, vsn))
}

/// The relup moving the node from the running version to the target.
fn direction_check(
    facts: &Facts,
    files: &dyn Files,
    read_target: &dyn Fn(&str) -> Option<String>,
    source: &str,
    checked: &mut Vec<Checked>,
) -> Result<(Direction, relup::Script), Refusal> {
    let (target, running) = (facts.target, facts.running);
    let parse = |text: Option<String>, what: &str| -> Result<Option<Relup>, Refusal> {
        match text {
            None => Ok(None),
            Some(t) => relup::parse(&t)
                .map(Some)
                .or_else(|e| refuse("upgrade.relup", 3, format!("{what}: {e}"))),
        }
    };
    let target_key = format!("releases/{target}/relup");
    let running_key = format!("releases/{running}/relup");
    let up = parse(
        read_target(&target_key),
        &format!("{target_key} in {source}"),
    )?;
    let down = parse(
        files
            .read(&facts.root.join(&running_key))
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
        &running_key,
    )?;
    if let Some((script, direction)) =
        relup::script_for(up.as_ref(), down.as_ref(), target, running)
    {
        let line = match direction {
            Direction::Up => format!("{target_key} upgrades from {running}"),
            Direction::Down => format!("{running_key} downgrades to {target}"),
        };
        checked.push(pass("upgrade.relup", line));
        return Ok((direction, script.clone()));
    }
    let describe = |r: &Option<Relup>, key: &str, up: bool| match r {
        None => format!("there is no {key}"),
        Some(r) => {
            let (ups, downs) = relup::versions(r);
            let list = if up { ups } else { downs };
            format!(
                "{key} is for {} and {} {}",
                r.vsn,
                if up { "upgrades from" } else { "downgrades to" },
                if list.is_empty() {
                    "nothing".to_string()
                } else {
                    list.join(", ")
                }
            )
        }
    };
    refuse(
        "upgrade.relup",
        3,
        format!(
            "no relup instruction moves {running} to {target}: {} ({source}), {}; release_handler would fail with {{no_matching_relup,\"{target}\",\"{running}\"}}",
            describe(&up, &target_key, true),
            describe(&down, &running_key, false)
        ),
    )
}

/// ERTS and every application of the target are in the package or installed.
fn contents_check(
    facts: &Facts,
    files: &dyn Files,
    rel: &Rel,
    running: Option<&Rel>,
    checked: &mut Vec<Checked>,
) -> Result<(), Refusal> {
    let pkg = facts.package.map(|(_, p)| p);
    let in_pkg = |dir: &str| pkg.is_some_and(|p| p.has_dir(dir));
    let installed = |dir: &str| files.is_dir(&facts.root.join(dir));
    let erts = format!("erts-{}", rel.erts);
    let same_erts = running.is_some_and(|r| r.erts == rel.erts);
    if !same_erts && !in_pkg(&erts) && !installed(&erts) {
        let hint = "build the package with ERTS included";
        return refuse_hinted(
            "upgrade.contents",
            3,
            format!(
                "{} {} needs ERTS {} (the node runs {}): it is neither in the package nor installed in {}; {hint}",
                rel.name,
                rel.vsn,
                rel.erts,
                running.map_or("another one".to_string(), |r| r.erts.clone()),
                facts.root.display()
            ),
            hint,
        );
    }
    let missing: Vec<String> = rel
        .apps
        .iter()
        .map(|(a, v)| format!("lib/{a}-{v}"))
        .filter(|d| !in_pkg(&format!("{d}/ebin")) && !installed(&format!("{d}/ebin")))
        .collect();
    if !missing.is_empty() {
        let hint = "include the system libraries in the package";
        return refuse_hinted(
            "upgrade.contents",
            3,
            format!(
                "{} {} needs applications that are neither in the package nor installed: {}; release_handler would fail with {{no_such_directory, …}} ({hint})",
                rel.name,
                rel.vsn,
                missing.join(", ")
            ),
            hint,
        );
    }
    checked.push(pass(
        "upgrade.contents",
        format!(
            "ERTS {} and {} applications: in the package or installed",
            rel.erts,
            rel.apps.len()
        ),
    ));
    Ok(())
}

/// The running modules the script replaces still carry the chunk release_handler reads.
fn chunks_check(
    facts: &Facts,
    files: &dyn Files,
    script: &relup::Script,
    running: Option<&Rel>,
    checked: &mut Vec<Checked>,
) -> Result<(), Refusal> {
    let Some(running) = running else {
        return Ok(());
    };
    let mut stripped = Vec::new();
    let mut seen = 0;
    for (app, module) in relup::modules_read(script) {
        let Some(app) = app else { continue };
        let Some(vsn) = running.app_vsn(&app) else {
            continue;
        };
        let path: PathBuf = facts
            .root
            .join(format!("lib/{app}-{vsn}/ebin/{module}.beam"));
        let Some(bytes) = files.read(&path) else {
            continue; // a module new in the target
        };
        seen += 1;
        match beam::chunk_ids(&bytes) {
            Ok(ids) if ids.iter().any(|i| i == beam::VERSION_CHUNK) => {}
            _ => stripped.push(path.display().to_string()),
        }
    }
    if !stripped.is_empty() {
        let hint = "Keep the chunk in the running release (relx: {debug_info, keep} / no strip_beams; Mix: strip_beams: [keep: [\"Attr\"]])";
        return refuse_hinted(
            "upgrade.attr",
            3,
            format!(
                "the running release's modules have no {} chunk (stripped): {}; release_handler reads their version with beam_lib:version/1 and would crash with {{missing_chunk, …}} after the node has started changing. {hint}",
                beam::VERSION_CHUNK,
                stripped.join(", ")
            ),
            hint,
        );
    }
    if seen > 0 {
        checked.push(pass(
            "upgrade.attr",
            format!(
                "{seen} running module(s) the relup replaces keep their {} chunk",
                beam::VERSION_CHUNK
            ),
        ));
    }
    Ok(())
}

/// The package for `target` in relx's lookup order, or the refusal naming the places.
pub(crate) fn locate(root: &Path, name: &str, target: &str) -> Result<PathBuf, Refusal> {
    package::locate(root, name, target, |p| p.is_file()).ok_or_else(|| Refusal {
        check: "upgrade.package",
        code: 2,
        hint: None,
        text: format!(
            "no package for {name} {target}: looked for {} under {}",
            package::candidates(name, target)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            root.display()
        ),
    })
}

#[cfg(test)]
mod tests;
