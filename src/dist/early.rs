//! Tests of the deferred challenge ack (`Conn::settle`): beamrc's own fixed queries travel
//! right behind the challenge reply, anything of the caller's only after the node has
//! proven it knows the cookie, and a node that cannot prove it gets nothing executed.
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::etf::Term;
use super::{DistError, Session, fake};

/// Answers one rex call with `value`.
fn answer(s: &mut TcpStream, value: Term) -> Term {
    let (pid, reference, request) = fake::read_gen_call(s);
    fake::send(s, &pid, &Term::Tuple(vec![reference, value]));
    request
}

/// Nothing arrives for a moment: the client is waiting for us.
fn nothing_arrives(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let quiet = matches!(s.read(&mut byte), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    s.set_read_timeout(None).unwrap();
    quiet
}

#[test]
fn a_fixed_query_does_not_wait_for_the_ack() {
    let (cfg, t) = fake::start_holding_ack(|mut s, ack| {
        // The query is here before we have acknowledged anything.
        let (pid, reference, request) = fake::read_gen_call(&mut s);
        s.write_all(&ack).unwrap();
        fake::send(&mut s, &pid, &Term::Tuple(vec![reference, Term::Int(4242)]));
        let call = request.as_tuple().unwrap();
        assert!(
            call[0].is_atom("block_call") && call[1].is_atom("os") && call[2].is_atom("getpid")
        );
    });
    let mut session = Session::connect(&cfg).unwrap();
    assert_eq!(session.ask("os", "getpid").unwrap(), Term::Int(4242));
    t.join().unwrap();
}

#[test]
fn a_call_with_the_callers_arguments_waits_for_the_ack() {
    let (cfg, t) = fake::start_holding_ack(|mut s, ack| {
        assert!(nothing_arrives(&mut s), "the call was sent before the ack");
        s.write_all(&ack).unwrap();
        answer(&mut s, Term::atom("ok"));
    });
    let mut session = Session::connect(&cfg).unwrap();
    let args = vec![Term::Binary(b"secret".to_vec())];
    assert!(session.call("m", "f", args).unwrap().is_atom("ok"));
    t.join().unwrap();
}

#[test]
fn a_node_that_cannot_prove_the_cookie_is_refused() {
    // It closes instead of acknowledging (what a node does when our digest is wrong)…
    let (cfg, t) = fake::start_holding_ack(|s, _| drop(s));
    let mut session = Session::connect(&cfg).unwrap();
    let err = session.ask("os", "getpid").unwrap_err();
    assert!(matches!(err, DistError::CookieMismatch { .. }), "{err}");
    assert!(err.before_request());
    t.join().unwrap();
    // …or acknowledges with a digest of another cookie: its answer is never read.
    let (cfg, t) = fake::start_holding_ack(|mut s, mut ack| {
        *ack.last_mut().unwrap() ^= 1;
        s.write_all(&ack).unwrap();
        answer(&mut s, Term::Int(1));
        fake::wait_for_hangup(&mut s);
    });
    let err = Session::connect(&cfg).unwrap().ping().unwrap_err();
    assert!(matches!(err, DistError::HandshakeRejected { .. }), "{err}");
    t.join().unwrap();
}

#[test]
fn a_silent_ack_is_bounded_by_the_connect_timeout() {
    let (mut cfg, t) = fake::start_holding_ack(|mut s, _| fake::wait_for_hangup(&mut s));
    cfg.connect_timeout = Duration::from_millis(400);
    cfg.call_timeout = None;
    let start = std::time::Instant::now();
    let err = Session::connect(&cfg).unwrap().ping().unwrap_err();
    assert!(matches!(err, DistError::Timeout("connect")), "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
    t.join().unwrap();
}
