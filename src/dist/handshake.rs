//! Version-6 distribution handshake, initiating side (`dist_util:handshake_we_started/1`).
//!
//! Every handshake message is a 2-byte big-endian length followed by the body.
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{DistError, md5, wire};

/// Silence bound per read during the handshake (the deadline is the real bound).
pub const IDLE: Duration = Duration::from_secs(3600);

// Capability flags (kernel `dist.hrl`).
pub const EXTENDED_REFERENCES: u64 = 0x4;
pub const DIST_MONITOR: u64 = 0x8;
pub const FUN_TAGS: u64 = 0x10;
pub const NEW_FUN_TAGS: u64 = 0x80;
pub const EXTENDED_PIDS_PORTS: u64 = 0x100;
pub const EXPORT_PTR_TAG: u64 = 0x200;
pub const BIT_BINARIES: u64 = 0x400;
pub const NEW_FLOATS: u64 = 0x800;
pub const UNICODE_IO: u64 = 0x1000;
pub const SMALL_ATOM_TAGS: u64 = 0x4000;
pub const UTF8_ATOMS: u64 = 0x10000;
pub const MAP_TAG: u64 = 0x20000;
pub const BIG_CREATION: u64 = 0x40000;
pub const HANDSHAKE_23: u64 = 0x100_0000;
pub const UNLINK_ID: u64 = 0x200_0000;
pub const MANDATORY_25_DIGEST: u64 = 0x400_0000;
pub const V4_NC: u64 = 1 << 34;

/// What we announce. No PUBLISHED, so the node treats us as hidden; UNICODE_IO so that
/// output is not downgraded to latin1; no atom cache and no fragments, so frames are
/// plain pass-through messages.
pub const OUR_FLAGS: u64 = EXTENDED_REFERENCES
    | DIST_MONITOR
    | FUN_TAGS
    | NEW_FUN_TAGS
    | EXTENDED_PIDS_PORTS
    | EXPORT_PTR_TAG
    | BIT_BINARIES
    | NEW_FLOATS
    | UNICODE_IO
    | SMALL_ATOM_TAGS
    | UTF8_ATOMS
    | MAP_TAG
    | BIG_CREATION
    | HANDSHAKE_23
    | UNLINK_ID
    | MANDATORY_25_DIGEST
    | V4_NC;

/// DFLAG_NAME_ME: "name me" (OTP 23+ dynamic node names, as `erl_call -R`). We send only
/// our host; the node answers status `named:` with a name from its pool, which it reuses
/// after we disconnect, so repeated probes do not grow its atom table.
pub const NAME_ME: u64 = 1 << 33;

/// The result of a successful handshake.
#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    pub flags: u64,
    pub creation: u32,
}

/// How we name ourselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// Our full `alive@host` name and a creation of our choosing.
    Static { name: String, creation: u32 },
    /// Let the node name us (`NAME_ME`); `host` is our host part.
    Dynamic { host: String },
}

/// Who we are on this connection: our node name and creation (for pids and references).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub creation: u32,
}

/// `md5(Cookie ++ integer_to_list(Challenge))`, over the bytes the node hashes for the
/// cookie (see `cookie.rs`).
pub fn digest(cookie: &[u8], challenge: u32) -> [u8; 16] {
    let mut input = cookie.to_vec();
    input.extend_from_slice(challenge.to_string().as_bytes());
    md5::digest(&input)
}

/// The whole handshake on a connected socket, within `deadline` in total (`Conn` reads the
/// ack through its own buffered reader instead, see `Conn::settle`).
#[cfg(test)]
pub fn run(
    stream: &mut TcpStream,
    target: &str,
    naming: &Naming,
    cookie: &[u8],
    challenge: u32,
    deadline: Instant,
) -> Result<(Peer, Identity), DistError> {
    let mut reader = std::io::BufReader::new(wire::Timed::new(&*stream, Some(deadline), IDLE));
    let (peer, me, ack) = run_to_reply(
        stream,
        &mut reader,
        target,
        naming,
        cookie,
        challenge,
        deadline,
    )?;
    let body = read_message(&mut reader, target);
    check_ack(body, &ack, target)?;
    Ok((peer, me))
}

