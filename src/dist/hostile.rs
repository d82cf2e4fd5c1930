//! The client against hostile fake peers: every failure is a clear error of the right kind,
//! and every deadline is total — setup (resolve + EPMD + connect + handshake) within
//! `connect_timeout`, the call within `call_timeout`, each finishing within the timeout +
//! 250 ms (the figure of issue 15; only asserted for deadlines of at least 1 s, so that the
//! slack is generous on a loaded machine).
use std::io::Write;
use std::time::{Duration, Instant};

use super::fake::{self, Manner};
use super::{ClientConfig, DistError, Session, Term, call, ping};

const SECOND: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_millis(250);

/// 200 ms a byte: any message takes longer than a second this way.
const TRICKLE: Manner = Manner::Trickle(Duration::from_millis(200));

fn with_timeouts(mut cfg: ClientConfig, connect: Duration, call: Duration) -> ClientConfig {
    cfg.connect_timeout = connect;
    cfg.call_timeout = Some(call);
    cfg
}

/// Runs `f` and returns its error and how long it took.
fn timed<T: std::fmt::Debug>(f: impl FnOnce() -> Result<T, DistError>) -> (DistError, Duration) {
    let start = Instant::now();
    let err = f().unwrap_err();
    (err, start.elapsed())
}

fn setup_fails(epmd: Manner, handshake: Manner) -> (DistError, Duration) {
    let (cfg, t) = fake::start_with(epmd, handshake, |_| {});
    let cfg = with_timeouts(cfg, SECOND, SECOND);
    let out = timed(|| ping(&cfg));
    t.join().unwrap();
    out
}

/// Setup fails with the connect timeout, in time, before any request reached the node.
fn assert_connect_deadline(epmd: Manner, handshake: Manner) {
    let (err, took) = setup_fails(epmd, handshake);
    let case = format!("epmd {epmd:?}, handshake {handshake:?}");
    assert!(
        matches!(err, DistError::Timeout("connect")),
        "{case}: {err}"
    );
    assert!(err.before_request(), "{case}");
    assert!(took < SECOND + SLACK, "{case}: {took:?}");
}

#[test]
fn epmd_trickling_its_reply_hits_the_connect_deadline() {
    assert_connect_deadline(TRICKLE, Manner::Polite);
}

#[test]
fn epmd_that_stalls_hits_the_connect_deadline() {
    assert_connect_deadline(Manner::Stall, Manner::Polite);
}

#[test]
fn epmd_garbage_and_half_replies_are_protocol_errors() {
    for manner in [Manner::Garbage, Manner::CloseMidway] {
        let (err, _) = setup_fails(manner, Manner::Polite);
        assert!(
            matches!(&err, DistError::Protocol(why) if why.starts_with("epmd:")),
            "{manner:?}: {err}"
        );
        assert!(err.before_request());
    }
}

#[test]
fn epmd_flooding_is_refused_not_buffered() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mb = vec![b'w'; 1 << 20];
        for _ in 0..64 {
            if s.write_all(&mb).is_err() {
                break;
            }
        }
    });
    let mut cfg = ClientConfig::new("x@127.0.0.1", "me@127.0.0.1", "c");
    cfg.epmd_port = port;
    let err = ping(&cfg).unwrap_err();
    assert!(
        matches!(&err, DistError::Protocol(why) if why.contains("more than")),
        "{err}"
    );
    t.join().unwrap();
}

#[test]
fn node_trickling_its_handshake_hits_the_connect_deadline() {
    assert_connect_deadline(Manner::Polite, TRICKLE);
}

#[test]
fn node_stalling_in_the_handshake_hits_the_connect_deadline() {
    assert_connect_deadline(Manner::Polite, Manner::Stall);
}

#[test]
fn node_garbage_or_close_in_the_handshake_is_a_rejection() {
    for manner in [Manner::Garbage, Manner::CloseMidway] {
        let (err, _) = setup_fails(Manner::Polite, manner);
        assert!(
            matches!(err, DistError::HandshakeRejected { .. }),
            "{manner:?}: {err}"
        );
        assert!(err.before_request());
    }
}

#[test]
fn epmd_and_handshake_share_one_deadline() {
    // Each alone fits in the second (18 and ~60 bytes at 15 ms: ~0.3 s and ~0.9 s);
    // together they do not.
    let slow = Manner::Trickle(Duration::from_millis(15));
    assert_connect_deadline(slow, slow);
}

/// A node that completes the handshake, reads the call, then answers with `reply` bytes.
fn call_fails(
    reply: impl FnOnce(&mut std::net::TcpStream, Term, Term) + Send + 'static,
) -> (DistError, Duration) {
    let (cfg, t) = fake::start(move |mut s| {
        let (pid, reference, _) = fake::read_gen_call(&mut s);
        reply(&mut s, pid, reference);
        fake::wait_for_hangup(&mut s);
    });
    let cfg = with_timeouts(cfg, SECOND, SECOND);
    let out = timed(|| call(&cfg, "erlang", "node", vec![]));
    t.join().unwrap();
    out
}

#[test]
fn node_trickling_a_frame_hits_the_call_deadline() {
    let (err, took) = call_fails(|s, pid, reference| {
        let frame = fake::send_frame(&pid, &Term::Tuple(vec![reference, Term::atom("ok")]));
        fake::say(s, &frame, TRICKLE);
    });
    assert!(matches!(err, DistError::Timeout("call")), "{err}");
    assert!(!err.before_request());
    assert!(took < SECOND + SLACK, "{took:?}");
}

