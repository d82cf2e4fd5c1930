//! Configuration: vm.args (and its `-args_file` chain) renders with the current
//! environment, sys.config parses, exactly one node name whose form suits its type, and
//! a cookie that is found and not readable by others.
use super::Subject;
use super::report::Finding;
use crate::Error;
use crate::config::subst;
use crate::config::sys_config::plan_sys_config;
use crate::config::terms::{self, Term};
use crate::config::vm_args::{NameKind, plan_vm_args};
use crate::environment::cookie;
use std::path::{Path, PathBuf};

/// What the configuration decided, for the environment checks.
#[derive(Debug, Default)]
pub(crate) struct Configured {
    pub findings: Vec<Finding>,
    /// The node name the VM will take (none: not distributed, or undecidable).
    pub name: Option<(NameKind, String)>,
    /// Every vm.args flag, in erlexec's order.
    pub flags: Vec<String>,
}

pub(crate) fn check(s: &Subject, hostname: &str) -> Configured {
    let mut c = Configured::default();
    let lookup = subst::env_lookup(&s.env);
    let scratch = render_dir(s);
    let vm = match plan_vm_args(&s.vm_args, &scratch, s.substitute, &lookup, s.policy) {
        Ok(plan) => Some(plan),
        Err(Error::Release(_)) => None, // missing: an integrity finding
        Err(e) => {
            c.findings.push(
                Finding::error("config.vm_args", strip(&e))
                    .at(s.show(&s.vm_args))
                    .hint("set the variables named (or use ${VAR:-default}), or fix the -args_file chain"),
            );
            None
        }
    };
    let mut vm_cookie = None;
    if let Some(plan) = &vm {
        for w in &plan.info.warnings {
            c.findings
                .push(Finding::warning("config.vm_args", w.clone()).at(s.show(&s.vm_args)));
        }
        c.flags = plan.info.flags.clone();
        vm_cookie = plan.info.cookie.clone().map(|k| (plan.entry.clone(), k));
        if c.findings.is_empty() {
            c.findings.push(
                Finding::ok("config.vm_args", "vm.args renders with this environment")
                    .at(s.show(&s.vm_args)),
            );
        }
    }
    c.findings.extend(sys_config(s, &lookup));
    let from_vm = vm.as_ref().and_then(|p| p.info.name.clone());
    c.findings.extend(extra_name_flags(
        s,
        vm.as_ref().map(|p| p.info.flags.as_slice()),
    ));
    match name(s, from_vm) {
        Ok(n) => c.name = n,
        Err(f) => c.findings.push(*f),
    }
    if let Some((kind, name)) = &c.name {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let domain = domain_of(hostname, &read("/etc/hosts"), &read("/etc/resolv.conf"));
        c.findings.push(name_form(*kind, name, hostname, domain));
    }
    c.findings.push(cookie_finding(
        s,
        vm_cookie.as_ref().map(|(p, k)| (p.as_path(), k.as_str())),
    ));
    c
}

/// Where start would render (under `RELEASE_TMP`): rendered in memory only, nothing is
/// written by a check, but the directory's privacy is judged as at start.
fn render_dir(s: &Subject) -> PathBuf {
    let tmp = s
        .dirs
        .first()
        .map_or_else(|| s.root.join("tmp"), |(_, d)| d.clone());
    tmp.join("rendered")
}

/// An error's text without the `ERROR: ` its Display adds.
fn strip(e: &Error) -> String {
    let t = e.to_string();
    t.strip_prefix("ERROR: ").unwrap_or(&t).to_string()
}