/// The handshake up to and including our challenge reply: the node has accepted our name
/// and we have answered its challenge. Returns the digest its challenge ack must carry —
/// the node's proof that it knows the cookie, still to be read (see `check_ack`).
///
/// Writes go to `stream`; the node's messages are read from `reader` (the caller's,
/// buffered, bounded by `deadline`: the status and the challenge usually arrive in one
/// segment, and what follows them stays in the buffer for the caller).
pub fn run_to_reply(
    stream: &TcpStream,
    reader: &mut impl Read,
    target: &str,
    naming: &Naming,
    cookie: &[u8],
    challenge: u32,
    deadline: Instant,
) -> Result<(Peer, Identity, [u8; 16]), DistError> {
    let mut hs = Handshake {
        stream,
        reader,
        target,
        deadline,
    };
    hs.send(&send_name(naming))?;
    let me = hs.recv_status(naming)?;
    let peer = hs.recv_challenge()?;
    let mut reply = vec![b'r'];
    reply.extend_from_slice(&challenge.to_be_bytes());
    reply.extend_from_slice(&digest(cookie, peer.1));
    hs.send(&reply)?;
    Ok((peer.0, me, digest(cookie, challenge)))
}

/// The node's challenge ack (`body`, the handshake message read after our reply) checked
/// against `expected`. The node closes the socket instead when our digest was wrong.
pub fn check_ack(
    body: Result<Vec<u8>, DistError>,
    expected: &[u8; 16],
    target: &str,
) -> Result<(), DistError> {
    let rejected = |status: String| DistError::HandshakeRejected {
        node: target.to_string(),
        status,
    };
    let body = match body {
        Ok(body) => body,
        Err(DistError::HandshakeRejected { .. }) => {
            return Err(DistError::CookieMismatch {
                node: target.to_string(),
            });
        }
        Err(e) => return Err(e),
    };
    match body.split_first() {
        Some((&b'a', digest)) if digest == expected => Ok(()),
        Some((&b'a', _)) => Err(rejected(
            "the node's digest does not match our cookie".into(),
        )),
        _ => Err(rejected(format!(
            "expected challenge ack, got {}",
            show(&body)
        ))),
    }
}

fn send_name(naming: &Naming) -> Vec<u8> {
    let (flags, creation, name) = match naming {
        Naming::Static { name, creation } => (OUR_FLAGS, *creation, name.as_str()),
        Naming::Dynamic { host } => (OUR_FLAGS | NAME_ME, 0, host.as_str()),
    };
    let name = &name.as_bytes()[..name.len().min(usize::from(u16::MAX) - 15)];
    let mut msg = vec![b'N'];
    msg.extend_from_slice(&flags.to_be_bytes());
    msg.extend_from_slice(&creation.to_be_bytes());
    msg.extend_from_slice(&(name.len() as u16).to_be_bytes());
    msg.extend_from_slice(name);
    msg
}

struct Handshake<'a, R: Read> {
    stream: &'a TcpStream,
    reader: &'a mut R,
    target: &'a str,
    deadline: Instant,
}

