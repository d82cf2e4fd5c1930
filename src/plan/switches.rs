//! beamrc's own switches: every `BEAMRC_*` variable and `ERL_EPMD_PORT`, parsed once into
//! one struct before anything happens, with errors that name the variable (exit 4).
//!
//! They are read from one view of the environment: the caller's environment over
//! `RELEASE_ENV_FILE` over `release.env`, then what `env.sh` exported or assigned — the
//! same environment the VM gets. Booleans take `1|true|yes|on` and `0|false|no|off` (any
//! case); unset or empty means the default.
use crate::config::subst::UnsetPolicy;
use crate::environment::EnvMap;
use crate::{Error, Result};
use std::time::Duration;

/// The largest duration a switch accepts (about 31 years): far beyond any wait, small
/// enough that a deadline `now + d` never overflows.
pub const MAX_SECONDS: f64 = 1e9;

/// OTP's `net_setuptime`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(7);
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// relx's install_upgrade.escript waits 300 s for each release_handler call.
pub const DEFAULT_UPGRADE_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_EPMD_PORT: u16 = 4369;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switches {
    /// `BEAMRC_DRY_RUN`: print the plan, change nothing.
    pub dry_run: bool,
    /// `BEAMRC_NATIVE`: talk to the node natively (default on).
    pub native: bool,
    /// `BEAMRC_INIT`: supervise `start` even when not PID 1.
    pub init: bool,
    /// `BEAMRC_LOG`: the trace filter (`target=level` list, or a boolean word), when set.
    pub log: Option<String>,
    /// `BEAMRC_RPC_CONNECT_TIMEOUT`: EPMD + connect + handshake.
    pub connect_timeout: Duration,
    /// `BEAMRC_RPC_TIMEOUT`: a remote call; `None` waits forever, like the script.
    pub call_timeout: Option<Duration>,
    /// `BEAMRC_STOP_TIMEOUT`: how long `stop` waits for the node to be gone (0: not at all).
    pub stop_timeout: Duration,
    /// `BEAMRC_START_TIMEOUT`: how long `daemon` and `restart` wait for boot (0: not at all).
    pub start_timeout: Duration,
    /// `BEAMRC_SHUTDOWN_TIMEOUT`: init mode, SIGTERM → SIGKILL; `None` waits forever.
    pub shutdown_timeout: Option<Duration>,
    /// `BEAMRC_SUBST_UNSET`: what an unset `${VAR}` becomes.
    pub subst_unset: UnsetPolicy,
    /// `ERL_EPMD_PORT`.
    pub epmd_port: u16,
    /// `BEAMRC_UPGRADE_TIMEOUT`: each release_handler call of the upgrade commands.
    pub upgrade_timeout: Duration,
    /// `BEAMRC_FLEET_NODES`: run ping/status/pid/ready/rpc on these nodes (fleet mode).
    pub fleet: Option<FleetNodes>,
    /// `BEAMRC_FLEET_JOBS`: at most this many nodes at a time in fleet mode.
    pub fleet_jobs: usize,
    /// `BEAMRC_STOP_DELAY`: init mode, wait this long after SIGTERM before forwarding it.
    pub stop_delay: Option<Duration>,
    /// `BEAMRC_USER`: `start` drops to this user (and group) before exec.
    pub user: Option<UserSpec>,
    /// `BEAMRC_PREFLIGHT`: `start` checks erlexec and beam.smp can run here (default on).
    pub preflight: bool,
}

/// Fleet mode's nodes: a list, or the target and every node it is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetNodes {
    /// `a@h,b@h` (a name without `@host` gets the target's host).
    List(Vec<String>),
    /// `connected`: the target and its `nodes()`.
    Connected,
}

/// `BEAMRC_USER=user[:group]`: names or numeric ids, resolved before anything happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

pub const DEFAULT_FLEET_JOBS: usize = 16;

impl Default for Switches {
    fn default() -> Switches {
        Switches {
            dry_run: false,
            native: true,
            init: false,
            log: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            call_timeout: None,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            start_timeout: DEFAULT_START_TIMEOUT,
            shutdown_timeout: None,
            subst_unset: UnsetPolicy::Error,
            epmd_port: DEFAULT_EPMD_PORT,
            upgrade_timeout: DEFAULT_UPGRADE_TIMEOUT,
            fleet: None,
            fleet_jobs: DEFAULT_FLEET_JOBS,
            stop_delay: None,
            user: None,
            preflight: true,
        }
    }
}

