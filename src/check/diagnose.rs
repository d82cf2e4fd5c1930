//! Readable boot errors: a table of known failure patterns, matched against what a
//! failing boot leaves behind (the run_erl log tail, the VM's stderr, a crash dump's
//! slogan). Each match is one `ERROR:` line in words, the original line(s), and a hint;
//! `check` names the preflight check that would have caught it, so the caller can run it.

/// One recognised failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnosis {
    pub id: &'static str,
    pub what: String,
    /// The line(s) it was recognised in, as written.
    pub lines: Vec<String>,
    pub hint: &'static str,
    /// The preflight checks (`report::Finding::check`) that cover this cause.
    pub checks: &'static [&'static str],
}

use super::patterns::PATTERNS;

/// Every recognised failure in `text`, each pattern at most once, in text order.
pub(crate) fn diagnose(text: &str) -> Vec<Diagnosis> {
    let mut out: Vec<(usize, Diagnosis)> = Vec::new();
    for p in PATTERNS {
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = (p.matches)(line) {
                out.push((
                    n,
                    Diagnosis {
                        id: p.id,
                        what,
                        lines: vec![clip(line)],
                        hint: p.hint,
                        checks: p.checks,
                    },
                ));
                break;
            }
        }
    }
    let specific = out.iter().any(|(_, d)| !is_generic(d.id));
    out.retain(|(_, d)| !(specific && is_generic(d.id)));
    out.sort_by_key(|(n, _)| *n);
    out.into_iter().map(|(_, d)| d).collect()
}

fn is_generic(id: &str) -> bool {
    PATTERNS.iter().any(|p| p.id == id && p.generic)
}

fn clip(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() > 400 {
        format!("{}…", line.chars().take(400).collect::<String>())
    } else {
        line.to_string()
    }
}

/// `ERROR: what`, the original line(s) indented, then the hint.
pub(crate) fn render(found: &[Diagnosis]) -> String {
    let mut out = String::new();
    for d in found {
        out.push_str(&format!("ERROR: {}\n", d.what));
        for l in &d.lines {
            out.push_str(&format!("    {l}\n"));
        }
        out.push_str(&format!("  hint: {}\n", d.hint));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        diagnose(text).iter().map(|d| d.id).collect()
    }

    #[test]
    fn recognises_each_posted_error() {
        let cases: &[(&str, &str)] = &[
            (
                "erts-6.0/bin/escript: 1: Syntax error: \"(\" unexpected",
                "wrong_architecture",
            ),
            (
                "/app/erts-13.1.5/bin/beam.smp: error while loading shared libraries: libtinfo.so.5: cannot open shared object file: No such file or directory",
                "missing_library",
            ),
            (
                "beam.smp: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by /app/lib/x-1/priv/x.so)",
                "glibc_too_old",
            ),
            (
                "Unable to load crypto library. Failed with error:\n\"load_failed, Failed to load NIF library: 'libcrypto.so.1.1: cannot open shared object file'\"",
                "openssl_mismatch",
            ),
            (
                "{\"init terminating in do_boot\",{'cannot get bootfile','/app/bin/start.boot'}}",
                "cannot_get_bootfile",
            ),
            (
                "{\"init terminating in do_boot\",{undef,[{elixir,start_cli,[],[]},{init,start_em,1,[]}]}}",
                "elixir_for_another_otp",
            ),
            (
                "{\"init terminating in do_boot\",{load_failed,[file,kernel,error_handler]}}",
                "load_failed",
            ),
            (
                "{\"could not start kernel pid\",application_controller,\"error in config file \\\"/app/releases/0.1.0/sys.config\\\" (none): no ending <dot> found\"}",
                "config_syntax",
            ),
            (
                "{\"could not start kernel pid\",application_controller,\"invalid config data: application: boss; invalid parameter: true\"}",
                "invalid_config",
            ),
            (
                "Protocol 'inet_tcp': the name demo@box seems to be in use by another Erlang node",
                "name_in_use",
            ),
            ("Can't set long node name!", "long_name"),
            ("Can't set short node name!", "short_name"),
            (
                "Protocol 'inet_tcp': register/listen error: econnrefused",
                "epmd_down",
            ),
            (
                "ERROR! Could not write runtime configuration due to reason: :eacces",
                "runtime_config_eacces",
            ),
            (
                "ERROR! Config provider Config.Reader failed with:",
                "config_provider",
            ),
            (
                "** (ArgumentError) could not fetch environment variable \"DATABASE_URL\" because it is not set",
                "env_var_missing",
            ),
            (
                "Kernel pid terminated (application_controller) ({application_start_failure,myapp,{{shutdown,{failed_to_start_child,'Elixir.MyAppWeb.Endpoint',eaddrinuse}}",
                "app_start_failure",
            ),
            (
                "[notice] Application demo exited with reason: shutdown",
                "app_exited",
            ),
            ("erlexec: HOME must be set", "home_unset"),
            (
                "Cookie file /root/.erlang.cookie must be accessible by owner only",
                "cookie_mode",
            ),
            ("erl_child_setup closed", "child_setup_closed"),
            (
                "{\"init terminating in do_boot\",{something,else}}",
                "do_boot",
            ),
        ];
        for (text, id) in cases {
            assert_eq!(ids(text).first(), Some(id), "{text}");
        }
        assert!(PATTERNS.len() >= 17);
        assert!(ids("all is well\n[info] started").is_empty());
    }

    #[test]
    fn words_keep_the_details_and_generic_yields() {
        let d = diagnose(
            "x\nbeam.smp: error while loading shared libraries: libtinfo.so.5: cannot open shared object file\n",
        );
        assert_eq!(
            d[0].what,
            "beam.smp needs the shared library libtinfo.so.5, which is not installed on this host"
        );
        assert_eq!(d[0].checks, ["runtime.library"]);
        let t = "Kernel pid terminated (application_controller) ({application_start_failure,demo,{bad_return,x}})\n";
        let d = diagnose(t);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].what, "the application demo failed to start");
        let text = render(&d);
        assert!(
            text.starts_with("ERROR: the application demo failed to start\n    Kernel pid"),
            "{text}"
        );
        assert!(text.contains("\n  hint: "));
    }
}