fn sys_config(s: &Subject, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let without_ext = s.sys_config.with_extension("");
    let scratch = render_dir(s);
    let src = crate::paths::with_suffix(&s.sys_config, ".src");
    let mut texts: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    if s.substitute || src.is_file() {
        match plan_sys_config(
            &without_ext,
            &s.root,
            &scratch,
            s.substitute,
            lookup,
            s.policy,
        ) {
            Ok(plan) => texts.extend(plan.files.into_iter().map(|f| (f.source, f.contents))),
            Err(Error::Release(_)) => return Vec::new(),
            Err(e) => {
                return vec![
                    Finding::error("config.sys_config", strip(&e)).at(s.show(&s.sys_config)),
                ];
            }
        }
    } else {
        match std::fs::read(&s.sys_config) {
            Ok(b) => texts.push((s.sys_config.clone(), b)),
            Err(_) => return Vec::new(),
        }
    }
    let mut out = Vec::new();
    let mut includes = Vec::new();
    for (k, (path, bytes)) in texts.iter().enumerate() {
        out.extend(config_terms(
            s,
            path,
            bytes,
            (k == 0 && texts.len() == 1).then_some(&mut includes),
        ));
    }
    for inc in includes {
        match std::fs::read(&inc) {
            Ok(b) => out.extend(config_terms(s, &inc, &b, None)),
            Err(e) => out.push(
                Finding::error(
                    "config.sys_config",
                    format!(
                        "{} includes {}, which cannot be read: {e}",
                        s.show(&s.sys_config),
                        inc.display()
                    ),
                )
                .at(s.show(&s.sys_config)),
            ),
        }
    }
    if out.is_empty() {
        out.push(Finding::ok("config.sys_config", "sys.config parses").at(s.show(&s.sys_config)));
    }
    out
}

/// One config file: a single list of `{App, [...]}` and include strings.
fn config_terms(
    s: &Subject,
    path: &Path,
    bytes: &[u8],
    includes: Option<&mut Vec<PathBuf>>,
) -> Option<Finding> {
    let shown = s.show(path);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            return Some(
                Finding::error("config.sys_config", format!("{shown} is not valid UTF-8"))
                    .at(shown),
            );
        }
    };
    let hint = "the VM would stop with `could not start kernel pid … error in config file`; fix the file at that line";
    let terms = match terms::consult(text) {
        Ok(t) => t,
        Err(e) => {
            return Some(
                Finding::error(
                    "config.sys_config",
                    format!("{shown}:{}: {}", e.line, e.what),
                )
                .at(format!("{}:{}", path.display(), e.line))
                .hint(hint),
            );
        }
    };
    let bad = |what: &str| {
        Some(Finding::error("config.sys_config", format!("{shown}: {what}")).at(path.display().to_string()).hint("a config file is one list of {Application, [{Key, Value}]} tuples (and file names), ended by a '.'"))
    };
    let [Term::List(items)] = terms.as_slice() else {
        return bad(&format!(
            "holds {} terms; it must hold exactly one list",
            terms.len()
        ));
    };
    let mut includes = includes;
    for item in items {
        match item {
            Term::Str(f) => {
                if let Some(list) = includes.as_deref_mut() {
                    let p = PathBuf::from(if f.ends_with(".config") {
                        f.clone()
                    } else {
                        format!("{f}.config")
                    });
                    list.push(if p.is_absolute() { p } else { s.root.join(p) });
                }
            }
            Term::Tuple(t)
                if t.len() == 2 && t[0].atom().is_some() && matches!(t[1], Term::List(_)) => {}
            _ => {
                return bad(
                    "an element is neither {Application, [Parameters]} nor a file name (OTP: \"invalid config data\")",
                );
            }
        }
    }
    None
}

/// Other places that pass a node name to the VM.
fn extra_name_flags(s: &Subject, vm_flags: Option<&[String]>) -> Vec<Finding> {
    let mut out = Vec::new();
    let count = |flags: &[String]| {
        flags
            .iter()
            .filter(|f| *f == "-name" || *f == "-sname")
            .count()
    };
    if let Some(flags) = vm_flags
        && count(flags) > 1
    {
        out.push(Finding::warning("config.name", "vm.args gives more than one -name/-sname; the VM uses the first (an -sname before a -name)").at(s.show(&s.vm_args)).hint("keep exactly one name flag"));
    }
    for var in [
        "ELIXIR_ERL_OPTIONS",
        "ERL_FLAGS",
        "ERL_AFLAGS",
        "ERL_ZFLAGS",
    ] {
        if let Some(v) = s.env.non_empty_str(var) {
            let words: Vec<String> = v.split_whitespace().map(str::to_string).collect();
            if count(&words) > 0 {
                out.push(
                    Finding::warning(
                        "config.name",
                        format!("{var} passes -name/-sname as well as RELEASE_NODE / vm.args"),
                    )
                    .at(var)
                    .hint("name the node in exactly one place (RELEASE_NODE)"),
                );
            }
        }
    }
    out
}

