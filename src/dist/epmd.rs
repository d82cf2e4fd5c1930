//! EPMD lookup (PORT_PLEASE2) over IPv4, as `erl_epmd` does for an `inet_tcp` node.
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::resolve::{self, Family};
use super::{DistError, remaining, wire};

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

/// The IPv4 address of `host`, resolved as the VM resolves it (see `resolve.rs`).
pub fn resolve_ipv4(host: &str, port: u16) -> Result<SocketAddr, std::io::Error> {
    let deadline = Instant::now() + std::time::Duration::from_secs(7);
    resolve::resolve(host, Family::Inet, deadline)
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no IPv4 address for {host}"),
            )
        })
}

/// Largest EPMD reply we read: a PORT2_RESP is at most ~64 KiB (two u16-sized fields).
const MAX_REPLY: usize = 2 * 64 * 1024 + 16;

/// Asks the EPMD at `addr` (`host` names it in errors) for the distribution port of
/// `alive`. Connect, request and reply all fit in `deadline`: every read is bounded by the
/// time left, so an EPMD that trickles its reply cannot stretch it.
pub fn port_please(
    addr: SocketAddr,
    host: &str,
    alive: &str,
    deadline: Instant,
) -> Result<NodeInfo, DistError> {
    let unreachable = |source| DistError::EpmdUnreachable {
        host: host.to_string(),
        port: addr.port(),
        source,
    };
    let stream =
        TcpStream::connect_timeout(&addr, remaining(deadline, "connect")?).map_err(|e| match e
            .kind()
        {
            std::io::ErrorKind::TimedOut => DistError::Timeout("connect"),
            _ => unreachable(e),
        })?;
    let req = request(alive).ok_or_else(|| DistError::NotRegistered {
        node: alive.to_string(),
    })?;
    wire::write_all_by(&stream, &req, Some(deadline), IDLE)
        .map_err(|e| io_error(e, "epmd: sending request"))?;
    // EPMD closes the socket after one reply: read to the end, or until the reply is whole.
    let mut reader = wire::Timed::new(&stream, Some(deadline), IDLE);
    let reply = wire::read_to_end_limited(&mut reader, MAX_REPLY, reply_is_whole)
        .map_err(|e| io_error(e, "epmd: reading reply"))?;
    parse_reply(&reply, alive)
}

/// Silence bound per read (the deadline is the real bound).
const IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

fn io_error(e: std::io::Error, what: &str) -> DistError {
    if wire::is_deadline(&e) {
        return DistError::Timeout("connect");
    }
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            DistError::Timeout("connect")
        }
        _ => DistError::Protocol(format!("{what}: {e}")),
    }
}

/// None for a name too long to be registered (EPMD's names are at most 255 bytes).
fn request(alive: &str) -> Option<Vec<u8>> {
    if alive.is_empty() || alive.len() > 255 {
        return None;
    }
    let len = (1 + alive.len()) as u16;
    let mut req = len.to_be_bytes().to_vec();
    req.push(PORT_PLEASE2_REQ);
    req.extend_from_slice(alive.as_bytes());
    Some(req)
}

/// Whether `reply` holds a whole PORT2_RESP (a malformed one is left to `parse_reply`,
/// after EPMD closes the connection).
fn reply_is_whole(reply: &[u8]) -> bool {
    let u16_at = |i: usize| {
        reply
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    match reply {
        // 'w', 0, PortNo u16, NodeType, Protocol, Highest u16, Lowest u16, Nlen u16 (at 10),
        // Name, Elen u16, Extra.
        [PORT2_RESP, 0, ..] => u16_at(10)
            .and_then(|nlen| Some(12 + nlen + 2 + u16_at(12 + nlen)?))
            .is_some_and(|whole| reply.len() >= whole),
        [PORT2_RESP, _] => true,
        _ => false,
    }
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
            // erl_epmd registers protocol 0 for inet_tcp and inet6_tcp alike.
            if rest[3] != 0 {
                return Err(bad("node does not use TCP"));
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
    use std::io::Write;
    use std::net::TcpListener;
    use std::time::Duration;

    fn local(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn reply(port: u16) -> Vec<u8> {
        let mut r = vec![b'w', 0];
        r.extend_from_slice(&port.to_be_bytes());
        r.extend_from_slice(&[77, 0, 0, 6, 0, 6, 0, 4]);
        r.extend_from_slice(b"demo");
        r.extend_from_slice(&[0, 0]);
        r
    }

    #[test]
    fn a_whole_reply_needs_no_wait_for_the_close() {
        let whole = reply(4369);
        assert!(reply_is_whole(&whole));
        for cut in 0..whole.len() {
            assert!(!reply_is_whole(&whole[..cut]), "{cut}");
        }
        assert!(reply_is_whole(&[b'w', 1]));
        assert!(!reply_is_whole(b"HTTP/1.1"));
    }

    #[test]
    fn request_bytes() {
        assert_eq!(
            request("demo").unwrap(),
            vec![0, 5, b'z', b'd', b'e', b'm', b'o']
        );
        assert!(request("").is_none());
        assert!(request(&"x".repeat(256)).is_none());
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
        let err = port_please(local(port), "127.0.0.1", "x", deadline).unwrap_err();
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
        let err = port_please(
            local(port),
            "127.0.0.1",
            "x",
            start + Duration::from_millis(300),
        )
        .unwrap_err();
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
        let err = port_please(local(port), "127.0.0.1", "x", deadline).unwrap_err();
        assert!(matches!(err, DistError::Protocol(_)), "{err}");
        t.join().unwrap();
    }
}
