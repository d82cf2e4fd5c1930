//! The known boot-failure patterns: what each looks like in a log line, what it means
//! in words, the hint, and the preflight check that covers it.

pub(crate) struct Pattern {
    pub id: &'static str,
    /// The text in words, when the line matches.
    pub matches: fn(&str) -> Option<String>,
    pub hint: &'static str,
    /// The preflight checks (`report::Finding::check`; `x.` means every `x.*`) that cover
    /// this cause.
    pub checks: &'static [&'static str],
    /// Generic patterns only count when nothing specific matched.
    pub generic: bool,
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
pub(crate) const PATTERNS: &[Pattern] = &[
    Pattern {
        id: "wrong_architecture",
        checks: &["runtime.format"],
        generic: false,
        matches: |l| {
            (l.contains("Syntax error: \"(\" unexpected")
                || l.contains("Syntax error: word unexpected")
                || l.contains("Error 8 executing")
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
        checks: &["runtime.symbol_version"],
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
        checks: &["runtime.library"],
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
        checks: &["runtime.library"],
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
        checks: &["runtime.library"],
        generic: false,
        matches: |l| {
            between(l, "Failed to load NIF library", "'")
                .map(|p| format!("a NIF library failed to load:{}", p.trim_end_matches(':')))
        },
        hint: "the NIF was built for another system or needs a library this host lacks; `bin/NAME check` lists its libraries",
    },
    Pattern {
        id: "home_unset",
        checks: &["env.home"],
        generic: false,
        matches: |l| {
            has(l, "HOME must be set")
                .map(|()| "HOME is not set, and erlexec refuses to start without it".into())
        },
        hint: "set HOME (systemd: Environment=HOME=… or a User= with a home directory)",
    },
    Pattern {
        id: "cannot_get_bootfile",
        checks: &["integrity.boot"],
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
        checks: &["integrity.erts"],
        generic: false,
        matches: |l| {
            has(l, "{undef,[{elixir,start_cli").map(|()| "the VM cannot run elixir:start_cli/0: the Elixir in lib/ is missing or was compiled for another OTP".into())
        },
        hint: "run the release with the ERTS it was built with (include_erts: true), or rebuild it with this host's OTP",
    },
    Pattern {
        id: "load_failed",
        checks: &["integrity."],
        generic: false,
        matches: |l| {
            let mods = between(l, "{load_failed,", "}")?.trim_matches(['[', ']']);
            Some(if mods.contains("Elixir.") && !mods.contains("kernel") {
                format!(
                    "the VM could not load {mods}: their application directory under lib/ is missing or incomplete"
                )
            } else {
                format!(
                    "the VM could not load its own modules ({mods}): lib/ and ERTS do not match"
                )
            })
        },
        hint: "re-copy the release (every application in releases/VSN/NAME.rel needs lib/APP-VSN), and run it with the ERTS it was built with",
    },
    Pattern {
        id: "config_syntax",
        checks: &["config.sys_config"],
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
        checks: &["config.sys_config"],
        generic: false,
        matches: |l| {
            between(l, "invalid config data: ", "\"")
                .map(|w| format!("sys.config has the right syntax but a wrong shape: {w}"))
        },
        hint: "sys.config is one list of {Application, [{Key, Value}]} tuples",
    },
    Pattern {
        id: "name_in_use",
        checks: &["env.name_in_use"],
        generic: false,
        matches: |l| {
            let name = between(l, "the name ", " seems to be in use")?;
            Some(format!("another node already runs as {name} on this host"))
        },
        hint: "stop the other instance (bin/NAME stop), or give this one its own RELEASE_NODE",
    },
    Pattern {
        id: "long_name",
        checks: &["config.name"],
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
        checks: &["config.name"],
        generic: false,
        matches: |l| {
            has(l, "Can't set short node name")
                .map(|()| "the short node name (-sname) has a host with dots".into())
        },
        hint: "a name like app@10.0.0.7 or app@host.domain needs RELEASE_DISTRIBUTION=name",
    },
    Pattern {
        id: "epmd_down",
        checks: &["env.epmd"],
        generic: false,
        matches: |l| {
            has(l, "register/listen error: econnrefused")
                .map(|()| "the VM cannot register with epmd: epmd is not running".into())
        },
        hint: "start epmd (epmd -daemon, or systemd's epmd.socket), or let the VM start it (drop -start_epmd false)",
    },
    Pattern {
        id: "cookie_mode",
        checks: &["config.cookie"],
        generic: false,
        matches: |l| {
            between(l, "Cookie file ", " must be accessible by owner only")
                .map(|f| format!("the VM refuses the cookie file {f}: it is readable by others"))
        },
        hint: "chmod 400 the cookie file",
    },
    Pattern {
        id: "runtime_config_eacces",
        checks: &["env.dirs"],
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
        checks: &[],
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
        checks: &[],
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
        checks: &[],
        generic: false,
        matches: |l| {
            if l.contains("nodistribution") {
                return None; // kernel failing on distribution: no_distribution says it
            }
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
        checks: &[],
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
        checks: &[],
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
        checks: &[],
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
        id: "no_distribution",
        checks: &[
            "config.name",
            "env.epmd",
            "env.name_in_use",
            "env.dist_port",
        ],
        generic: false,
        matches: |l| {
            has(l, "nodistribution")
                .map(|()| "distribution could not start (the name is in use, epmd is unreachable, or the name does not suit the host)".into())
        },
        hint: "the VM's stderr names the cause (\"seems to be in use\", \"Can't set … node name\", \"register/listen error\"); the checks below test each",
    },
    Pattern {
        id: "do_boot",
        checks: &["integrity."],
        generic: true,
        matches: |l| {
            has(l, "init terminating in do_boot")
                .map(|()| "the VM stopped while booting (init terminating in do_boot)".into())
        },
        hint: "the reason is in the term on this line; `bin/NAME check` checks the usual causes",
    },
    Pattern {
        id: "kernel_pid_terminated",
        checks: &["config.", "env."],
        generic: true,
        matches: |l| {
            (l.contains("Kernel pid terminated") || l.contains("could not start kernel pid"))
                .then(|| "the VM stopped during boot (kernel pid terminated)".into())
        },
        hint: "the reason is in the term on this line; `bin/NAME check` checks the usual causes",
    },
];
