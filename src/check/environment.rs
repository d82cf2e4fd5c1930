//! Environment: the directories beamrc and the VM write to, HOME, epmd (running, or
//! startable by the VM), the node name already registered in epmd, and the
//! distribution port. The only side effects are connects and a bind on the loopback,
//! each with a short deadline; nothing is written.
use super::Subject;
use super::config::Configured;
use super::report::Finding;
use crate::dist::DistError;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

const PROBE: Duration = Duration::from_millis(300);

pub(crate) fn check(s: &Subject, c: &Configured) -> Vec<Finding> {
    let mut out = Vec::new();
    let start_needs_tmp = s.substitute
        || crate::paths::with_suffix(&s.vm_args, ".src").is_file()
        || crate::paths::with_suffix(&s.sys_config, ".src").is_file()
        || std::fs::read(&s.sys_config)
            .is_ok_and(|b| crate::config::sys_config::is_runtime_config(&b));
    for (var, dir) in &s.dirs {
        out.extend(writable(s, var, dir, start_needs_tmp));
    }
    for (var, dir) in &s.daemon_dirs {
        out.extend(writable(s, var, dir, false));
    }
    if !access(&s.root, libc::W_OK) || read_only_fs(&s.root) {
        out.push(
            Finding::ok(
                "env.dirs",
                "the release directory is read-only: fine, beamrc writes only under RELEASE_TMP",
            )
            .at(s.root.display().to_string()),
        );
    }
    if s.env.non_empty("HOME").is_none() {
        // OTP 25 boots without HOME (the cookie is passed on the command line); older
        // erlexecs refused ("HOME must be set"), and code using the home directory fails.
        out.push(
            Finding::warning(
                "env.home",
                "HOME is not set: the VM boots (beamrc passes the cookie), but code that uses the home directory (:filename.basedir, ~/.erlang.cookie, older erlexecs: \"HOME must be set\") fails",
            )
            .at("HOME")
            .hint("set HOME (systemd: Environment=HOME=/var/lib/NAME, or a User= with a home directory)"),
        );
    }
    if let Some((_, name)) = &c.name {
        out.extend(epmd(s, c, name));
        out.extend(dist_port(s, c));
    }
    out
}

fn access(path: &Path, mode: libc::c_int) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access only inspects it.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

fn read_only_fs(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statvfs writes into the provided struct only.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0
    }
}

/// `dir` exists and is writable, or its nearest existing parent is (then it is created).
fn writable(s: &Subject, var: &str, dir: &Path, fatal: bool) -> Option<Finding> {
    let mut probe = dir;
    while !probe.exists() {
        probe = probe.parent()?;
    }
    if probe.is_dir() && access(probe, libc::W_OK | libc::X_OK) {
        let what = if probe == dir {
            format!("{var} is writable")
        } else {
            format!("{var} will be created (under {})", probe.display())
        };
        return (var == "RELEASE_TMP")
            .then(|| Finding::ok("env.dirs", what).at(dir.display().to_string()));
    }
    let ro = if !probe.is_dir() {
        "not a directory"
    } else if read_only_fs(probe) {
        "the file system is read-only"
    } else {
        "permission denied"
    };
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let inside = dir.starts_with(&s.root);
    let what = if probe == dir {
        format!(
            "{var} ({}) is not writable by uid {uid}: {ro}",
            dir.display()
        )
    } else {
        format!(
            "{var} ({}) cannot be created: {} is not writable by uid {uid} ({ro})",
            dir.display(),
            probe.display()
        )
    };
    let hint = if inside {
        "the release directory is read-only (a Docker layer, a Nix store, ProtectSystem=strict): point RELEASE_TMP at a writable directory, e.g. RELEASE_TMP=/run/NAME or /tmp/NAME"
    } else {
        "make the directory writable for this user, or point the variable at one that is"
    };
    let f = if fatal {
        Finding::error("env.dirs", what)
    } else {
        Finding::warning(
            "env.dirs",
            format!("{what}; daemon and runtime configuration need it"),
        )
    };
    Some(f.at(var.to_string()).hint(hint))
}

fn epmd_port(s: &Subject) -> Result<u16, Finding> {
    match s.env.non_empty_str("ERL_EPMD_PORT") {
        None => Ok(4369),
        Some(p) => p.trim().parse().map_err(|_| {
            Finding::error(
                "env.epmd",
                format!("ERL_EPMD_PORT={p:?} is not a port number"),
            )
            .at("ERL_EPMD_PORT")
        }),
    }
}

