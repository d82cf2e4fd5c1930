//! Release integrity: `start_erl.data`, `releases/VSN`, the `.rel` file's applications
//! under `lib/` with their `.app` files, the boot file, and the ERTS version.
use super::report::Finding;
use super::{Kind, Subject};
use crate::config::terms::{self, Term};
use std::path::{Path, PathBuf};

/// What `releases/VSN/NAME.rel` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelFile {
    pub name: String,
    pub vsn: String,
    pub erts: String,
    pub apps: Vec<(String, String)>,
}

/// `{release, {Name, Vsn}, {erts, ErtsVsn}, [{App, Vsn} | {App, Vsn, Type} | …]}.`
pub(crate) fn parse_rel(text: &str) -> Result<RelFile, String> {
    let terms = terms::consult(text).map_err(|e| format!("line {}: {}", e.line, e.what))?;
    let shape = "not a {release, {Name, Vsn}, {erts, Vsn}, [Apps]} term";
    let [Term::Tuple(t)] = terms.as_slice() else {
        return Err(shape.into());
    };
    let [tag, id, erts, apps, ..] = t.as_slice() else {
        return Err(shape.into());
    };
    let (Some("release"), [name, vsn], [_, erts]) = (tag.atom(), id.elements(), erts.elements())
    else {
        return Err(shape.into());
    };
    let text = |t: &Term| {
        t.string()
            .map(str::to_string)
            .ok_or_else(|| shape.to_string())
    };
    let apps = apps
        .elements()
        .iter()
        .map(|a| match a.elements() {
            [app, v, ..] => Ok((app.atom().ok_or(shape)?.to_string(), text(v)?)),
            _ => Err(shape.to_string()),
        })
        .collect::<Result<_, _>>()?;
    Ok(RelFile {
        name: text(name)?,
        vsn: text(vsn)?,
        erts: text(erts)?,
        apps,
    })
}

pub(crate) fn check(s: &Subject) -> Vec<Finding> {
    let mut out = Vec::new();
    match &s.start_erl {
        Err(e) => {
            out.push(Finding::error("integrity.start_erl", e.clone()).hint(
                "releases/start_erl.data must hold \"ERTS_VSN REL_VSN\"; re-copy the release",
            ))
        }
        Ok(d) if d.rel_vsn != s.vsn => out.push(
            Finding::warning(
                "integrity.start_erl",
                format!(
                    "start_erl.data names version {}, but {} is selected (RELEASE_VSN)",
                    d.rel_vsn, s.vsn
                ),
            )
            .at("releases/start_erl.data"),
        ),
        Ok(_) => {}
    }
    if !s.vsn_dir.is_dir() {
        out.push(
            Finding::error(
                "integrity.release_dir",
                format!("{} is missing", s.show(&s.vsn_dir)),
            )
            .hint("the release version named by start_erl.data / RELEASE_VSN is not installed"),
        );
        return out;
    }
    out.extend(missing_files(s));
    let rel_path = s.vsn_dir.join(format!("{}.rel", s.name));
    let rel = match std::fs::read_to_string(&rel_path)
        .map_err(|e| e.to_string())
        .and_then(|t| parse_rel(&t))
    {
        Ok(r) => r,
        Err(e) => {
            out.push(
                Finding::error(
                    "integrity.rel",
                    format!("cannot read {}: {e}", s.show(&rel_path)),
                )
                .at(rel_path.display().to_string()),
            );
            return out;
        }
    };
    let before = out.len();
    let libs = lib_dirs(s);
    for (app, vsn) in &rel.apps {
        out.extend(application(s, &libs, app, vsn));
    }
    out.extend(boot_file(s, &s.boot, true));
    out.extend(erts(s, &rel));
    if out.len() == before {
        out.push(Finding::ok(
            "integrity.rel",
            format!("{} {}: {} applications present with their .app files, boot file readable, ERTS {}", rel.name, rel.vsn, rel.apps.len(), rel.erts),
        ).at(s.show(&rel_path)));
    }
    out
}

/// The files of `releases/VSN` the start commands read.
fn missing_files(s: &Subject) -> Vec<Finding> {
    let mut needed: Vec<std::path::PathBuf> = vec![s.vm_args.clone(), s.sys_config.clone()];
    if s.kind == Kind::Mix {
        needed.push(s.vsn_dir.join("env.sh"));
        needed.push(s.vsn_dir.join("elixir"));
    }
    needed
        .into_iter()
        .filter(|p| !p.exists() && !crate::paths::with_suffix(p, ".src").exists())
        .map(|p| {
            Finding::error(
                "integrity.release_dir",
                format!("{} is missing", s.show(&p)),
            )
            .at(p.display().to_string())
            .hint("the release directory is incomplete: re-copy it from the build")
        })
        .collect()
}

