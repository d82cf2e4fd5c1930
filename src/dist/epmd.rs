//! EPMD lookup (PORT_PLEASE2) over IPv4, as `erl_epmd` does for an `inet_tcp` node.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Instant;

use super::{DistError, remaining};

const PORT_PLEASE2_REQ: u8 = b'z';
const PORT2_RESP: u8 = b'w';

/// What EPMD tells us about a registered node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub port: u16,
    pub hidden: bool,
    pub highest_version: u16,
    pub lowest_version: u16,
}

/// The IPv4 address of `host`; Erlang resolves with `inet:gethostbyname(Host, inet)`.
pub fn resolve_ipv4(host: &str, port: u16) -> Result<SocketAddr, std::io::Error> {
    (host, port)
        .to_socket_addrs()?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no IPv4 address for {host}"),
            )
        })
}

/// Asks the EPMD on `host:epmd_port` for the distribution port of `alive`.
pub fn port_please(
    host: &str,
    epmd_port: u16,
    alive: &str,
    deadline: Instant,
) -> Result<NodeInfo, DistError> {
    let unreachable = |source| DistError::EpmdUnreachable {
        host: host.to_string(),
        port: epmd_port,
        source,
    };
    let addr = resolve_ipv4(host, epmd_port).map_err(unreachable)?;
    let mut stream =
        TcpStream::connect_timeout(&addr, remaining(deadline, "connect")?).map_err(|e| match e
            .kind()
        {
            std::io::ErrorKind::TimedOut => DistError::Timeout("connect"),
            _ => unreachable(e),
        })?;
    stream
        .write_all(&request(alive))
        .map_err(|e| io_error(e, "epmd: sending request"))?;
    // EPMD closes the socket after one reply, so read to the end.
    let mut reply = Vec::new();
    stream
        .set_read_timeout(Some(remaining(deadline, "connect")?))
        .map_err(|e| io_error(e, "epmd"))?;
    stream
        .take(64 * 1024)
        .read_to_end(&mut reply)
        .map_err(|e| io_error(e, "epmd: reading reply"))?;
    parse_reply(&reply, alive)
}

fn io_error(e: std::io::Error, what: &str) -> DistError {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            DistError::Timeout("connect")
        }
        _ => DistError::Protocol(format!("{what}: {e}")),
    }
}

fn request(alive: &str) -> Vec<u8> {
    let len = (1 + alive.len()) as u16;
    let mut req = len.to_be_bytes().to_vec();
    req.push(PORT_PLEASE2_REQ);
    req.extend_from_slice(alive.as_bytes());
    req
}

/// Parses a PORT2_RESP; a non-zero result means the name is not registered.
pub fn parse_reply(reply: &[u8], alive: &str) -> Result<NodeInfo, DistError> {
    let bad = |why: &str| DistError::Protocol(format!("epmd: {why}"));
    match reply {
        [] => Err(bad("connection closed without a reply")),
        [PORT2_RESP] => Err(bad("truncated reply")),
        [PORT2_RESP, 0, rest @ ..] => {
            // PortNo u16, NodeType u8, Protocol u8, Highest u16, Lowest u16, Nlen u16, Name,
            // Elen u16, Extra.
            if rest.len() < 10 {
                return Err(bad("truncated reply"));
            }
            let u16_at = |i: usize| usize::from(u16::from_be_bytes([rest[i], rest[i + 1]]));
            let name_end = 10 + u16_at(8);
            if rest.len() < name_end + 2 || rest.len() < name_end + 2 + u16_at(name_end) {
                return Err(bad("truncated reply"));
            }
            let info = NodeInfo {
                port: u16_at(0) as u16,
                hidden: rest[2] == 72,
                highest_version: u16_at(4) as u16,
                lowest_version: u16_at(6) as u16,
            };
            if rest[3] != 0 {
                return Err(bad("node does not use TCP/IPv4"));
            }
            if info.highest_version < 6 {
                return Err(bad("node is older than OTP 23 (distribution version < 6)"));
            }
            Ok(info)
        }
        [PORT2_RESP, _, ..] => Err(DistError::NotRegistered {
            node: alive.to_string(),
        }),
        [other, ..] => Err(bad(&format!("unexpected reply tag {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    fn reply(port: u16) -> Vec<u8> {
        let mut r = vec![b'w', 0];
        r.extend_from_slice(&port.to_be_bytes());
        r.extend_from_slice(&[77, 0, 0, 6, 0, 6, 0, 4]);
        r.extend_from_slice(b"demo");
        r.extend_from_slice(&[0, 0]);
        r
    }

    #[test]
    fn request_bytes() {
        assert_eq!(request("demo"), vec![0, 5, b'z', b'd', b'e', b'm', b'o']);
    }

    #[test]
    fn parses_a_registered_node() {
        let info = parse_reply(&reply(37921), "demo").unwrap();
        assert_eq!(info.port, 37921);
        assert!(!info.hidden);
        assert_eq!((info.highest_version, info.lowest_version), (6, 6));
    }

    #[test]
    fn not_registered_and_truncated() {
        assert!(matches!(
            parse_reply(&[b'w', 1], "x"),
            Err(DistError::NotRegistered { .. })
        ));
        let full = reply(1);
        for cut in 0..full.len() {
            assert!(
                matches!(parse_reply(&full[..cut], "x"), Err(DistError::Protocol(_))),
                "cut {cut}"
            );
        }
        assert!(parse_reply(b"HTTP/1.1 400", "x").is_err());
        let mut old = reply(1);
        old[7] = 5; // highest version 5 (bytes 6..8)
        assert!(parse_reply(&old, "x").is_err());
    }

    #[test]
    fn unreachable_epmd() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let err = port_please("127.0.0.1", port, "x", deadline).unwrap_err();
        assert!(matches!(err, DistError::EpmdUnreachable { .. }), "{err}");
    }

    #[test]
    fn silent_fake_epmd_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let keep = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            drop(s);
        });
        let start = Instant::now();
        let err =
            port_please("127.0.0.1", port, "x", start + Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, DistError::Timeout(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
        keep.join().unwrap();
    }

    #[test]
    fn garbage_fake_epmd() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let _ = s.write_all(&[0xde, 0xad, 0xbe, 0xef]);
        });
        let deadline = Instant::now() + Duration::from_secs(2);
        let err = port_please("127.0.0.1", port, "x", deadline).unwrap_err();
        assert!(matches!(err, DistError::Protocol(_)), "{err}");
        t.join().unwrap();
    }
}