fn has_flag(s: &Subject, c: &Configured, flag: &str, value: &str) -> bool {
    let pair = |w: &[String]| w.windows(2).any(|p| p[0] == flag && p[1] == value);
    let env_words: Vec<String> = [
        "ERL_FLAGS",
        "ERL_AFLAGS",
        "ERL_ZFLAGS",
        "ELIXIR_ERL_OPTIONS",
    ]
    .iter()
    .filter_map(|v| s.env.non_empty_str(v))
    .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
    .collect();
    pair(&c.flags) || pair(&env_words)
}

fn epmd(s: &Subject, c: &Configured, name: &str) -> Vec<Finding> {
    if s.env.non_empty("ERL_DIST_PORT").is_some() {
        return vec![Finding::ok(
            "env.epmd",
            "ERL_DIST_PORT is set: the node runs without epmd",
        )];
    }
    let port = match epmd_port(s) {
        Ok(p) => p,
        Err(f) => return vec![f],
    };
    let alive = name.split('@').next().unwrap_or(name);
    let deadline = Instant::now() + PROBE;
    let epmd = SocketAddr::from(([127, 0, 0, 1], port));
    match crate::dist::epmd::port_please(epmd, "127.0.0.1", alive, deadline) {
        Ok(info) => vec![Finding::error(
            "env.name_in_use",
            format!("the name {alive} is already registered in epmd (port {port}) by a node listening on port {}; the VM would stop with \"the name {name} seems to be in use by another Erlang node\"", info.port),
        )
        .at(format!("epmd 127.0.0.1:{port}"))
        .hint("stop the running node first (bin/NAME stop), or start this instance with another RELEASE_NODE")],
        Err(DistError::NotRegistered { .. }) => vec![Finding::ok("env.epmd", format!("epmd answers on port {port}; no node named {alive} is registered"))],
        Err(DistError::EpmdUnreachable { .. }) | Err(DistError::Timeout(_)) => {
            let epmd_bin = super::runtime::erts_bin(s).map(|b| b.join("epmd"));
            if has_flag(s, c, "-start_epmd", "false") {
                vec![Finding::error("env.epmd", format!("epmd is not running on port {port} and the VM is told not to start it (-start_epmd false): it would stop with \"register/listen error: econnrefused\""))
                    .at(format!("127.0.0.1:{port}"))
                    .hint("start epmd first (systemd: epmd.socket; or `epmd -daemon`), or drop -start_epmd false")]
            } else if epmd_bin.as_deref().is_some_and(|b| access(b, libc::X_OK)) {
                vec![Finding::ok("env.epmd", format!("epmd is not running on port {port}; the VM will start it"))]
            } else {
                vec![Finding::error("env.epmd", format!("epmd is not running on port {port} and no executable epmd is in ERTS to start it"))
                    .hint("start epmd (epmd -daemon), or fix the release's ERTS")]
            }
        }
        Err(e) => vec![Finding::warning("env.epmd", format!("port {port} does not answer like epmd: {e}")).at(format!("127.0.0.1:{port}"))],
    }
}

/// `ERL_DIST_PORT`, or `-kernel inet_dist_listen_min N` with the same max: that port free.
fn dist_port(s: &Subject, c: &Configured) -> Option<Finding> {
    let kernel = |key: &str| {
        c.flags
            .windows(3)
            .find(|w| w[0] == "-kernel" && w[1] == key)
            .and_then(|w| w[2].parse::<u16>().ok())
    };
    let (port, from) = match s.env.non_empty_str("ERL_DIST_PORT") {
        Some(p) => (p.parse::<u16>().ok()?, "ERL_DIST_PORT"),
        None => {
            let min = kernel("inet_dist_listen_min")?;
            (kernel("inet_dist_listen_max").is_none_or(|max| max == min)).then_some(())?;
            (min, "inet_dist_listen_min")
        }
    };
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    match TcpListener::bind(addr) {
        Ok(_) => Some(Finding::ok(
            "env.dist_port",
            format!("distribution port {port} ({from}) is free"),
        )),
        Err(e) => {
            let holder =
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), PROBE)
                    .is_ok();
            Some(
                Finding::error(
                    "env.dist_port",
                    format!(
                        "distribution port {port} ({from}) is not free: {e}{}",
                        if holder {
                            " (something listens on it)"
                        } else {
                            ""
                        }
                    ),
                )
                .at(from.to_string())
                .hint("stop what holds the port, or choose another one"),
            )
        }
    }
}
