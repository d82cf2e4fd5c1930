//! Test support: a fake EPMD and a fake node speaking just enough protocol to exercise the
//! client's error paths without a real VM.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ClientConfig;
use super::etf::{self, Term};
use super::handshake::{OUR_FLAGS, digest};

pub const COOKIE: &str = "fakecookie";
pub const NODE: &str = "fake@127.0.0.1";

/// Starts EPMD + node threads; after a successful handshake `behaviour` gets the socket.
pub fn start(behaviour: impl FnOnce(TcpStream) + Send + 'static) -> (ClientConfig, JoinHandle<()>) {
    let epmd = TcpListener::bind("127.0.0.1:0").unwrap();
    let node = TcpListener::bind("127.0.0.1:0").unwrap();
    let epmd_port = epmd.local_addr().unwrap().port();
    let node_port = node.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        serve_epmd(epmd, node_port);
        let mut s = node.accept().unwrap().0;
        if accept_handshake(&mut s) {
            behaviour(s);
        }
    });
    let cfg = ClientConfig {
        target: NODE.into(),
        own_name: "me@127.0.0.1".into(),
        cookie: COOKIE.into(),
        epmd_port,
        connect_timeout: Duration::from_secs(3),
        call_timeout: Some(Duration::from_millis(500)),
    };
    (cfg, handle)
}

fn serve_epmd(epmd: TcpListener, node_port: u16) {
    let mut s = epmd.accept().unwrap().0;
    let mut req = [0u8; 3 + 4];
    s.read_exact(&mut req).unwrap(); // len, 'z', "fake"
    let mut reply = vec![b'w', 0];
    reply.extend_from_slice(&node_port.to_be_bytes());
    reply.extend_from_slice(&[77, 0, 0, 6, 0, 6, 0, 4]);
    reply.extend_from_slice(b"fake\0\0");
    s.write_all(&reply).unwrap();
}

fn read_packet2(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

fn write_packet2(s: &mut TcpStream, body: &[u8]) {
    let mut f = (body.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    s.write_all(&f).unwrap();
}

/// The acceptor side of the handshake; false if the client's digest was wrong.
fn accept_handshake(s: &mut TcpStream) -> bool {
    let Some(_name) = read_packet2(s) else {
        return false;
    };
    write_packet2(s, b"sok");
    let mut ch = vec![b'N'];
    ch.extend_from_slice(&OUR_FLAGS.to_be_bytes());
    ch.extend_from_slice(&777u32.to_be_bytes());
    ch.extend_from_slice(&9u32.to_be_bytes());
    ch.extend_from_slice(&(NODE.len() as u16).to_be_bytes());
    ch.extend_from_slice(NODE.as_bytes());
    write_packet2(s, &ch);
    let Some(reply) = read_packet2(s) else {
        return false;
    };
    if reply.len() != 21 || reply[5..] != digest(COOKIE, 777) {
        return false;
    }
    let theirs = u32::from_be_bytes(reply[1..5].try_into().unwrap());
    let mut ack = vec![b'a'];
    ack.extend_from_slice(&digest(COOKIE, theirs));
    write_packet2(s, &ack);
    true
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

/// Sends `msg` to `to` (SEND).
pub fn send(s: &mut TcpStream, to: &Term, msg: &Term) {
    let control = Term::Tuple(vec![Term::Int(2), Term::atom(""), to.clone()]);
    let mut body = vec![112];
    body.extend(control.to_bytes());
    body.extend(msg.to_bytes());
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    s.write_all(&frame).unwrap();
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
