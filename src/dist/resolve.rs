//! Resolving a node's host the way the VM does (`inet:gethostbyname/2` with the default
//! `native` lookup, OTP 25 `inet.erl`): an IP literal is itself; otherwise the system
//! resolver (getaddrinfo: /etc/hosts, DNS, …); and when that fails, the VM's final fallback
//! `gethostbyname_self/2` answers the machine's own host name (short, or short.domain,
//! case-insensitively) with the loopback address — so a node on this machine is reachable
//! in a root without /etc/hosts. `localhost` gets the same fallback (RFC 6761).
//!
//! The system lookup can hang (DNS), so it runs on a helper thread bounded by the deadline —
//! unless /etc/hosts, read first as the system reads it, already names the host.
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

/// Address family of the distribution (`inet_tcp` or `-proto_dist inet6_tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Inet,
    Inet6,
}

impl Family {
    fn matches(self, ip: &IpAddr) -> bool {
        matches!(
            (self, ip),
            (Family::Inet, IpAddr::V4(_)) | (Family::Inet6, IpAddr::V6(_))
        )
    }

    fn loopback(self) -> IpAddr {
        match self {
            Family::Inet => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::Inet6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }
}

/// Why a host did not resolve.
#[derive(Debug)]
pub(crate) enum ResolveError {
    NotFound,
    Timeout,
}

/// The VM's rule with the system lookup and the machine's host name injected (pure).
pub(crate) fn resolve_with(
    host: &str,
    family: Family,
    own_hostname: &str,
    system: impl FnOnce(&str) -> Result<Vec<IpAddr>, ResolveError>,
) -> Result<IpAddr, ResolveError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return if family.matches(&ip) {
            Ok(ip)
        } else {
            Err(ResolveError::NotFound)
        };
    }
    match system(bare) {
        Ok(addrs) => {
            if let Some(ip) = addrs.into_iter().find(|ip| family.matches(ip)) {
                return Ok(ip);
            }
        }
        Err(ResolveError::Timeout) => return Err(ResolveError::Timeout),
        Err(ResolveError::NotFound) => {}
    }
    let name = bare.to_ascii_lowercase();
    let own = own_hostname.to_ascii_lowercase();
    let short = own.split('.').next().unwrap_or("");
    let is_self = !name.is_empty() && (name == own || name == short);
    if is_self || name == "localhost" {
        Ok(family.loopback())
    } else {
        Err(ResolveError::NotFound)
    }
}

/// `resolve_with` with the system lookup (bounded by `deadline`) and gethostname(2).
///
/// The system lookup reads /etc/hosts first and asks DNS only for a name the file does not
/// have (musl's getaddrinfo, and glibc's with the usual `hosts: files dns`). The file is
/// read here, on this thread: only a name it lacks needs the helper thread that bounds DNS.
pub(crate) fn resolve(
    host: &str,
    family: Family,
    deadline: Instant,
) -> Result<IpAddr, ResolveError> {
    resolve_with(host, family, own_hostname().unwrap_or(""), |name| {
        let listed = std::fs::read("/etc/hosts")
            .map(|text| in_hosts_file(&text, name))
            .unwrap_or_default();
        if listed.is_empty() {
            system_lookup(name, deadline)
        } else {
            Ok(listed)
        }
    })
}

/// The addresses `/etc/hosts` (`text`) lists for `name`, in file order: lines of an address
/// and names, `#` starting a comment; names compare case-insensitively (as DNS names do).
fn in_hosts_file(text: &[u8], name: &str) -> Vec<IpAddr> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('#').next()?.split_ascii_whitespace();
            let ip = fields.next()?.parse::<IpAddr>().ok()?;
            fields.any(|n| n.eq_ignore_ascii_case(name)).then_some(ip)
        })
        .collect()
}

/// getaddrinfo on a helper thread, abandoned (it finishes on its own) at the deadline.
fn system_lookup(name: &str, deadline: Instant) -> Result<Vec<IpAddr>, ResolveError> {
    lookup_by(name, deadline, |name| {
        (name, 0)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
    })
}

/// Runs `lookup` on a helper thread and waits for it until `deadline` at most.
fn lookup_by(
    name: &str,
    deadline: Instant,
    lookup: fn(&str) -> io::Result<Vec<IpAddr>>,
) -> Result<Vec<IpAddr>, ResolveError> {
    let (tx, rx) = mpsc::channel();
    let owned = name.to_string();
    let spawned = std::thread::Builder::new()
        .name("dist-resolve".into())
        .spawn(move || {
            let _ = tx.send(lookup(&owned));
        });
    if spawned.is_err() {
        return Err(ResolveError::NotFound);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(_)) => Err(ResolveError::NotFound),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ResolveError::Timeout),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ResolveError::NotFound),
    }
}