#[test]
fn node_stalling_a_call_hits_the_call_deadline() {
    let (err, took) = call_fails(|_, _, _| {});
    assert!(matches!(err, DistError::Timeout("call")), "{err}");
    assert!(took < SECOND + SLACK, "{took:?}");
}

#[test]
fn a_huge_frame_length_is_refused_at_once() {
    for len in [u32::MAX, (super::conn::MAX_PACKET + 1) as u32] {
        let (err, took) = call_fails(move |s, _, _| {
            let _ = s.write_all(&len.to_be_bytes());
        });
        assert!(
            matches!(&err, DistError::Protocol(why) if why.contains("limit")),
            "{err}"
        );
        // Refused when the length arrives, not at the deadline.
        assert!(took < SECOND, "{took:?}");
    }
}

#[test]
fn closing_mid_frame_is_connection_closed() {
    let (err, _) = call_fails(|s, pid, reference| {
        let frame = fake::send_frame(&pid, &Term::Tuple(vec![reference, Term::atom("ok")]));
        let _ = s.write_all(&frame[..frame.len() - 3]);
        let _ = s.shutdown(std::net::Shutdown::Both);
    });
    assert!(matches!(err, DistError::ConnectionClosed), "{err}");
}

#[test]
fn garbage_frames_are_protocol_errors() {
    let (err, _) = call_fails(|s, _, _| {
        let _ = s.write_all(&[0, 0, 0, 6, 112, 131, 104, 9, 0xff, 0xff]);
    });
    assert!(matches!(err, DistError::Protocol(_)), "{err}");
}

#[test]
fn a_session_serves_many_calls_on_one_connection() {
    let (cfg, t) = fake::start(|mut s| {
        for i in 0..3 {
            let (pid, reference, _) = fake::read_gen_call(&mut s);
            fake::send(&mut s, &pid, &Term::Tuple(vec![reference, Term::Int(i)]));
        }
        // Then the node goes away (System.stop()).
    });
    let mut session = Session::connect(&cfg).unwrap();
    assert_eq!(session.own_name(), fake::ASSIGNED);
    for i in 0..3 {
        assert_eq!(
            session.call("erlang", "node", vec![]).unwrap(),
            Term::Int(i)
        );
    }
    session.set_deadline(Some(Instant::now() + Duration::from_secs(5)));
    session.wait_closed().unwrap();
    t.join().unwrap();
}

#[test]
fn wait_started_is_an_event() {
    let (cfg, t) = fake::start(|mut s| {
        let (control, msg) = fake::read_frame(&mut s).unwrap();
        let to_init = control.as_tuple().unwrap();
        assert!(to_init[3].is_atom("init"), "{control:?}");
        let msg = msg.unwrap();
        let items = msg.as_tuple().unwrap();
        let pid = items[0].clone();
        assert!(items[1].as_tuple().unwrap()[0].is_atom("notify_when_started"));
        let reply = |what| Term::Tuple(vec![Term::atom("init"), Term::atom(what)]);
        fake::send(&mut s, &pid, &reply("ok"));
        std::thread::sleep(Duration::from_millis(50));
        fake::send(&mut s, &pid, &reply("started"));
        fake::wait_for_hangup(&mut s);
    });
    let mut session = Session::connect(&cfg).unwrap();
    session.wait_started().unwrap();
    drop(session);
    t.join().unwrap();
}

#[test]
fn absurd_timeouts_mean_no_deadline_not_a_panic() {
    let (cfg, t) = fake::start(|mut s| {
        let (pid, reference, _) = fake::read_gen_call(&mut s);
        fake::send(
            &mut s,
            &pid,
            &Term::Tuple(vec![reference, Term::atom("ok")]),
        );
    });
    let cfg = with_timeouts(cfg, Duration::MAX, Duration::MAX);
    assert!(call(&cfg, "erlang", "node", vec![]).unwrap().is_atom("ok"));
    t.join().unwrap();
}

/// The next message the client sends (ticks skipped), None once it has hung up.
fn next_message(s: &mut std::net::TcpStream) -> Option<Term> {
    use std::io::Read;
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).ok()?;
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut body).ok()?;
        if let Some((&112, rest)) = body.split_first() {
            let (_, used) = super::etf::decode_prefix(rest).ok()?;
            if used < rest.len() {
                return super::etf::decode(&rest[used..]).ok();
            }
        }
    }
}

#[test]
fn io_requests_nested_without_end_are_an_error_not_a_stack_overflow() {
    // Each `{put_chars, unicode, M, F, A}` makes the client call M:F(A) on the node and
    // serve IO while it waits; a node that answers every such call with another request
    // (and never with a reply) nests them without end.
    let (cfg, t) = fake::start(|mut s| {
        let (pid, _, _) = fake::read_gen_call(&mut s);
        for k in 0..5_000 {
            let request = Term::Tuple(vec![
                Term::atom("put_chars"),
                Term::atom("unicode"),
                Term::atom("io_lib"),
                Term::atom("format"),
                Term::list(vec![Term::Nil, Term::Nil]),
            ]);
            let io = Term::Tuple(vec![
                Term::atom("io_request"),
                pid.clone(),
                Term::Int(k),
                request,
            ]);
            if s.write_all(&fake::send_frame(&pid, &io)).is_err() {
                return;
            }
            if next_message(&mut s).is_none() {
                return;
            }
        }
    });
    let cfg = with_timeouts(cfg, SECOND, Duration::from_secs(60));
    let err = call(&cfg, "erlang", "node", vec![]).unwrap_err();
    assert!(
        matches!(&err, DistError::Protocol(why) if why.contains("nested")),
        "{err}"
    );
    t.join().unwrap();
}
