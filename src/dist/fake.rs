//! Test support: a fake EPMD and a fake node speaking just enough protocol to exercise the
//! client's error paths without a real VM — politely, or as a hostile peer would (trickle,
//! stall, garbage, close mid-message, absurd lengths).
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ClientConfig;
use super::etf::{self, Term};
use super::handshake::{NAME_ME, OUR_FLAGS, digest};

pub const COOKIE: &str = "fakecookie";
pub const NODE: &str = "fake@127.0.0.1";
/// The name the fake node gives a client that asks to be named.
pub const ASSIGNED: &str = "B6X3@127.0.0.1";

/// How a fake peer sends what it has to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manner {
    /// All at once.
    Polite,
    /// One byte per period.
    Trickle(Duration),
    /// Reads the request, then says nothing until the client hangs up.
    Stall,
    /// Answers with bytes that are not the protocol.
    Garbage,
    /// Closes the connection half-way through its answer.
    CloseMidway,
}

/// Starts EPMD + node threads; after a successful handshake `behaviour` gets the socket.
pub fn start(behaviour: impl FnOnce(TcpStream) + Send + 'static) -> (ClientConfig, JoinHandle<()>) {
    start_with(Manner::Polite, Manner::Polite, behaviour)
}

/// Like `start`, with the manner of the EPMD's reply and of the node's handshake.
pub fn start_with(
    epmd_manner: Manner,
    handshake_manner: Manner,
    behaviour: impl FnOnce(TcpStream) + Send + 'static,
) -> (ClientConfig, JoinHandle<()>) {
    start_node(epmd_manner, move |mut s| {
        if let Some(ack) = accept_to_reply(&mut s, handshake_manner)
            && s.write_all(&ack).is_ok()
        {
            behaviour(s);
        }
    })
}

/// Like `start`, but the node has not sent its challenge ack yet: `behaviour` gets the
/// socket and the ack's bytes, to send when it likes (or never, or altered).
pub fn start_holding_ack(
    behaviour: impl FnOnce(TcpStream, Vec<u8>) + Send + 'static,
) -> (ClientConfig, JoinHandle<()>) {
    start_node(Manner::Polite, move |mut s| {
        if let Some(ack) = accept_to_reply(&mut s, Manner::Polite) {
            behaviour(s, ack);
        }
    })
}

/// EPMD + node threads; `node` gets the accepted connection.
fn start_node(
    epmd_manner: Manner,
    node_side: impl FnOnce(TcpStream) + Send + 'static,
) -> (ClientConfig, JoinHandle<()>) {
    let epmd = TcpListener::bind("127.0.0.1:0").unwrap();
    let node = TcpListener::bind("127.0.0.1:0").unwrap();
    let epmd_port = epmd.local_addr().unwrap().port();
    let node_port = node.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if !serve_epmd(epmd, node_port, epmd_manner) {
            return;
        }
        node_side(node.accept().unwrap().0);
    });
    let cfg = ClientConfig {
        epmd_port,
        connect_timeout: Duration::from_secs(3),
        call_timeout: Some(Duration::from_millis(500)),
        ..ClientConfig::new(NODE, "me@127.0.0.1", COOKIE)
    };
    (cfg, handle)
}

/// Writes `bytes` in `manner`; false when the client has gone or the manner ends the talk.
pub fn say(s: &mut TcpStream, bytes: &[u8], manner: Manner) -> bool {
    match manner {
        Manner::Polite => s.write_all(bytes).is_ok(),
        Manner::Trickle(period) => {
            for b in bytes {
                if s.write_all(&[*b]).is_err() {
                    return false;
                }
                std::thread::sleep(period);
            }
            true
        }
        Manner::Stall => {
            wait_for_hangup(s);
            false
        }
        Manner::Garbage => {
            let _ = s.write_all(b"\x00\x05HTTP/1.1 400 Bad Request\r\n\r\n");
            false
        }
        Manner::CloseMidway => {
            let _ = s.write_all(&bytes[..bytes.len() / 2]);
            false
        }
    }
}