impl<R: Read> Handshake<'_, R> {
    fn rejected(&self, status: impl Into<String>) -> DistError {
        DistError::HandshakeRejected {
            node: self.target.to_string(),
            status: status.into(),
        }
    }

    fn send(&mut self, body: &[u8]) -> Result<(), DistError> {
        let len = u16::try_from(body.len()).map_err(|_| self.rejected("message too long"))?;
        let mut frame = len.to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        wire::write_all_by(self.stream, &frame, Some(self.deadline), IDLE)
            .map_err(|e| io_error(e, self.target))
    }

    /// One message; the reader bounds every read by the time left (a trickling node
    /// cannot stretch the handshake).
    fn recv(&mut self) -> Result<Vec<u8>, DistError> {
        read_message(self.reader, self.target)
    }

    /// Our identity after the status message.
    fn recv_status(&mut self, naming: &Naming) -> Result<Identity, DistError> {
        let body = self.recv()?;
        let Some((&b's', status)) = body.split_first() else {
            return Err(self.rejected(format!("expected status, got {}", show(&body))));
        };
        match (status, naming) {
            (b"ok" | b"ok_simultaneous", Naming::Static { name, creation }) => Ok(Identity {
                name: name.clone(),
                creation: *creation,
            }),
            // A stale connection under our (random) name: tell the node to replace it.
            (b"alive", Naming::Static { name, creation }) => {
                self.send(b"strue")?;
                Ok(Identity {
                    name: name.clone(),
                    creation: *creation,
                })
            }
            (named, Naming::Dynamic { host }) if named.starts_with(b"named:") => {
                parse_named(&named[6..], host)
                    .ok_or_else(|| self.rejected(format!("bad assigned name {}", show(named))))
            }
            (b"ok" | b"ok_simultaneous" | b"alive", Naming::Dynamic { .. }) => {
                Err(self.rejected("the node does not support dynamic node names"))
            }
            _ => Err(self.rejected(String::from_utf8_lossy(status).into_owned())),
        }
    }

    /// Returns the peer and its challenge.
    fn recv_challenge(&mut self) -> Result<(Peer, u32), DistError> {
        let body = self.recv()?;
        parse_challenge(&body).ok_or_else(|| {
            self.rejected(format!(
                "expected a version-6 challenge, got {}",
                show(&body)
            ))
        })
    }
}

/// One handshake message from `r` (whose reads the caller bounds): a u16 length, so at
/// most 64 KiB, then the body.
pub fn read_message(r: &mut impl Read, target: &str) -> Result<Vec<u8>, DistError> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len).map_err(|e| io_error(e, target))?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    r.read_exact(&mut body).map_err(|e| io_error(e, target))?;
    Ok(body)
}

fn io_error(e: std::io::Error, target: &str) -> DistError {
    if wire::is_deadline(&e) {
        return DistError::Timeout("connect");
    }
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => DistError::Timeout("connect"),
        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset => DistError::HandshakeRejected {
            node: target.to_string(),
            status: "connection closed during handshake".into(),
        },
        _ => DistError::Connect {
            node: target.to_string(),
            source: e,
        },
    }
}

/// `named:` Nlen u16, Name, Creation u32 — the name must be `X@our host`.
pub(super) fn parse_named(rest: &[u8], host: &str) -> Option<Identity> {
    let nlen = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let name = std::str::from_utf8(rest.get(2..2 + nlen)?).ok()?;
    let creation = u32::from_be_bytes(rest.get(2 + nlen..6 + nlen)?.try_into().ok()?);
    let (alive, their_host) = name.split_once('@')?;
    (!alive.is_empty() && !alive.contains('@') && their_host == host && nlen <= 255).then(|| {
        Identity {
            name: name.to_string(),
            creation,
        }
    })
}

/// 'N' Flags u64, Challenge u32, Creation u32, Nlen u16, Name.
pub(super) fn parse_challenge(body: &[u8]) -> Option<(Peer, u32)> {
    let (&tag, rest) = body.split_first()?;
    if tag != b'N' || rest.len() < 18 {
        return None;
    }
    let flags = u64::from_be_bytes(rest[0..8].try_into().ok()?);
    let challenge = u32::from_be_bytes(rest[8..12].try_into().ok()?);
    let creation = u32::from_be_bytes(rest[12..16].try_into().ok()?);
    let nlen = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
    let name = rest.get(18..18 + nlen)?;
    let peer = Peer {
        name: String::from_utf8_lossy(name).into_owned(),
        flags,
        creation,
    };
    Some((peer, challenge))
}

