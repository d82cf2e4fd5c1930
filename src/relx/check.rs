//! `check` for relx releases (issue 11): check's [`Subject`] filled from what relx's
//! script computes — vm.args (`VMARGS_PATH`, `.src`), sys.config (`RELX_CONFIG_PATH`,
//! `.src`), the node name rules, the cookie sources, `PIPE_DIR` (default
//! `/tmp/erl_pipes/NAME/`) and `RUNNER_LOG_DIR`. `check` is not a relx command: it is
//! beamrc's own addition (an extension named `check` takes precedence).
use std::ffi::OsString;
use std::path::Path;

use super::node::NameType;
use super::run::State;
use crate::check::command::{parse_options, run};
use crate::check::{Host, Kind, Subject};
use crate::release::Release;
use crate::{Error, Result};

/// The release as check sees it, from the computed relx state.
pub(super) fn subject(st: &State) -> Subject {
    let v = &st.vars;
    let [vm, sys] = &st.sources;
    let release = Release::open(v.root.clone(), &v.rel_name);
    let bindir = v.bindir();
    // ERTS from `erl` on PATH (no bundled ERTS): check finds it itself
    let erts_bin = bindir
        .starts_with(&v.root)
        .then(|| std::fs::canonicalize(&bindir).unwrap_or(bindir));
    let mut dirs = Vec::new();
    for file in [&st.vm, &st.sys] {
        if let Some(dir) = file.path.parent().filter(|_| file.write) {
            let what = if st.vars.env.non_empty("RELX_OUT_FILE_PATH").is_some() {
                "RELX_OUT_FILE_PATH"
            } else {
                "generated config"
            };
            if !dirs.iter().any(|(_, d)| d == dir) {
                dirs.push((what, dir.to_path_buf()));
            }
        }
    }
    Subject {
        kind: Kind::Relx,
        root: v.root.clone(),
        name: v.rel_name.clone(),
        vsn: v.rel_vsn.clone(),
        start_erl: release.start_erl.clone(),
        vsn_dir: v.rel_dir.clone(),
        erts_bin,
        boot: crate::paths::with_suffix(&v.release_boot(), ".boot"),
        vm_args: vm.read_from.clone(),
        sys_config: sys.input.clone(),
        substitute: vm.substitute || sys.substitute,
        policy: st.switches.subst_unset,
        env: v.env.clone(),
        node: st.node.clone(),
        distribution: match st.facts.name_type {
            NameType::Short => "sname",
            NameType::Long => "name",
        }
        .to_string(),
        dirs,
        daemon_dirs: vec![
            ("PIPE_DIR", v.pipe_dir(&st.node).0),
            ("RUNNER_LOG_DIR", v.log_dir.clone()),
        ],
    }
}

/// `bin/NAME check [--json] [--crash-dump [FILE]]` of a relx release.
pub(super) fn release_face(st: &State) -> Result<i32> {
    let opts = parse_options(&st.inv.args, &st.vars.env).map_err(|t| Error::message(1, t))?;
    let subject = subject(st);
    let host = Host::detect(&subject.env, st.hostname.clone());
    let (text, code) = run(&opts, &subject, &host);
    print!("{text}");
    Ok(code)
}

/// A daemon whose boot failed: the log tail's recognised errors explained.
pub(super) fn explain_daemon(st: &State, log_dir: &Path, err: Error) -> Error {
    crate::check::boot::explain_daemon_failure(err, log_dir, &subject(st), &st.hostname)
}

/// `beamrc check RELEASE_DIR …` when the directory is a relx release: the check as
/// `bin/NAME check …` would run it (`None`: not a relx release).
pub(crate) fn tool_face(
    host: &dyn crate::app::gather::Host,
    args: &[OsString],
) -> Option<Result<i32>> {
    let (dir, rest) = args.split_first()?;
    let root = std::fs::canonicalize(dir).ok()?;
    let fallback = root.file_name()?.to_string_lossy().into_owned();
    let release = Release::open(root, &fallback);
    let exe = release.root.join("bin").join(&release.name);
    let argv0 = OsString::from(format!("bin/{}", release.name));
    let mut argv = vec![OsString::from("check")];
    argv.extend(rest.iter().cloned());
    let env = host.env();
    super::run::try_main(host, &release, &argv0, &argv, &exe, &env)
}
