//! An established distribution connection: setup, framing, ticks and message delivery.
//!
//! After the handshake every packet is a 4-byte length and a body. Without the atom-cache
//! flag the body is `112` (pass-through), the control tuple, and for sends the message.
//! A zero-length packet is a tick and must be answered, or the node drops us after about
//! net_ticktime seconds.
use std::io::{BufReader, ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::etf::{self, Pid, Reference, Term};
use super::wire::{self, Timed};
use super::{
    ClientConfig, DistError, cookie, deadline_after, epmd, handshake, random_u32, remaining,
    resolve,
};

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

/// Largest packet we accept. Without DFLAG_FRAGMENTS the node sends each message in one
/// packet, so this bounds one `put_chars` of remote output; anything bigger is refused
/// before a byte of it is buffered (and a lying length allocates nothing: the buffer grows
/// only as bytes arrive).
pub(crate) const MAX_PACKET: usize = 64 << 20;

pub struct Conn {
    reader: BufReader<Timed>,
    writer: Arc<Mutex<TcpStream>>,
    own_pid: Pid,
    next_ref: u32,
    /// Bounds every read and write of the current call (None: as long as the node lives).
    deadline: Option<Instant>,
    /// Dropping the sender stops the keep-alive thread.
    keepalive: Option<mpsc::Sender<()>>,
    /// The node's challenge ack, not read yet (see `settle`).
    pending_ack: Option<PendingAck>,
    /// The node's name, for errors.
    target: String,
}

/// The digest the node's challenge ack must carry, and the connect deadline it is due by.
struct PendingAck {
    expected: [u8; 16],
    deadline: Instant,
}

impl Conn {
    /// Host resolution, EPMD lookup (unless the port is given), TCP connect and handshake,
    /// all within one `cfg.connect_timeout`.
    pub fn open(cfg: &ClientConfig) -> Result<Conn, DistError> {
        // A timeout too large for an Instant: a century is as good as forever.
        let deadline = deadline_after(cfg.connect_timeout)
            .or_else(|| deadline_after(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or_else(Instant::now);
        let (alive, host) = cfg.target.split_once('@').ok_or_else(|| {
            DistError::Protocol(format!("epmd: node name {:?} has no @host", cfg.target))
        })?;
        let resolve = || {
            resolve::resolve(host, cfg.family, deadline).map_err(|e| match e {
                resolve::ResolveError::Timeout => DistError::Timeout("connect"),
                resolve::ResolveError::NotFound => DistError::Resolve {
                    host: host.to_string(),
                    node: cfg.target.clone(),
                },
            })
        };
        let addr = match (cfg.dist_port, cfg.address) {
            (Some(port), Some(ip)) => SocketAddr::new(ip, port),
            (Some(port), None) => SocketAddr::new(resolve()?, port),
            (None, address) => {
                let ip = resolve()?;
                let epmd = SocketAddr::new(ip, cfg.epmd_port);
                let port = epmd::port_please(epmd, host, alive, deadline)?.port;
                SocketAddr::new(address.unwrap_or(ip), port)
            }
        };
        let naming = if cfg.dynamic_name {
            let host = cfg
                .own_name
                .rsplit_once('@')
                .map_or(cfg.own_name.as_str(), |(_, h)| h);
            handshake::Naming::Dynamic {
                host: host.to_string(),
            }
        } else {
            handshake::Naming::Static {
                name: cfg.own_name.clone(),
                creation: random_u32().max(4),
            }
        };
        // A non-ASCII cookie has two readings (see cookie.rs); the node closes the
        // connection on the wrong one, and we try the other within the same deadline.
        let mut mismatch = None;
        let candidates = cookie::candidates(&cfg.cookie, cookie::our_locale_is_utf8());
        // With one reading of the cookie, a mismatch needs no retry, so the ack can wait
        // until the first reply is read (see `settle`).
        let defer_ack = candidates.len() == 1;
        for bytes in candidates {
            match Conn::connect(cfg, addr, &naming, &bytes, deadline, defer_ack) {
                Err(e @ DistError::CookieMismatch { .. }) => mismatch = Some(e),
                other => return other,
            }
        }
        Err(mismatch.unwrap_or(DistError::CookieMismatch {
            node: cfg.target.clone(),
        }))
    }

    fn connect(
        cfg: &ClientConfig,
        addr: SocketAddr,
        naming: &handshake::Naming,
        cookie: &[u8],
        deadline: Instant,
        defer_ack: bool,
    ) -> Result<Conn, DistError> {
        let connect_err = |source: std::io::Error| match source.kind() {
            ErrorKind::TimedOut => DistError::Timeout("connect"),
            _ => DistError::Connect {
                node: cfg.target.clone(),
                source,
            },
        };
        let stream = TcpStream::connect_timeout(&addr, remaining(deadline, "connect")?)
            .map_err(connect_err)?;
        // Erlang's inet_tcp_dist sets nodelay too; without it small frames stall ~40-90 ms.
        stream.set_nodelay(true).map_err(connect_err)?;
        // The peer's flags need no check: OTP 23+ nodes speak everything we use.
        let mut reader = BufReader::new(Timed::new(
            stream.try_clone().map_err(connect_err)?,
            Some(deadline),
            handshake::IDLE,
        ));
        let (_, me, expected) = handshake::run_to_reply(
            &stream,
            &mut reader,
            &cfg.target,
            naming,
            cookie,
            random_u32(),
            deadline,
        )?;
        let timed = reader.get_mut();
        (timed.deadline, timed.idle) = (None, LIVENESS);
        let mut conn = Conn {
            reader,
            writer: Arc::new(Mutex::new(stream)),
            own_pid: Pid {
                node: me.name,
                id: 1,
                serial: 0,
                creation: me.creation,
            },
            next_ref: random_u32() & 0x3ffff,
            deadline: None,
            keepalive: None,
            pending_ack: Some(PendingAck { expected, deadline }),
            target: cfg.target.clone(),
        };
        if !defer_ack {
            conn.settle()?;
        }
        Ok(conn)
    }

    /// Reads and checks the node's challenge ack if it is still due: before anything is
    /// read from the node, and before anything of the caller's is sent to it. Until then
    /// only `send_reg_early` may send.
    ///
    /// This saves a round trip: a fixed query travels right behind our challenge reply
    /// instead of after the ack. The node reads it only once it has accepted our reply
    /// (`dist_util` sends the ack and then hands the socket to the distribution), so a
    /// wrong cookie still gets nothing executed: the node closes the socket, which reads
    /// here as `CookieMismatch`.
    fn settle(&mut self) -> Result<(), DistError> {
        let Some(ack) = self.pending_ack.take() else {
            return Ok(());
        };
        self.reader.get_mut().deadline = Some(ack.deadline);
        let body = handshake::read_message(&mut self.reader, &self.target);
        handshake::check_ack(body, &ack.expected, &self.target)
    }

    /// Bounds every later read and write (None: wait as long as the node stays alive).
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Our node name on this connection (the node's choice with dynamic names).
    pub fn own_name(&self) -> &str {
        &self.own_pid.node
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
    pub fn send_reg(&mut self, name: &str, msg: &Term) -> Result<(), DistError> {
        self.settle()?;
        self.send_reg_early(name, msg)
    }

    /// `send_reg` that may go before the node has proven it knows the cookie (see
    /// `settle`): only for beamrc's own fixed queries, which carry nothing of the caller's.
    pub fn send_reg_early(&self, name: &str, msg: &Term) -> Result<(), DistError> {
        let control = Term::Tuple(vec![
            Term::Int(REG_SEND),
            Term::Pid(self.own_pid.clone()),
            Term::atom(""),
            Term::atom(name),
        ]);
        self.send_frame(&control, msg)
    }

    /// Sends `msg` to a pid (any pid term the node gave us, passed back verbatim).
    pub fn send_to(&mut self, to: &Term, msg: &Term) -> Result<(), DistError> {
        self.settle()?;
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
        write_all(&self.writer, &frame, self.deadline)
    }

    /// The next message addressed to us. Answers ticks and skips link/monitor/exit
    /// signals while waiting.
    pub fn recv(&mut self) -> Result<Term, DistError> {
        self.settle()?;
        loop {
            let body = self.read_packet()?;
            if body.is_empty() {
                write_all(&self.writer, &[0, 0, 0, 0], self.deadline)?;
                continue;
            }
            if let Some(msg) = parse_packet(&body)? {
                return Ok(msg);
            }
        }
    }

    /// Waits until the node closes the connection (it halted or stopped), answering ticks
    /// and dropping messages meanwhile. `Err(Timeout("call"))` at the deadline.
    pub fn wait_closed(&mut self) -> Result<(), DistError> {
        loop {
            match self.recv() {
                Ok(_) => {}
                Err(DistError::ConnectionClosed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// One packet; every read is bounded by the deadline in total (a node that trickles a
    /// frame cannot stretch it) and by LIVENESS of silence.
    fn read_packet(&mut self) -> Result<Vec<u8>, DistError> {
        self.reader.get_mut().deadline = self.deadline;
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len).map_err(read_error)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_PACKET {
            return Err(DistError::Protocol(format!(
                "the node sent a packet of {len} bytes; the limit is {MAX_PACKET}"
            )));
        }
        wire::read_exact_growing(&mut self.reader, len).map_err(read_error)
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
                    if write_all(&writer, &[0, 0, 0, 0], None).is_err() {
                        break;
                    }
                }
            });
        if spawned.is_ok() {
            self.keepalive = Some(tx);
        }
    }
}

fn write_all(
    writer: &Mutex<TcpStream>,
    bytes: &[u8],
    deadline: Option<Instant>,
) -> Result<(), DistError> {
    // One frame at a time, under the lock, so frames from the tick thread never interleave.
    let stream = lock_by(writer, deadline)?;
    wire::write_all_by(&stream, bytes, deadline, LIVENESS).map_err(read_error)
}

/// The writer's lock, waited for until `deadline` at most: the tick thread holds it while
/// its write blocks (a node that stopped reading), which must not stretch our deadline.
fn lock_by(
    writer: &Mutex<TcpStream>,
    deadline: Option<Instant>,
) -> Result<MutexGuard<'_, TcpStream>, DistError> {
    loop {
        match writer.try_lock() {
            Ok(stream) => return Ok(stream),
            Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(DistError::Timeout("call"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// A failed read or write: the deadline, or else the connection is gone (closed, reset, or
/// silent for longer than any tick interval: nodedown).
fn read_error(e: std::io::Error) -> DistError {
    if wire::is_deadline(&e) {
        DistError::Timeout("call")
    } else {
        DistError::ConnectionClosed
    }
}

/// The message carried by a packet if it is a send to us; None for other signals.
pub(super) fn parse_packet(body: &[u8]) -> Result<Option<Term>, DistError> {
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
    fn a_held_writer_lock_cannot_stretch_the_deadline() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let writer = Arc::new(Mutex::new(stream));
        let (held_tx, held_rx) = mpsc::channel();
        let holder = {
            let writer = Arc::clone(&writer);
            std::thread::spawn(move || {
                let _stream = writer.lock().unwrap();
                held_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(2));
            })
        };
        held_rx.recv().unwrap();
        let start = Instant::now();
        let deadline = Some(start + Duration::from_millis(100));
        let err = write_all(&writer, &[0, 0, 0, 0], deadline).unwrap_err();
        assert!(matches!(err, DistError::Timeout("call")), "{err}");
        assert!(start.elapsed() < Duration::from_secs(1));
        holder.join().unwrap();
        write_all(&writer, &[0, 0, 0, 0], None).unwrap();
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