/// A short printable rendering of unexpected bytes for error messages.
fn show(bytes: &[u8]) -> String {
    let head: String = bytes
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!("[{head}{}]", if bytes.len() > 16 { " …" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn flag_value_matches_reference() {
        assert_eq!(OUR_FLAGS, 0x4_0707_5F9C);
    }

    #[test]
    fn digest_known_values() {
        // md5("secret" ++ "12345"), md5("abc" ++ "0"), computed independently with md5sum.
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(digest(b"secret", 12345)),
            "d4047d3e56e6d6d63f7d16b85cd2fa88"
        );
        assert_eq!(hex(digest(b"abc", 0)), "577571be4de9dcce85a041ba0410f29f");
    }

    #[test]
    fn challenge_parsing() {
        let mut body = vec![b'N'];
        body.extend_from_slice(&OUR_FLAGS.to_be_bytes());
        body.extend_from_slice(&7u32.to_be_bytes());
        body.extend_from_slice(&9u32.to_be_bytes());
        body.extend_from_slice(&[0, 4]);
        body.extend_from_slice(b"a@vm");
        let (peer, ch) = parse_challenge(&body).unwrap();
        assert_eq!((peer.name.as_str(), peer.creation, ch), ("a@vm", 9, 7));
        for cut in 0..body.len() {
            assert!(parse_challenge(&body[..cut]).is_none());
        }
        body[0] = b'n';
        assert!(parse_challenge(&body).is_none());
    }

    /// A fake node that runs `script` on the accepted socket.
    fn fake_node(
        script: impl FnOnce(TcpStream) + Send + 'static,
    ) -> (u16, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || script(l.accept().unwrap().0));
        (port, t)
    }

    fn client(port: u16, cookie: &str, timeout_ms: u64) -> Result<Peer, DistError> {
        let naming = Naming::Static {
            name: "me@vm".into(),
            creation: 5,
        };
        client_as(port, cookie, timeout_ms, &naming).map(|(peer, _)| peer)
    }

    fn client_as(
        port: u16,
        cookie: &str,
        timeout_ms: u64,
        naming: &Naming,
    ) -> Result<(Peer, Identity), DistError> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let deadline = Instant::now() + Duration::from_millis(timeout_ms);
        run(&mut s, "t@vm", naming, cookie.as_bytes(), 42, deadline)
    }

    fn read_packet(s: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut body = vec![0; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut body).unwrap();
        body
    }

    fn write_packet(s: &mut TcpStream, body: &[u8]) {
        let mut f = (body.len() as u16).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        s.write_all(&f).unwrap();
    }

    fn challenge(value: u32) -> Vec<u8> {
        let mut body = vec![b'N'];
        body.extend_from_slice(&OUR_FLAGS.to_be_bytes());
        body.extend_from_slice(&value.to_be_bytes());
        body.extend_from_slice(&6u32.to_be_bytes());
        body.extend_from_slice(&[0, 4]);
        body.extend_from_slice(b"t@vm");
        body
    }

    #[test]
    fn full_handshake_against_fake_node() {
        let (port, t) = fake_node(|mut s| {
            let name = read_packet(&mut s);
            assert_eq!(name[0], b'N');
            assert!(name.ends_with(b"me@vm"));
            write_packet(&mut s, b"sok");
            write_packet(&mut s, &challenge(1000));
            let reply = read_packet(&mut s);
            assert_eq!(&reply[1..5], &42u32.to_be_bytes());
            assert_eq!(&reply[5..], &digest(b"secret", 1000));
            let mut ack = vec![b'a'];
            ack.extend_from_slice(&digest(b"secret", 42));
            write_packet(&mut s, &ack);
        });
        let peer = client(port, "secret", 2000).unwrap();
        assert_eq!(peer.name, "t@vm");
        t.join().unwrap();
    }

    #[test]
    fn closed_after_reply_means_wrong_cookie() {
        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            write_packet(&mut s, b"sok");
            write_packet(&mut s, &challenge(1));
            read_packet(&mut s);
        });
        let err = client(port, "wrong", 2000).unwrap_err();
        assert!(matches!(err, DistError::CookieMismatch { .. }), "{err}");
        t.join().unwrap();
    }

    #[test]
    fn rejection_status_and_garbage() {
        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            write_packet(&mut s, b"snot_allowed");
        });
        let err = client(port, "c", 2000).unwrap_err();
        assert!(
            matches!(&err, DistError::HandshakeRejected { status, .. } if status == "not_allowed"),
            "{err}"
        );
        t.join().unwrap();

        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            let _ = s.write_all(b"\x00\x03xyz\xff\xff");
        });
        assert!(client(port, "c", 2000).is_err());
        t.join().unwrap();
    }

    #[test]
    fn silent_node_times_out() {
        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            std::thread::sleep(Duration::from_millis(800));
        });
        let start = Instant::now();
        let err = client(port, "c", 200).unwrap_err();
        assert!(matches!(err, DistError::Timeout("connect")), "{err}");
        assert!(start.elapsed() < Duration::from_millis(700));
        t.join().unwrap();
    }

    fn named(name: &str, creation: u32) -> Vec<u8> {
        let mut body = b"snamed:".to_vec();
        body.extend_from_slice(&(name.len() as u16).to_be_bytes());
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&creation.to_be_bytes());
        body
    }

    #[test]
    fn dynamic_name_is_assigned_by_the_node() {
        let (port, t) = fake_node(|mut s| {
            let name = read_packet(&mut s);
            let flags = u64::from_be_bytes(name[1..9].try_into().unwrap());
            assert_ne!(flags & NAME_ME, 0);
            assert_eq!(
                &name[9..13],
                &[0, 0, 0, 0],
                "creation 0 when asking for a name"
            );
            assert_eq!(&name[15..], b"vm", "only our host");
            write_packet(&mut s, &named("3KZ9Q@vm", 77));
            write_packet(&mut s, &challenge(5));
            read_packet(&mut s);
            let mut ack = vec![b'a'];
            ack.extend_from_slice(&digest(b"c", 42));
            write_packet(&mut s, &ack);
        });
        let naming = Naming::Dynamic { host: "vm".into() };
        let (_, me) = client_as(port, "c", 2000, &naming).unwrap();
        assert_eq!(
            me,
            Identity {
                name: "3KZ9Q@vm".into(),
                creation: 77
            }
        );
        t.join().unwrap();
    }

    #[test]
    fn bad_or_missing_assigned_names_are_rejected() {
        assert!(parse_named(&named("x@vm", 1)[7..], "vm").is_some());
        assert!(parse_named(&named("x@other", 1)[7..], "vm").is_none());
        assert!(parse_named(&named("@vm", 1)[7..], "vm").is_none());
        let full = named("x@vm", 1);
        for cut in 7..full.len() {
            assert!(parse_named(&full[7..cut], "vm").is_none(), "cut {cut}");
        }
        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            write_packet(&mut s, b"sok");
        });
        let naming = Naming::Dynamic { host: "vm".into() };
        let err = client_as(port, "c", 2000, &naming).unwrap_err();
        assert!(matches!(err, DistError::HandshakeRejected { .. }), "{err}");
        t.join().unwrap();
    }

    #[test]
    fn trickled_handshake_is_bounded_by_the_deadline() {
        // One byte every 100 ms: each read would succeed, the total must not.
        let (port, t) = fake_node(|mut s| {
            read_packet(&mut s);
            let mut frame = vec![0, 3];
            frame.extend_from_slice(b"sok");
            frame.extend_from_slice(&[0, 22]);
            frame.extend_from_slice(&challenge(1));
            for b in frame {
                if s.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let start = Instant::now();
        let err = client(port, "c", 400).unwrap_err();
        assert!(matches!(err, DistError::Timeout("connect")), "{err}");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
        t.join().unwrap();
    }

    #[test]
    fn non_ascii_cookies_hash_the_given_bytes() {
        // md5 of the Latin-1 bytes of "ünï" ++ "1", as erlang:md5([atom_to_list(C)|"1"])
        // returned on OTP 25 for `-setcookie ünï` in a UTF-8 locale.
        let want = [
            99, 211, 58, 73, 112, 114, 77, 128, 35, 69, 75, 234, 50, 192, 216, 63,
        ];
        assert_eq!(digest(&[252, 110, 239], 1), want);
        assert_ne!(digest("ünï".as_bytes(), 1), want);
    }
}