/// The node name the VM will take: vm.args first, then RELEASE_NODE/RELEASE_DISTRIBUTION.
fn name(
    s: &Subject,
    from_vm: Option<(NameKind, String)>,
) -> Result<Option<(NameKind, String)>, Box<Finding>> {
    if from_vm.is_some() {
        return Ok(from_vm);
    }
    match s.distribution.as_str() {
        "none" => Ok(None),
        "sname" => Ok(Some((NameKind::Short, s.node.clone()))),
        "name" => Ok(Some((NameKind::Long, s.node.clone()))),
        other => Err(Box::new(
            Finding::error("config.name", format!("RELEASE_DISTRIBUTION is {other:?}"))
                .at("RELEASE_DISTRIBUTION")
                .hint("use sname, name or none"),
        )),
    }
}

/// Whether the VM can find a domain for a dotless host name (inet_db's `domain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// `/etc/hosts` gives the host name a dotted alias, or resolv.conf a `domain`.
    Known,
    /// Only a resolv.conf `search` list.
    Maybe,
    None,
}

pub(crate) fn domain_of(hostname: &str, hosts: &str, resolv: &str) -> Domain {
    let words = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .map(|l| {
                l.split('#')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .collect()
    };
    let aliased = words(hosts).iter().any(|w| {
        w.iter().skip(1).any(|n| n == hostname)
            && w.iter()
                .skip(1)
                .any(|n| n.starts_with(&format!("{hostname}.")))
    });
    let resolv = words(resolv);
    if aliased
        || resolv
            .iter()
            .any(|w| w.first().is_some_and(|k| k == "domain"))
    {
        Domain::Known
    } else if resolv
        .iter()
        .any(|w| w.first().is_some_and(|k| k == "search"))
    {
        Domain::Maybe
    } else {
        Domain::None
    }
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// Short names take a host without dots, long names one with dots (or an IP address).
pub(crate) fn name_form(kind: NameKind, name: &str, hostname: &str, domain: Domain) -> Finding {
    let (alive, host) = match name.split_once('@') {
        Some((a, h)) => (a, Some(h)),
        None => (name, None),
    };
    let flag = if kind == NameKind::Short {
        "-sname"
    } else {
        "-name"
    };
    if alive.is_empty()
        || !alive
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Finding::error(
            "config.name",
            format!(
                "node name {name:?} is not valid: the part before @ must be letters, digits, _ or -"
            ),
        )
        .at("RELEASE_NODE")
        .hint("set RELEASE_NODE to a name like my_app or my_app@host");
    }
    match (kind, host) {
        (_, Some("")) => Finding::error("config.name", format!("node name {name:?} has an empty host part"))
            .at("RELEASE_NODE")
            .hint("a variable used for the host (RELEASE_NODE=app@$POD_IP) was empty when it was expanded: set it"),
        (NameKind::Short, Some(h)) if h.contains('.') => Finding::error(
            "config.name",
            format!("short name {name} has a host with dots ({h}); the VM would stop with \"Can't set short node name!\""),
        )
        .at("RELEASE_NODE / RELEASE_DISTRIBUTION")
        .hint(if is_ip(h) {
            "a name@IP address (RELEASE_NODE=app@$POD_IP) needs RELEASE_DISTRIBUTION=name"
        } else {
            "use RELEASE_DISTRIBUTION=name for a fully qualified host, or drop the domain"
        }),
        (NameKind::Long, None) if !hostname.contains('.') => {
            let what = format!("long name {name} without a host, and this host's name ({hostname}) has no domain");
            let hint = format!("set RELEASE_NODE={name}@<fully qualified host or IP> (e.g. {name}@$POD_IP), or use RELEASE_DISTRIBUTION=sname");
            match domain {
                Domain::None => Finding::error("config.name", format!("{what} and no resolver domain: the VM would stop with \"Can't set long node name!\"")),
                Domain::Maybe => Finding::warning("config.name", format!("{what}; unless the resolver supplies one the VM stops with \"Can't set long node name!\"")),
                Domain::Known => Finding::ok("config.name", format!("node name {name} ({flag}) takes the resolver's domain")),
            }
            .at("RELEASE_NODE")
            .hint(hint)
        }
        _ => Finding::ok("config.name", format!("node name {name} ({flag}) suits this host")),
    }
}

fn cookie_finding(s: &Subject, vm_cookie: Option<(&Path, &str)>) -> Finding {
    // relx: RELX_COOKIE, then vm.args' -setcookie, then ~/.erlang.cookie
    if s.kind == super::Kind::Relx && s.env.non_empty("RELX_COOKIE").is_some() {
        return Finding::ok("config.cookie", "cookie found (RELX_COOKIE)");
    }
    match cookie::resolve_cookie(&s.env, &s.root, vm_cookie) {
        Err(e) => Finding::error("config.cookie", strip(&e).replace('\n', " ")),
        Ok(c) => match cookie::permission_warning(&c) {
            Some(w) => Finding::warning("config.cookie", w).at(c.source.to_string()),
            None => Finding::ok("config.cookie", format!("cookie found ({})", c.source)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(kind: NameKind, name: &str, host: &str) -> (super::super::report::Level, String) {
        let f = name_form(kind, name, host, Domain::None);
        (f.level, f.line())
    }

    #[test]
    fn name_forms() {
        use super::super::report::Level::*;
        assert_eq!(level(NameKind::Short, "demo", "box").0, Ok);
        assert_eq!(level(NameKind::Short, "demo@box", "box.example").0, Ok);
        let (l, t) = level(NameKind::Short, "demo@10.0.0.7", "box");
        assert_eq!(l, Error);
        assert!(
            t.contains("Can't set short node name") && t.contains("RELEASE_DISTRIBUTION=name"),
            "{t}"
        );
        // OTP takes an explicit host for -name as it is
        assert_eq!(level(NameKind::Long, "demo@box", "box").0, Ok);
        let (l, t) = level(NameKind::Long, "demo", "box");
        assert_eq!(l, Error);
        assert!(
            t.contains("Can't set long node name") && t.contains("demo@$POD_IP"),
            "{t}"
        );
        let f = name_form(NameKind::Long, "demo", "box", Domain::Maybe);
        assert_eq!(f.level, Warning);
        assert_eq!(
            name_form(NameKind::Long, "demo", "box", Domain::Known).level,
            Ok
        );
        assert_eq!(level(NameKind::Long, "demo@10.0.0.7", "box").0, Ok);
        assert_eq!(level(NameKind::Long, "demo@box.example.com", "box").0, Ok);
        assert_eq!(level(NameKind::Long, "demo", "box.lan").0, Ok);
        let (l, t) = level(NameKind::Long, "app@", "box");
        assert_eq!(l, Error);
        assert!(t.contains("POD_IP"), "{t}");
        assert_eq!(level(NameKind::Short, "bad name", "box").0, Error);
    }

    #[test]
    fn domains() {
        let cases = [
            ("127.0.1.1 vm.example.com vm\n", "", Domain::Known),
            ("127.0.0.1 localhost\n", "domain lan\n", Domain::Known),
            ("", "search a.b\nnameserver 1.1.1.1\n", Domain::Maybe),
            ("# vm.x vm\n", "nameserver 1.1.1.1\n", Domain::None),
        ];
        for (hosts, resolv, want) in cases {
            assert_eq!(domain_of("vm", hosts, resolv), want, "{hosts:?} {resolv:?}");
        }
    }
}