/// The machine's host name as gethostname(2) reports it (None if it cannot), asked once
/// per process.
pub(crate) fn own_hostname() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into the valid buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        (rc == 0).then(|| String::from_utf8_lossy(&buf[..end]).into_owned())
    })
    .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hosts source with no entries: what a root without /etc/hosts (and no DNS) gives.
    fn empty(_: &str) -> Result<Vec<IpAddr>, ResolveError> {
        Err(ResolveError::NotFound)
    }

    fn hosts(
        entries: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<Vec<IpAddr>, ResolveError> {
        move |name| {
            let found: Vec<IpAddr> = entries
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, ip)| ip.parse().unwrap())
                .collect();
            if found.is_empty() {
                Err(ResolveError::NotFound)
            } else {
                Ok(found)
            }
        }
    }

    fn ok(r: Result<IpAddr, ResolveError>) -> String {
        r.map(|ip| ip.to_string())
            .unwrap_or_else(|e| format!("{e:?}"))
    }

    #[test]
    fn own_name_and_localhost_resolve_without_hosts() {
        assert_eq!(
            ok(resolve_with("vm", Family::Inet, "vm", empty)),
            "127.0.0.1"
        );
        assert_eq!(
            ok(resolve_with("VM", Family::Inet, "vm.example.com", empty)),
            "127.0.0.1"
        );
        assert_eq!(
            ok(resolve_with(
                "vm.example.com",
                Family::Inet,
                "vm.example.com",
                empty
            )),
            "127.0.0.1"
        );
        assert_eq!(
            ok(resolve_with("localhost", Family::Inet, "vm", empty)),
            "127.0.0.1"
        );
        assert_eq!(ok(resolve_with("vm", Family::Inet6, "vm", empty)), "::1");
        assert_eq!(
            ok(resolve_with("other", Family::Inet, "vm", empty)),
            "NotFound"
        );
        assert_eq!(ok(resolve_with("", Family::Inet, "", empty)), "NotFound");
    }

    #[test]
    fn the_system_answer_wins_and_family_filters() {
        let h = hosts(&[("vm", "10.1.2.3"), ("db", "fd00::5"), ("db", "10.9.9.9")]);
        assert_eq!(ok(resolve_with("vm", Family::Inet, "vm", &h)), "10.1.2.3");
        assert_eq!(ok(resolve_with("db", Family::Inet, "vm", &h)), "10.9.9.9");
        assert_eq!(ok(resolve_with("db", Family::Inet6, "vm", &h)), "fd00::5");
        // No AAAA for vm in the source: the self fallback gives ::1.
        assert_eq!(ok(resolve_with("vm", Family::Inet6, "vm", &h)), "::1");
    }

    #[test]
    fn literals_need_no_lookup() {
        let never = |_: &str| -> Result<Vec<IpAddr>, ResolveError> { panic!("looked up") };
        assert_eq!(
            ok(resolve_with("10.1.2.3", Family::Inet, "vm", never)),
            "10.1.2.3"
        );
        assert_eq!(ok(resolve_with("::1", Family::Inet6, "vm", never)), "::1");
        assert_eq!(ok(resolve_with("[::1]", Family::Inet6, "vm", never)), "::1");
        assert_eq!(
            ok(resolve_with("::1", Family::Inet, "vm", never)),
            "NotFound"
        );
    }

    #[test]
    fn the_hosts_file_is_read_as_the_system_reads_it() {
        let text = b"127.0.0.1 localhost\n# 10.0.0.9 vm\n10.1.2.3\tVM vm.example.com # app\n\
                     fd00::5 db\nbogus vm\n10.9.9.9 db other\n\n";
        let ips = |name| {
            in_hosts_file(text, name)
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(ips("vm"), ["10.1.2.3"]);
        assert_eq!(ips("Vm.Example.COM"), ["10.1.2.3"]);
        assert_eq!(ips("db"), ["fd00::5", "10.9.9.9"]);
        assert_eq!(ips("app"), Vec::<String>::new());
        assert_eq!(ips("vm.example"), Vec::<String>::new());
        assert_eq!(
            in_hosts_file(b"\xff\xfe 10.0.0.1\n", "x"),
            Vec::<IpAddr>::new()
        );
    }

    #[test]
    fn a_hanging_lookup_is_a_timeout() {
        let slow = |_: &str| Err(ResolveError::Timeout);
        assert_eq!(ok(resolve_with("vm", Family::Inet, "vm", slow)), "Timeout");
    }

    #[test]
    fn a_hanging_system_lookup_is_abandoned_at_the_deadline() {
        fn hangs(_: &str) -> io::Result<Vec<IpAddr>> {
            std::thread::sleep(std::time::Duration::from_secs(3));
            Ok(Vec::new())
        }
        fn answers(_: &str) -> io::Result<Vec<IpAddr>> {
            Ok(vec![IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))])
        }
        let start = Instant::now();
        let deadline = start + std::time::Duration::from_millis(200);
        assert!(matches!(
            lookup_by("dns.hangs", deadline, hangs),
            Err(ResolveError::Timeout)
        ));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        let far = Instant::now() + std::time::Duration::from_secs(60);
        assert_eq!(lookup_by("h", far, answers).unwrap().len(), 1);
        let past = Instant::now();
        assert!(matches!(
            lookup_by("h", past, hangs),
            Err(ResolveError::Timeout)
        ));
    }
}