impl Switches {
    /// Parses every switch; the first malformed one is the error.
    pub fn read(env: &EnvMap) -> Result<Switches> {
        let d = Switches::default();
        Ok(Switches {
            dry_run: flag(env, "BEAMRC_DRY_RUN", d.dry_run)?,
            native: flag(env, "BEAMRC_NATIVE", d.native)?,
            init: flag(env, "BEAMRC_INIT", d.init)?,
            log: log_filter(env)?,
            connect_timeout: seconds(env, "BEAMRC_RPC_CONNECT_TIMEOUT")?
                .unwrap_or(d.connect_timeout),
            call_timeout: seconds(env, "BEAMRC_RPC_TIMEOUT")?,
            stop_timeout: seconds(env, "BEAMRC_STOP_TIMEOUT")?.unwrap_or(d.stop_timeout),
            start_timeout: seconds(env, "BEAMRC_START_TIMEOUT")?.unwrap_or(d.start_timeout),
            shutdown_timeout: seconds(env, "BEAMRC_SHUTDOWN_TIMEOUT")?,
            subst_unset: UnsetPolicy::from_setting(env.non_empty_str("BEAMRC_SUBST_UNSET"))?,
            epmd_port: epmd_port(env)?,
            upgrade_timeout: seconds(env, "BEAMRC_UPGRADE_TIMEOUT")?.unwrap_or(d.upgrade_timeout),
            fleet: fleet_nodes(env)?,
            fleet_jobs: count(env, "BEAMRC_FLEET_JOBS", 1024)?.unwrap_or(d.fleet_jobs),
            stop_delay: seconds(env, "BEAMRC_STOP_DELAY")?,
            user: user(env)?,
            preflight: flag(env, "BEAMRC_PREFLIGHT", d.preflight)?,
        })
    }
}

/// `BEAMRC_LOG`, checked as an env-filter.
fn log_filter(env: &EnvMap) -> Result<Option<String>> {
    let Some(text) = env.non_empty_str("BEAMRC_LOG") else {
        return Ok(None);
    };
    crate::log::parse_filter(text)
        .map_err(|e| Error::Config(format!("BEAMRC_LOG={text:?} is not a trace filter: {e}")))?;
    Ok(Some(text.to_string()))
}

/// The one boolean grammar: `1|true|yes|on`, `0|false|no|off` (any case); unset or empty is
/// `default`.
pub fn flag(env: &EnvMap, key: &str, default: bool) -> Result<bool> {
    let Some(text) = env.non_empty_str(key) else {
        return Ok(default);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Config(format!(
            "{key}={text:?} is not a boolean (use 1, true, yes, on or 0, false, no, off)"
        ))),
    }
}

/// `BEAMRC_CHECK_FORMAT` (`check`, `check --upgrade`): `json` asks for JSON, `text` (or
/// unset) for lines; anything else is the error line.
pub(crate) fn check_json(env: &EnvMap) -> std::result::Result<bool, String> {
    match env.non_empty_str("BEAMRC_CHECK_FORMAT") {
        None | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(f) => Err(format!(
            "ERROR: BEAMRC_CHECK_FORMAT must be text or json, got {f:?}"
        )),
    }
}

/// A duration in seconds (`1.5` allowed, at most [`MAX_SECONDS`]); unset or empty → `None`.
pub fn seconds(env: &EnvMap, key: &str) -> Result<Option<Duration>> {
    let Some(text) = env.non_empty_str(key) else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=MAX_SECONDS).contains(&s) => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        Ok(s) if s.is_finite() && s > MAX_SECONDS => Err(Error::Config(format!(
            "{key}={text:?} is too large (at most {MAX_SECONDS:.0} seconds)"
        ))),
        _ => Err(Error::Config(format!(
            "{key}={text:?} is not a number of seconds"
        ))),
    }
}

/// `ERL_EPMD_PORT`: 1–65535, default 4369.
pub fn epmd_port(env: &EnvMap) -> Result<u16> {
    match env.non_empty_str("ERL_EPMD_PORT") {
        None => Ok(DEFAULT_EPMD_PORT),
        Some(p) => match p.trim().parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(Error::Config(format!(
                "ERL_EPMD_PORT={p:?} is not a port number (1-65535)"
            ))),
        },
    }
}

