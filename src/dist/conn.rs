//! An established distribution connection: setup, framing, ticks and message delivery.
//!
//! After the handshake every packet is a 4-byte length and a body. Without the atom-cache
//! flag the body is `112` (pass-through), the control tuple, and for sends the message.
//! A zero-length packet is a tick and must be answered, or the node drops us after about
//! net_ticktime seconds.
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::etf::{self, Pid, Reference, Term};
use super::handshake;
use super::{ClientConfig, DistError, epmd, random_u32, remaining};

const PASS_THROUGH: u8 = 112;

// Control message operations that carry a message for us.
const SEND: i64 = 2;
const REG_SEND: i64 = 6;
const SEND_TT: i64 = 12;
const REG_SEND_TT: i64 = 16;
const SEND_SENDER: i64 = 22;
const SEND_SENDER_TT: i64 = 23;
const ALIAS_SEND: i64 = 33;
const ALIAS_SEND_TT: i64 = 34;

/// Silence after which we consider the node gone, like a VM with the default
/// net_ticktime (60 s) would; the node ticks every net_ticktime/4 when idle.
const LIVENESS: Duration = Duration::from_secs(90);

/// How often the keep-alive thread ticks while we cannot read the socket.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);

/// Largest packet we accept; anything bigger is garbage, not a reply.
const MAX_PACKET: u32 = 1 << 30;

pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: Arc<Mutex<TcpStream>>,
    own_pid: Pid,
    next_ref: u32,
    /// Dropping the sender stops the keep-alive thread.
    keepalive: Option<mpsc::Sender<()>>,
}

impl Conn {
    /// EPMD lookup, TCP connect and handshake, all within `cfg.connect_timeout`.
    pub fn open(cfg: &ClientConfig) -> Result<Conn, DistError> {
        let deadline = Instant::now() + cfg.connect_timeout;
        let (alive, host) = cfg.target.split_once('@').ok_or_else(|| {
            DistError::Protocol(format!("epmd: node name {:?} has no @host", cfg.target))
        })?;
        let info = epmd::port_please(host, cfg.epmd_port, alive, deadline)?;
        let connect_err = |source: std::io::Error| match source.kind() {
            ErrorKind::TimedOut => DistError::Timeout("connect"),
            _ => DistError::Connect {
                node: cfg.target.clone(),
                source,
            },
        };
        let addr = epmd::resolve_ipv4(host, info.port).map_err(connect_err)?;
        let mut stream = TcpStream::connect_timeout(&addr, remaining(deadline, "connect")?)
            .map_err(connect_err)?;
        // Erlang's inet_tcp_dist sets nodelay too; without it small frames stall ~40-90 ms.
        stream.set_nodelay(true).map_err(connect_err)?;
        let creation = random_u32().max(4);
        // The peer's flags need no check: OTP 23+ nodes speak everything we use.
        handshake::run(
            &mut stream,
            &cfg.target,
            &cfg.own_name,
            &cfg.cookie,
            creation,
            random_u32(),
            deadline,
        )?;
        stream.set_read_timeout(None).map_err(connect_err)?;
        stream.set_write_timeout(None).map_err(connect_err)?;
        let writer = stream.try_clone().map_err(connect_err)?;
        Ok(Conn {
            reader: BufReader::new(stream),
            writer: Arc::new(Mutex::new(writer)),
            own_pid: Pid {
                node: cfg.own_name.clone(),
                id: 1,
                serial: 0,
                creation,
            },
            next_ref: random_u32() & 0x3ffff,
            keepalive: None,
        })
    }

    pub fn own_pid(&self) -> &Pid {
        &self.own_pid
    }

    /// A reference unique within this connection.
    pub fn make_ref(&mut self) -> Reference {
        self.next_ref = self.next_ref.wrapping_add(1) & 0x3ffff;
        Reference {
            node: self.own_pid.node.clone(),
            creation: self.own_pid.creation,
            ids: vec![self.next_ref, random_u32(), random_u32()],
        }
    }

    /// Sends `msg` to the process registered as `name` on the node.
    pub fn send_reg(&self, name: &str, msg: &Term) -> Result<(), DistError> {
        let control = Term::Tuple(vec![
            Term::Int(REG_SEND),
            Term::Pid(self.own_pid.clone()),
            Term::atom(""),
            Term::atom(name),
        ]);
        self.send_frame(&control, msg)
    }

    /// Sends `msg` to a pid (any pid term the node gave us, passed back verbatim).
    pub fn send_to(&self, to: &Term, msg: &Term) -> Result<(), DistError> {
        let control = Term::Tuple(vec![Term::Int(SEND), Term::atom(""), to.clone()]);
        self.send_frame(&control, msg)
    }

    fn send_frame(&self, control: &Term, msg: &Term) -> Result<(), DistError> {
        let mut frame = vec![0, 0, 0, 0, PASS_THROUGH];
        frame.extend(control.to_bytes());
        frame.extend(msg.to_bytes());
        let len = u32::try_from(frame.len() - 4)
            .map_err(|_| DistError::Protocol("message too large".into()))?;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        write_all(&self.writer, &frame)
    }