/// Reads until the client closes its end (so a stalling peer ends with the test).
pub fn wait_for_hangup(s: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// One PORT_PLEASE2 exchange; false if the node should not be served after it.
fn serve_epmd(epmd: TcpListener, node_port: u16, manner: Manner) -> bool {
    let mut s = epmd.accept().unwrap().0;
    let mut req = [0u8; 3 + 4];
    if s.read_exact(&mut req).is_err() {
        return false; // len, 'z', "fake"
    }
    let mut reply = vec![b'w', 0];
    reply.extend_from_slice(&node_port.to_be_bytes());
    reply.extend_from_slice(&[77, 0, 0, 6, 0, 6, 0, 4]);
    reply.extend_from_slice(b"fake\0\0");
    say(&mut s, &reply, manner)
}

fn read_packet2(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

fn packet2(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// The acceptor side of the handshake up to the client's challenge reply; the challenge
/// ack to send (length included), or None if the client's digest was wrong or the manner
/// ended the talk. Names a client that asks (NAME_ME) `ASSIGNED`.
fn accept_to_reply(s: &mut TcpStream, manner: Manner) -> Option<Vec<u8>> {
    let name = read_packet2(s)?;
    let flags = u64::from_be_bytes(name[1..9].try_into().unwrap());
    let mut status = b"sok".to_vec();
    if flags & NAME_ME != 0 {
        status = b"snamed:".to_vec();
        status.extend_from_slice(&(ASSIGNED.len() as u16).to_be_bytes());
        status.extend_from_slice(ASSIGNED.as_bytes());
        status.extend_from_slice(&9u32.to_be_bytes());
    }
    let mut ch = vec![b'N'];
    ch.extend_from_slice(&OUR_FLAGS.to_be_bytes());
    ch.extend_from_slice(&777u32.to_be_bytes());
    ch.extend_from_slice(&9u32.to_be_bytes());
    ch.extend_from_slice(&(NODE.len() as u16).to_be_bytes());
    ch.extend_from_slice(NODE.as_bytes());
    let mut first = packet2(&status);
    first.extend(packet2(&ch));
    if !say(s, &first, manner) {
        return None;
    }
    let reply = read_packet2(s)?;
    if reply.len() != 21 || reply[5..] != digest(COOKIE.as_bytes(), 777) {
        return None;
    }
    let theirs = u32::from_be_bytes(reply[1..5].try_into().unwrap());
    let mut ack = vec![b'a'];
    ack.extend_from_slice(&digest(COOKIE.as_bytes(), theirs));
    Some(packet2(&ack))
}

/// Reads one packet after the handshake: None for a tick, else (control, message).
pub fn read_frame(s: &mut TcpStream) -> Option<(Term, Option<Term>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    if body.is_empty() {
        return None;
    }
    assert_eq!(body[0], 112);
    let (control, used) = etf::decode_prefix(&body[1..]).unwrap();
    let rest = &body[1 + used..];
    let msg = (!rest.is_empty()).then(|| etf::decode(rest).unwrap());
    Some((control, msg))
}

/// The bytes of a SEND of `msg` to `to`, length prefix included.
pub fn send_frame(to: &Term, msg: &Term) -> Vec<u8> {
    let control = Term::Tuple(vec![Term::Int(2), Term::atom(""), to.clone()]);
    let mut body = vec![112];
    body.extend(control.to_bytes());
    body.extend(msg.to_bytes());
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

/// Sends `msg` to `to` (SEND).
pub fn send(s: &mut TcpStream, to: &Term, msg: &Term) {
    s.write_all(&send_frame(to, msg)).unwrap();
}

/// Reads the client's rex `$gen_call` and returns (caller pid, ref, request).
pub fn read_gen_call(s: &mut TcpStream) -> (Term, Term, Term) {
    loop {
        let Some((_, Some(msg))) = read_frame(s) else {
            continue;
        };
        let items = msg.as_tuple().unwrap();
        assert!(items[0].is_atom("$gen_call"));
        let from = items[1].as_tuple().unwrap();
        return (from[0].clone(), from[1].clone(), items[2].clone());
    }
}