/// Where applications are looked for: the release's `lib/`, and for a release without ERTS
/// also the `lib/` of the Erlang installation that runs it (OTP's own applications).
fn lib_dirs(s: &Subject) -> Vec<PathBuf> {
    let mut dirs = vec![s.root.join("lib")];
    if s.erts_bin.is_none()
        && let Some(otp_root) =
            super::runtime::erts_bin(s).and_then(|b| Some(b.parent()?.parent()?.to_path_buf()))
    {
        dirs.push(otp_root.join("lib"));
    }
    dirs
}

fn application(s: &Subject, libs: &[PathBuf], app: &str, vsn: &str) -> Option<Finding> {
    let name = format!("{app}-{vsn}");
    let dir = libs
        .iter()
        .map(|l| l.join(&name))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| s.root.join("lib").join(&name));
    let app_file = dir.join("ebin").join(format!("{app}.app"));
    if !dir.is_dir() {
        let others: Vec<String> = std::fs::read_dir(s.root.join("lib"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.rsplit_once('-').is_some_and(|(a, _)| a == app))
            .collect();
        let found = if others.is_empty() {
            String::new()
        } else {
            format!("; lib/ has {} instead", others.join(", "))
        };
        return Some(
            Finding::error(
                "integrity.app",
                format!("application {app} {vsn} listed in {}.rel is missing: no lib/{app}-{vsn}{found}", s.name),
            )
            .at(dir.display().to_string())
            .hint("the release was copied incompletely or mixes two builds: re-copy it; the VM would stop with {\"init terminating in do_boot\", …} or load_failed"),
        );
    }
    match std::fs::read_to_string(&app_file) {
        Err(e) => Some(
            Finding::error(
                "integrity.app",
                format!("{} cannot be read: {e}", s.show(&app_file)),
            )
            .at(app_file.display().to_string())
            .hint("every application needs its .app file; re-copy the release"),
        ),
        Ok(text) => terms::consult(&text).err().map(|e| {
            Finding::error(
                "integrity.app",
                format!("{}:{}: {}", s.show(&app_file), e.line, e.what),
            )
            .at(app_file.display().to_string())
        }),
    }
}

/// The boot file is present, readable and an external term (`131`).
pub(crate) fn boot_file(s: &Subject, path: &Path, required: bool) -> Option<Finding> {
    let problem = match std::fs::File::open(path) {
        Err(e) => format!("{} cannot be read: {e}", s.show(path)),
        Ok(f) => {
            use std::io::Read;
            let mut first = [0u8; 1];
            match f.take(1).read(&mut first) {
                Ok(1) if first[0] == 131 => return None,
                _ => format!("{} is not a boot file (not a binary term)", s.show(path)),
            }
        }
    };
    let f = if required {
        Finding::error("integrity.boot", problem)
    } else {
        Finding::warning("integrity.boot", problem)
    };
    Some(f.at(path.display().to_string()).hint(
        "the VM would stop with {'cannot get bootfile', …}; re-copy releases/VSN, and check RELEASE_BOOT_SCRIPT / env.sh",
    ))
}

/// The `.rel`'s ERTS version against start_erl.data and the ERTS that will run.
fn erts(s: &Subject, rel: &RelFile) -> Option<Finding> {
    let bin = super::runtime::erts_bin(s)?;
    let dir = bin.parent()?.file_name()?.to_string_lossy().into_owned();
    let found = dir.strip_prefix("erts-")?.to_string();
    if found == rel.erts {
        return None;
    }
    let f = if s.erts_bin.is_some() {
        Finding::error(
            "integrity.erts",
            format!(
                "{}.rel was built for ERTS {}, but the release holds ERTS {found}",
                s.name, rel.erts
            ),
        )
    } else {
        Finding::warning(
            "integrity.erts",
            format!(
                "{}.rel was built for ERTS {}, but erl on PATH is ERTS {found}",
                s.name, rel.erts
            ),
        )
    };
    Some(f.at(bin.display().to_string()).hint(
        "run the release with the OTP it was built with (modules compiled for a newer OTP fail to load)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_mix_rel() {
        let r = parse_rel(
            "%% coding: utf-8\n{release,{\"demo\",\"0.1.0\"},\n {erts,\"13.1.5\"},\n \
             [{kernel,\"8.5.3\",permanent},{iex,\"1.14.0\",none},{x,\"1\"}]}.\n",
        )
        .unwrap();
        assert_eq!(r.name, "demo");
        assert_eq!(r.erts, "13.1.5");
        assert_eq!(r.apps[1], ("iex".to_string(), "1.14.0".to_string()));
        assert!(parse_rel("{release, x}.").is_err());
        assert!(
            parse_rel("{release,{\"a\",\"1\"},{erts,\"1\"},[]}")
                .unwrap_err()
                .contains("line 1")
        );
    }
}