    /// The next message addressed to us. Answers ticks and skips link/monitor/exit
    /// signals while waiting. `deadline` None waits as long as the node stays alive.
    pub fn recv(&mut self, deadline: Option<Instant>) -> Result<Term, DistError> {
        loop {
            let body = self.read_packet(deadline)?;
            if body.is_empty() {
                write_all(&self.writer, &[0, 0, 0, 0])?;
                continue;
            }
            if let Some(msg) = parse_packet(&body)? {
                return Ok(msg);
            }
        }
    }

    fn read_packet(&mut self, deadline: Option<Instant>) -> Result<Vec<u8>, DistError> {
        let wait = match deadline {
            Some(d) => remaining(d, "call")?.min(LIVENESS),
            None => LIVENESS,
        };
        let stream = self.reader.get_ref();
        stream
            .set_read_timeout(Some(wait))
            .map_err(|_| DistError::ConnectionClosed)?;
        let mut len = [0u8; 4];
        self.reader
            .read_exact(&mut len)
            .map_err(|e| read_error(e, deadline))?;
        let len = u32::from_be_bytes(len);
        if len > MAX_PACKET {
            return Err(DistError::Protocol(format!("packet of {len} bytes")));
        }
        let mut body = Vec::new();
        (&mut self.reader)
            .take(u64::from(len))
            .read_to_end(&mut body)
            .map_err(|e| read_error(e, deadline))?;
        if body.len() != len as usize {
            return Err(DistError::ConnectionClosed);
        }
        Ok(body)
    }

    /// Starts ticking in the background; needed while we block on stdin and so cannot
    /// answer the node's ticks.
    pub fn keep_alive(&mut self) {
        if self.keepalive.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel::<()>();
        let writer = Arc::clone(&self.writer);
        let spawned = std::thread::Builder::new()
            .name("dist-tick".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(KEEPALIVE_EVERY) {
                    if write_all(&writer, &[0, 0, 0, 0]).is_err() {
                        break;
                    }
                }
            });
        if spawned.is_ok() {
            self.keepalive = Some(tx);
        }
    }
}

fn write_all(writer: &Mutex<TcpStream>, bytes: &[u8]) -> Result<(), DistError> {
    // One write per frame, under the lock, so frames from the tick thread never interleave.
    let mut stream = writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    stream
        .write_all(bytes)
        .map_err(|_| DistError::ConnectionClosed)
}

fn read_error(e: std::io::Error, deadline: Option<Instant>) -> DistError {
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock
            if deadline.is_some_and(|d| Instant::now() >= d) =>
        {
            DistError::Timeout("call")
        }
        // Silent for longer than any tick interval: the node is gone (nodedown).
        _ => DistError::ConnectionClosed,
    }
}

/// The message carried by a packet if it is a send to us; None for other signals.
fn parse_packet(body: &[u8]) -> Result<Option<Term>, DistError> {
    let protocol = |e: etf::DecodeError| DistError::Protocol(e.to_string());
    let Some((&PASS_THROUGH, rest)) = body.split_first() else {
        return Err(DistError::Protocol(format!(
            "expected pass-through packet, got tag {:?}",
            body.first()
        )));
    };
    let (control, used) = etf::decode_prefix(rest).map_err(protocol)?;
    let op = control
        .as_tuple()
        .and_then(|items| items.first())
        .and_then(Term::as_int)
        .ok_or_else(|| DistError::Protocol(format!("bad control message {control:?}")))?;
    match op {
        SEND | REG_SEND | SEND_TT | REG_SEND_TT | SEND_SENDER | SEND_SENDER_TT | ALIAS_SEND
        | ALIAS_SEND_TT => etf::decode(&rest[used..]).map(Some).map_err(protocol),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(control: Term, msg: Option<Term>) -> Vec<u8> {
        let mut body = vec![PASS_THROUGH];
        body.extend(control.to_bytes());
        if let Some(m) = msg {
            body.extend(m.to_bytes());
        }
        body
    }

    #[test]
    fn parses_sends_and_skips_signals() {
        let to = Term::atom("x");
        let send = packet(
            Term::Tuple(vec![Term::Int(SEND), Term::atom(""), to.clone()]),
            Some(Term::atom("hello")),
        );
        assert_eq!(parse_packet(&send).unwrap(), Some(Term::atom("hello")));
        let link = packet(Term::Tuple(vec![Term::Int(1), to.clone(), to]), None);
        assert_eq!(parse_packet(&link).unwrap(), None);
    }

    #[test]
    fn garbage_packets_are_errors() {
        assert!(parse_packet(&[0]).is_err());
        assert!(parse_packet(&[PASS_THROUGH]).is_err());
        assert!(parse_packet(&[PASS_THROUGH, 131, 97, 1]).is_err());
        let send = packet(
            Term::Tuple(vec![Term::Int(SEND), Term::atom(""), Term::atom("x")]),
            Some(Term::atom("hello")),
        );
        for cut in 1..send.len() {
            assert!(parse_packet(&send[..cut]).is_err(), "cut {cut}");
        }
    }
}