/// `BEAMRC_FLEET_NODES`: `connected`, or a comma-separated list of node names.
fn fleet_nodes(env: &EnvMap) -> Result<Option<FleetNodes>> {
    let Some(text) = env.non_empty_str("BEAMRC_FLEET_NODES") else {
        return Ok(None);
    };
    if text.trim() == "connected" {
        return Ok(Some(FleetNodes::Connected));
    }
    let nodes: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    let bad = nodes.iter().find(|n| {
        n.matches('@').count() > 1
            || n.starts_with('@')
            || n.ends_with('@')
            || n.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    match bad {
        Some(n) => Err(Error::Config(format!(
            "BEAMRC_FLEET_NODES: {n:?} is not a node name (NAME or NAME@HOST)"
        ))),
        None if nodes.is_empty() => Err(Error::Config(
            "BEAMRC_FLEET_NODES names no node (a comma-separated list, or connected)".into(),
        )),
        None => Ok(Some(FleetNodes::List(nodes))),
    }
}

/// A whole number from 1 to `max`; unset or empty → `None`.
fn count(env: &EnvMap, key: &str, max: usize) -> Result<Option<usize>> {
    let Some(text) = env.non_empty_str(key) else {
        return Ok(None);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(Error::Config(format!(
            "{key}={text:?} is not a whole number from 1 to {max}"
        ))),
    }
}

/// `BEAMRC_USER=user[:group]`.
fn user(env: &EnvMap) -> Result<Option<UserSpec>> {
    let Some(text) = env.non_empty_str("BEAMRC_USER") else {
        return Ok(None);
    };
    let (user, group) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let name_ok = |s: &str| {
        !s.is_empty() && !s.contains([':', '/', '\0']) && !s.contains(char::is_whitespace)
    };
    if !name_ok(user) || group.is_some_and(|g| !name_ok(g)) {
        return Err(Error::Config(format!(
            "BEAMRC_USER={text:?} is not user[:group] (names or numeric ids)"
        )));
    }
    Ok(Some(UserSpec {
        user: user.to_string(),
        group: group.map(str::to_string),
    }))
}

/// A duration as the dry run and the messages show it: `60s`, `1.5s`.
pub fn show(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        pairs.iter().copied().collect()
    }

    fn err(pairs: &[(&str, &str)]) -> Error {
        Switches::read(&env(pairs)).unwrap_err()
    }

    #[test]
    fn log_takes_filters_and_booleans() {
        for ok in ["debug", "beamrc=trace,info", "1", "ON", "false"] {
            assert!(crate::log::parse_filter(ok).is_ok(), "{ok}");
        }
        let e = err(&[("BEAMRC_LOG", "a=b=c")]);
        assert_eq!(e.code(), 4);
        assert!(e.line().contains("BEAMRC_LOG"), "{e}");
    }

    #[test]
    fn defaults() {
        assert_eq!(Switches::read(&env(&[])).unwrap(), Switches::default());
        assert_eq!(
            Switches::read(&env(&[("BEAMRC_DRY_RUN", "")])).unwrap(),
            Switches::default()
        );
    }

    #[test]
    fn one_boolean_grammar_for_every_flag() {
        for key in ["BEAMRC_DRY_RUN", "BEAMRC_NATIVE", "BEAMRC_INIT"] {
            for (text, want) in [
                ("1", true),
                ("true", true),
                ("YES", true),
                ("On", true),
                ("0", false),
                ("false", false),
                ("no", false),
                ("OFF", false),
            ] {
                assert_eq!(flag(&env(&[(key, text)]), key, !want).unwrap(), want);
            }
            let e = flag(&env(&[(key, "maybe")]), key, false).unwrap_err();
            assert_eq!(e.code(), 4);
            assert!(e.to_string().contains(&format!("{key}=\"maybe\"")), "{e}");
        }
    }

    /// issue 8: `BEAMRC_DRY_RUN=false` used to mean a dry run, `BEAMRC_NATIVE=false` native.
    #[test]
    fn false_means_off() {
        let s = Switches::read(&env(&[
            ("BEAMRC_DRY_RUN", "false"),
            ("BEAMRC_NATIVE", "false"),
        ]))
        .unwrap();
        assert!(!s.dry_run);
        assert!(!s.native);
    }

    #[test]
    fn durations_and_ports_are_validated() {
        let s = Switches::read(&env(&[
            ("BEAMRC_STOP_TIMEOUT", "1.5"),
            ("BEAMRC_START_TIMEOUT", "0"),
            ("BEAMRC_RPC_TIMEOUT", "3"),
            ("ERL_EPMD_PORT", "4400"),
        ]))
        .unwrap();
        assert_eq!(s.stop_timeout, Duration::from_millis(1500));
        assert_eq!(s.start_timeout, Duration::ZERO);
        assert_eq!(s.call_timeout, Some(Duration::from_secs(3)));
        assert_eq!(s.epmd_port, 4400);
        for (key, bad) in [
            ("BEAMRC_STOP_TIMEOUT", "abc"),
            ("BEAMRC_START_TIMEOUT", "-1"),
            ("BEAMRC_RPC_CONNECT_TIMEOUT", "NaN"),
            ("BEAMRC_RPC_TIMEOUT", "inf"),
            ("BEAMRC_SHUTDOWN_TIMEOUT", "99999999999999999999"),
            ("BEAMRC_STOP_TIMEOUT", "1e300"),
            ("ERL_EPMD_PORT", "70000"),
            ("ERL_EPMD_PORT", "0"),
            ("ERL_EPMD_PORT", "99999999999999999999"),
            ("BEAMRC_SUBST_UNSET", "yes"),
            ("BEAMRC_STOP_DELAY", "soon"),
            ("BEAMRC_FLEET_JOBS", "0"),
            ("BEAMRC_FLEET_JOBS", "99999999999999999999"),
            ("BEAMRC_FLEET_NODES", "a@b@c"),
            ("BEAMRC_FLEET_NODES", " , "),
            ("BEAMRC_USER", "a:b:c"),
            ("BEAMRC_USER", ":x"),
        ] {
            let e = err(&[(key, bad)]);
            assert_eq!(e.code(), 4, "{key}={bad}");
            assert!(e.line().starts_with("ERROR: "), "{e}");
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn fleet_and_init_switches() {
        let s = Switches::read(&env(&[
            ("BEAMRC_FLEET_NODES", "a@h, b ,"),
            ("BEAMRC_FLEET_JOBS", "3"),
            ("BEAMRC_STOP_DELAY", "5"),
            ("BEAMRC_USER", "nobody:65534"),
        ]))
        .unwrap();
        assert_eq!(
            s.fleet,
            Some(FleetNodes::List(vec!["a@h".into(), "b".into()]))
        );
        assert_eq!(s.fleet_jobs, 3);
        assert_eq!(s.stop_delay, Some(Duration::from_secs(5)));
        assert_eq!(
            s.user,
            Some(UserSpec {
                user: "nobody".into(),
                group: Some("65534".into())
            })
        );
        let s = Switches::read(&env(&[("BEAMRC_FLEET_NODES", "connected")])).unwrap();
        assert_eq!(s.fleet, Some(FleetNodes::Connected));
    }

    /// Bounded fuzz driver (issue 15): random values for every switch never panic (no
    /// `Duration` overflow, no slicing on a char boundary); each either parses into a value
    /// within its documented range or is one `ERROR:` line naming the variable, exit 4.
    #[test]
    fn fuzz_switch_values() {
        use crate::config::testing::{Rng, bounded};
        const KEYS: &[&str] = &[
            "BEAMRC_DRY_RUN",
            "BEAMRC_NATIVE",
            "BEAMRC_INIT",
            "BEAMRC_LOG",
            "BEAMRC_RPC_CONNECT_TIMEOUT",
            "BEAMRC_RPC_TIMEOUT",
            "BEAMRC_STOP_TIMEOUT",
            "BEAMRC_START_TIMEOUT",
            "BEAMRC_SHUTDOWN_TIMEOUT",
            "BEAMRC_SUBST_UNSET",
            "ERL_EPMD_PORT",
            "BEAMRC_STOP_DELAY",
            "BEAMRC_FLEET_NODES",
            "BEAMRC_FLEET_JOBS",
            "BEAMRC_USER",
        ];
        const PIECES: &[&str] = &[
            "0",
            "1",
            "9",
            "99999999999999999999",
            ".",
            "5",
            "e",
            "E",
            "+",
            "-",
            "1e308",
            "inf",
            "NaN",
            "true",
            "off",
            "YES",
            " ",
            "\t",
            "\u{e9}",
            "\u{20ac}",
            "=",
            ",",
            "beamrc",
            "debug",
            "[",
            "{",
            "\"",
            "empty",
            "error",
            "0x10",
            "_",
            "65535",
            "65536",
        ];
        let ran = bounded(
            "switches",
            200_000,
            std::time::Duration::from_secs(2),
            |rng: &mut Rng| {
                let key = *rng.pick(KEYS);
                let value = rng.text(PIECES, 6);
                let env: EnvMap = [(key, value.as_str())].into_iter().collect();
                match Switches::read(&env) {
                    Ok(s) => {
                        for d in [s.connect_timeout, s.stop_timeout, s.start_timeout]
                            .into_iter()
                            .chain(s.call_timeout)
                            .chain(s.shutdown_timeout)
                            .chain(s.stop_delay)
                        {
                            assert!(d.as_secs_f64() <= MAX_SECONDS, "{key}={value:?}");
                            assert!(std::time::Instant::now().checked_add(d).is_some());
                        }
                        assert_ne!(s.epmd_port, 0);
                        assert!((1..=1024).contains(&s.fleet_jobs), "{key}={value:?}");
                    }
                    Err(e) => {
                        assert_eq!(e.code(), 4, "{key}={value:?}");
                        let line = e.line();
                        assert!(line.starts_with("ERROR: ") && line.contains(key), "{line}");
                        assert!(!line.contains('\n'), "{line}");
                    }
                }
            },
        );
        assert!(ran > 100, "only {ran} cases ran");
    }
}
