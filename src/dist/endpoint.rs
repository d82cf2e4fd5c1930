//! How to reach a node whose distribution is set up by flags (the client-side meaning of
//! `-proto_dist`, `-erl_epmd_port`, `ERL_DIST_PORT`, `-kernel inet_dist_use_interface`, …):
//! pure, so the route decision can ask which flags the native client handles.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Family;

/// Where and how to connect, beyond the node name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Endpoint {
    /// The node's fixed port, no EPMD (`-erl_epmd_port P`, relx's `ERL_DIST_PORT=P`).
    pub dist_port: Option<u16>,
    pub family: Family,
    /// The interface the node listens on (`-kernel inet_dist_use_interface {…}`): connect
    /// to the node there instead of to its host's address.
    pub address: Option<IpAddr>,
}

/// Why the flags cannot be served natively, or are wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// Use the hidden VM; the text says why (e.g. TLS distribution).
    Unsupported(String),
    /// A malformed value: a configuration error naming the flag or variable.
    Invalid(String),
}

/// Flags that only change how the node listens or starts EPMD, or that `endpoint`
/// interprets: none of them needs the hidden VM. (`-proto_dist` only for plain TCP.)
pub fn handles(flag: &str, value: &str) -> bool {
    match flag {
        "-proto_dist" => matches!(value, "inet_tcp" | "inet6_tcp"),
        "-erl_epmd_port" | "-start_epmd" | "-dist_listen" => true,
        "-kernel" => matches!(
            value,
            "inet_dist_use_interface" | "inet_dist_listen_min" | "inet_dist_listen_max"
        ),
        _ => false,
    }
}

/// The endpoint for `words` (remote.vm.args and the `ERL_*FLAGS` variables, split) and the
/// value of `ERL_DIST_PORT`.
pub fn endpoint(words: &[String], erl_dist_port: Option<&str>) -> Result<Endpoint, EndpointError> {
    let mut ep = Endpoint::default();
    let port = |what: &str, v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                EndpointError::Invalid(format!("{what} must be a port (1-65535), got {v:?}"))
            })
    };
    let arg = |i: usize| words.get(i + 1).map(String::as_str).unwrap_or("");
    for (i, w) in words.iter().enumerate() {
        match w.as_str() {
            "-proto_dist" => {
                ep.family = match arg(i) {
                    "inet_tcp" => Family::Inet,
                    "inet6_tcp" => Family::Inet6,
                    "inet_tls" | "inet6_tls" => {
                        return Err(EndpointError::Unsupported(
                            "TLS distribution (inet_tls) is not spoken natively".into(),
                        ));
                    }
                    other => {
                        return Err(EndpointError::Unsupported(format!(
                            "distribution module -proto_dist {other}"
                        )));
                    }
                }
            }
            "-erl_epmd_port" => ep.dist_port = Some(port("-erl_epmd_port", arg(i))?),
            "-kernel" if arg(i) == "inet_dist_use_interface" => {
                let value = words.get(i + 2).map(String::as_str).unwrap_or("");
                ep.address = Some(parse_ip_tuple(value).ok_or_else(|| {
                    EndpointError::Invalid(format!(
                        "-kernel inet_dist_use_interface must be an IP tuple, got {value:?}"
                    ))
                })?);
            }
            _ => {}
        }
    }
    if let Some(v) = erl_dist_port.filter(|v| !v.is_empty()) {
        ep.dist_port = Some(port("ERL_DIST_PORT", v)?);
    }
    Ok(ep)
}

/// `{10,1,2,3}` or `{0,0,0,0,0,0,0,1}` (Erlang's address tuples).
fn parse_ip_tuple(text: &str) -> Option<IpAddr> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    match parts.len() {
        4 => {
            let b: Vec<u8> = parts
                .iter()
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
        }
        8 => {
            let s: Vec<u16> = parts
                .iter()
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            Some(IpAddr::V6(Ipv6Addr::new(
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn plain_tcp_setups() {
        assert_eq!(endpoint(&[], None), Ok(Endpoint::default()));
        let ep = endpoint(&words("-proto_dist inet6_tcp"), None).unwrap();
        assert_eq!(ep.family, Family::Inet6);
        let ep = endpoint(&words("-start_epmd false -erl_epmd_port 9100"), None).unwrap();
        assert_eq!(ep.dist_port, Some(9100));
        // relx's ERL_DIST_PORT wins over the flag, as its script appends it later.
        let ep = endpoint(&words("-erl_epmd_port 9100"), Some("9200")).unwrap();
        assert_eq!(ep.dist_port, Some(9200));
        let ep = endpoint(&words("-kernel inet_dist_use_interface {10,1,2,3}"), None).unwrap();
        assert_eq!(ep.address, Some("10.1.2.3".parse().unwrap()));
        let ep = endpoint(
            &words("-kernel inet_dist_use_interface {0,0,0,0,0,0,0,1}"),
            None,
        )
        .unwrap();
        assert_eq!(ep.address, Some("::1".parse().unwrap()));
    }

    #[test]
    fn tls_and_custom_modules_need_the_vm() {
        for flags in ["-proto_dist inet_tls", "-proto_dist my_dist"] {
            assert!(
                matches!(
                    endpoint(&words(flags), None),
                    Err(EndpointError::Unsupported(_))
                ),
                "{flags}"
            );
        }
        assert!(!handles("-proto_dist", "inet_tls"));
        assert!(!handles("-epmd_module", "my_epmd"));
        assert!(!handles("-kernel", "inet_dist_connect_options"));
        assert!(handles("-proto_dist", "inet6_tcp"));
        assert!(handles("-kernel", "inet_dist_use_interface"));
    }

    #[test]
    fn bad_values_are_errors_naming_the_source() {
        for (flags, env, name) in [
            ("-erl_epmd_port x", None, "-erl_epmd_port"),
            ("", Some("70000"), "ERL_DIST_PORT"),
            ("", Some("0"), "ERL_DIST_PORT"),
            ("", Some("99999999999999999999"), "ERL_DIST_PORT"),
            (
                "-kernel inet_dist_use_interface {1,2,3}",
                None,
                "inet_dist_use_interface",
            ),
            (
                "-kernel inet_dist_use_interface {1,2,3,300}",
                None,
                "inet_dist_use_interface",
            ),
        ] {
            match endpoint(&words(flags), env) {
                Err(EndpointError::Invalid(why)) => assert!(why.contains(name), "{why}"),
                other => panic!("{flags} {env:?}: {other:?}"),
            }
        }
    }
}
