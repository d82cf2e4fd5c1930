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
    /// The preflight check (a `report::Finding::check` prefix) that covers this cause.
    pub check: Option<&'static str>,
}

struct Pattern {
    id: &'static str,
    /// The text in words, when the line matches.
    matches: fn(&str) -> Option<String>,
    hint: &'static str,
    check: Option<&'static str>,
    /// Generic patterns only count when nothing specific matched.
    generic: bool,
}

fn between<'a>(line: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = line.find(start)? + start.len();
    let rest = &line[from..];
    Some(rest.find(end).map_or(rest, |e| &rest[..e]))
}

fn has(line: &str, needle: &str) -> Option<()> {
    line.contains(needle).then_some(())
}

/// The table, specific patterns first. README "When a release won't start" lists it.
const PATTERNS: &[Pattern] = &[
    Pattern {
        id: "wrong_architecture",
        check: Some("runtime.format"),
        generic: false,
        matches: |l| {
            (l.contains("Syntax error: \"(\" unexpected")
                || l.contains("Exec format error")
                || l.contains("cannot execute binary file"))
            .then(|| {
                "an ERTS program is built for another architecture or OS than this host".into()
            })
        },
        hint: "use a release (ERTS and NIFs) built for this host's architecture; `bin/NAME check` names the binary",
    },
    Pattern {
        id: "glibc_too_old",
        check: Some("runtime.symbol_version"),
        generic: false,
        matches: |l| {
            let v = between(l, "version `GLIBC_", "'")?;
            let by = between(l, "(required by ", ")").unwrap_or("a program");
            Some(format!("{by} needs glibc {v}, newer than this host's"))
        },
        hint: "build the release (and its NIFs) on an older base image than the host, or run it on a newer OS",
    },
    Pattern {
        id: "openssl_mismatch",
        check: Some("runtime.library"),
        generic: false,
        matches: |l| {
            (l.contains("Unable to load crypto library")
                || (l.contains("undefined symbol") && l.contains("OPENSSL_"))
                || (l.contains("libcrypto.so") && l.contains("cannot open shared object")))
            .then(|| "the crypto NIF cannot load the OpenSSL it was built against".into())
        },
        hint: "install the OpenSSL major version ERTS was linked with (`bin/NAME check` names it), or build ERTS against the host's OpenSSL",
    },
    Pattern {
        id: "missing_library",
        check: Some("runtime.library"),
        generic: false,
        matches: |l| {
            let lib = between(l, "error while loading shared libraries: ", ":")?;
            let prog = l.split(':').next().unwrap_or("a program").trim();
            Some(format!(
                "{prog} needs the shared library {lib}, which is not installed on this host"
            ))
        },
        hint: "install the package providing it (libtinfo.so.N: ncurses; libcrypto.so.N: OpenSSL), or build the release on a host like this one",
    },
    Pattern {
        id: "nif_load_failed",
        check: Some("runtime.library"),
        generic: false,
        matches: |l| {
            between(l, "Failed to load NIF library", "'")
                .map(|p| format!("a NIF library failed to load:{}", p.trim_end_matches(':')))
        },
        hint: "the NIF was built for another system or needs a library this host lacks; `bin/NAME check` lists its libraries",
    },
    Pattern {
        id: "home_unset",
        check: Some("env.home"),
        generic: false,
        matches: |l| {
            has(l, "HOME must be set")
                .map(|()| "HOME is not set, and erlexec refuses to start without it".into())
        },
        hint: "set HOME (systemd: Environment=HOME=… or a User= with a home directory)",
    },
    Pattern {
        id: "cannot_get_bootfile",
        check: Some("integrity.boot"),
        generic: false,
        matches: |l| {
            between(l, "'cannot get bootfile',", "}").map(|f| {
                format!(
                    "the boot file {} cannot be read",
                    f.trim().trim_matches('"').trim_matches('\'')
                )
            })
        },
        hint: "releases/VSN/start.boot is missing or unreadable, or RELEASE_BOOT_SCRIPT / env.sh names a boot file that does not exist",
    },
    Pattern {
        id: "elixir_for_another_otp",
        check: Some("integrity.erts"),
        generic: false,
        matches: |l| {
            has(l, "{undef,[{elixir,start_cli").map(|()| "the VM cannot run elixir:start_cli/0: the Elixir in lib/ is missing or was compiled for another OTP".into())
        },
        hint: "run the release with the ERTS it was built with (include_erts: true), or rebuild it with this host's OTP",
    },
    Pattern {
        id: "load_failed",
        check: Some("integrity.erts"),
        generic: false,
        matches: |l| {
            between(l, "{load_failed,", "}").map(|m| {
                format!(
                    "the VM could not load its own modules ({}): lib/ and ERTS do not match",
                    m.trim_matches(['[', ']'])
                )
            })
        },
        hint: "the release's lib/ was built for another OTP than the ERTS running it; use the bundled ERTS or rebuild",
    },
    Pattern {
        id: "config_syntax",
        check: Some("config.sys_config"),
        generic: false,
        matches: |l| {
            let file = between(l, "error in config file ", " (")?.trim_matches(['"', '\\']);
            let why = l
                .rsplit("): ")
                .next()
                .unwrap_or("")
                .trim_end_matches(['"', ')', '}']);
            Some(format!("{file} is not valid Erlang: {why}"))
        },
        hint: "fix the file (`bin/NAME check` gives the line); each sys.config ends with a '.'",
    },
    Pattern {
        id: "invalid_config",
        check: Some("config.sys_config"),
        generic: false,
        matches: |l| {
            between(l, "invalid config data: ", "\"")
                .map(|w| format!("sys.config has the right syntax but a wrong shape: {w}"))
        },
        hint: "sys.config is one list of {Application, [{Key, Value}]} tuples",
    },
    Pattern {
        id: "name_in_use",
        check: Some("env.name_in_use"),
        generic: false,
        matches: |l| {
            let name = between(l, "the name ", " seems to be in use")?;
            Some(format!("another node already runs as {name} on this host"))
        },
        hint: "stop the other instance (bin/NAME stop), or give this one its own RELEASE_NODE",
    },
    Pattern {
        id: "long_name",
        check: Some("config.name"),
        generic: false,
        matches: |l| {
            has(l, "Can't set long node name").map(|()| {
                "the long node name (-name) needs a fully qualified host, and this one has none"
                    .into()
            })
        },
        hint: "RELEASE_DISTRIBUTION=name needs RELEASE_NODE=app@host.domain or app@IP (e.g. app@$POD_IP); or use RELEASE_DISTRIBUTION=sname",
    },
    Pattern {
        id: "short_name",
        check: Some("config.name"),
        generic: false,
        matches: |l| {
            has(l, "Can't set short node name")
                .map(|()| "the short node name (-sname) has a host with dots".into())
        },
        hint: "a name like app@10.0.0.7 or app@host.domain needs RELEASE_DISTRIBUTION=name",
    },
    Pattern {
        id: "epmd_down",
        check: Some("env.epmd"),
        generic: false,
        matches: |l| {
            has(l, "register/listen error: econnrefused")
                .map(|()| "the VM cannot register with epmd: epmd is not running".into())
        },
        hint: "start epmd (epmd -daemon, or systemd's epmd.socket), or let the VM start it (drop -start_epmd false)",
    },
    Pattern {
        id: "cookie_mode",
        check: Some("config.cookie"),
        generic: false,
        matches: |l| {
            between(l, "Cookie file ", " must be accessible by owner only")
                .map(|f| format!("the VM refuses the cookie file {f}: it is readable by others"))
        },
        hint: "chmod 400 the cookie file",
    },
    Pattern {
        id: "runtime_config_eacces",
        check: Some("env.dirs"),
        generic: false,
        matches: |l| {
            (l.contains("Could not write runtime configuration")
                || (l.contains("runtime") && (l.contains(":eacces") || l.contains(":erofs"))))
            .then(|| {
                "the runtime configuration could not be written: the release directory is read-only"
                    .into()
            })
        },
        hint: "set RELEASE_TMP to a writable directory (e.g. /run/NAME); beamrc writes nothing else",
    },
    Pattern {
        id: "env_var_missing",
        check: None,
        generic: false,
        matches: |l| {
            between(l, "environment variable \"", "\"")
                .filter(|_| l.contains("not set") || l.contains("missing"))
                .map(|v| {
                    format!(
                        "the environment variable {v} is not set, and the configuration needs it"
                    )
                })
        },
        hint: "set it where the release starts (unit file, container env, RELEASE_ENV_FILE)",
    },
    Pattern {
        id: "config_provider",
        check: None,
        generic: false,
        matches: |l| {
            between(l, "Config provider ", " failed").map(|p| {
                format!("the config provider {p} failed (runtime.exs or a custom provider raised)")
            })
        },
        hint: "the lines after it show the exception; often a System.fetch_env!/1 of an unset variable",
    },
    Pattern {
        id: "app_start_failure",
        check: None,
        generic: false,
        matches: |l| {
            let rest = between(l, "application_start_failure,", "}")?;
            let app = rest.split(',').next()?.trim();
            let child = between(l, "failed_to_start_child,", ",")
                .map(|c| format!(" (its child {} did not start)", c.trim_matches('\'')))
                .unwrap_or_default();
            Some(format!("the application {app} failed to start{child}"))
        },
        hint: "the reason follows in the line; a missing environment variable (PORT, DATABASE_URL) is the usual cause",
    },
    Pattern {
        id: "app_exited",
        check: None,
        generic: false,
        matches: |l| {
            let app = between(l, "Application ", " exited with reason: ")?;
            let why = between(l, "exited with reason: ", "\n")?;
            Some(format!(
                "the application {app} stopped: {}",
                why.chars().take(200).collect::<String>()
            ))
        },
        hint: "see the application's own log lines above this one",
    },
    Pattern {
        id: "port_in_use",
        check: None,
        generic: false,
        matches: |l| {
            has(l, "eaddrinuse").map(|()| {
                "a port the application (or distribution) wants to listen on is already in use"
                    .into()
            })
        },
        hint: "stop what holds the port (ss -ltnp), or configure another port",
    },
    Pattern {
        id: "child_setup_closed",
        check: None,
        generic: false,
        matches: |l| {
            has(l, "erl_child_setup closed").map(|()| {
                "erl_child_setup died: the VM lost its helper (killed, often by the OOM killer)"
                    .into()
            })
        },
        hint: "check the kernel log (dmesg) for the OOM killer and the container's memory limit",
    },
    Pattern {
        id: "do_boot",
        check: None,
        generic: true,
        matches: |l| {
            has(l, "init terminating in do_boot")
                .map(|()| "the VM stopped while booting (init terminating in do_boot)".into())
        },
        hint: "the reason is in the term on this line; `bin/NAME check` checks the usual causes",
    },
    Pattern {
        id: "kernel_pid_terminated",
        check: None,
        generic: true,
        matches: |l| {
            (l.contains("Kernel pid terminated") || l.contains("could not start kernel pid"))
                .then(|| "the VM stopped during boot (kernel pid terminated)".into())
        },
        hint: "the reason is in the term on this line; `bin/NAME check` checks the usual causes",
    },
];

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
                        check: p.check,
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
        assert_eq!(d[0].check, Some("runtime.library"));
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
