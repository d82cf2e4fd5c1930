//! Socket IO under a total deadline. Every single `read`/`write` system call is bounded by
//! the time left, so a peer that trickles one byte per second cannot stretch a deadline
//! (a per-read timeout is not a timeout: each byte would restart it).
use std::borrow::Borrow;
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The error payload of a read or write cut short by the deadline (as opposed to the idle
/// bound, which means "the peer went silent").
#[derive(Debug)]
struct DeadlinePassed;

impl fmt::Display for DeadlinePassed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline passed")
    }
}

impl std::error::Error for DeadlinePassed {}

/// Whether `e` came from a deadline (not from the idle bound or the peer).
pub(crate) fn is_deadline(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<DeadlinePassed>())
}

fn passed() -> io::Error {
    io::Error::new(ErrorKind::TimedOut, DeadlinePassed)
}

/// How long one system call may block: the time left until `deadline` (if any), at most
/// `idle`. `Err` when the deadline has passed. The flag says whether the deadline (rather
/// than `idle`) is the bound.
fn budget(deadline: Option<Instant>, idle: Duration) -> io::Result<(Duration, bool)> {
    let Some(d) = deadline else {
        return Ok((idle, false));
    };
    let left = d.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(passed());
    }
    Ok(if left <= idle {
        (left, true)
    } else {
        (idle, false)
    })
}

/// A stream whose reads are bounded by `deadline` (total) and `idle` (per read: silence).
pub(crate) struct Timed<S: Borrow<TcpStream> = TcpStream> {
    pub(crate) stream: S,
    pub(crate) deadline: Option<Instant>,
    pub(crate) idle: Duration,
}

impl<S: Borrow<TcpStream>> Timed<S> {
    pub(crate) fn new(stream: S, deadline: Option<Instant>, idle: Duration) -> Timed<S> {
        Timed {
            stream,
            deadline,
            idle,
        }
    }
}

impl<S: Borrow<TcpStream>> Read for Timed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_by(self.stream.borrow(), buf, self.deadline, self.idle)
    }
}

/// One `read` that blocks no longer than the budget.
pub(crate) fn read_by(
    mut stream: &TcpStream,
    buf: &mut [u8],
    deadline: Option<Instant>,
    idle: Duration,
) -> io::Result<usize> {
    let (wait, by_deadline) = budget(deadline, idle)?;
    stream.set_read_timeout(Some(wait))?;
    match stream.read(buf) {
        Err(e)
            if by_deadline && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Err(passed())
        }
        other => other,
    }
}

/// `write_all` where each `write` is bounded by the budget (a peer that reads one byte per
/// second cannot stretch it either).
pub(crate) fn write_all_by(
    mut stream: &TcpStream,
    mut bytes: &[u8],
    deadline: Option<Instant>,
    idle: Duration,
) -> io::Result<()> {
    while !bytes.is_empty() {
        let (wait, by_deadline) = budget(deadline, idle)?;
        stream.set_write_timeout(Some(wait))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e)
                if by_deadline
                    && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return Err(passed());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads until EOF or until `complete` says what was read is whole, at most `limit` bytes
/// (more is an error, not an allocation).
pub(crate) fn read_to_end_limited(
    reader: &mut impl Read,
    limit: usize,
    complete: impl Fn(&[u8]) -> bool,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => {
                if out.len() + n > limit {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        format!("more than {limit} bytes"),
                    ));
                }
                out.extend_from_slice(&chunk[..n]);
                if complete(&out) {
                    return Ok(out);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads exactly `len` bytes, growing the buffer only as bytes arrive: a peer announcing a
/// huge length and sending nothing allocates nothing.
pub(crate) fn read_exact_growing(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(len.min(64 * 1024));
    let got = reader.take(len as u64).read_to_end(&mut out)?;
    if got != len {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn trickle_cannot_stretch_the_deadline() {
        let (client, mut server) = pair();
        let t = std::thread::spawn(move || {
            for _ in 0..20 {
                if server.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let start = Instant::now();
        let deadline = Some(start + Duration::from_millis(300));
        let mut r = Timed::new(client, deadline, Duration::from_secs(60));
        let mut buf = [0u8; 100];
        let err = r.read_exact(&mut buf).unwrap_err();
        assert!(is_deadline(&err), "{err}");
        assert!(start.elapsed() < Duration::from_millis(1500));
        drop(r);
        t.join().unwrap();
    }

    #[test]
    fn idle_bound_is_not_the_deadline() {
        let (client, _server) = pair();
        let mut buf = [0u8; 1];
        let err = read_by(&client, &mut buf, None, Duration::from_millis(50)).unwrap_err();
        assert!(!is_deadline(&err));
        let far = Some(Instant::now() + Duration::from_secs(60));
        let err = read_by(&client, &mut buf, far, Duration::from_millis(50)).unwrap_err();
        assert!(!is_deadline(&err));
        let past = Some(Instant::now() - Duration::from_millis(1));
        assert!(is_deadline(
            &read_by(&client, &mut buf, past, Duration::from_secs(1)).unwrap_err()
        ));
    }

    #[test]
    fn lying_lengths_allocate_nothing() {
        let mut short: &[u8] = b"abc";
        let err = read_exact_growing(&mut short, usize::MAX / 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        let mut exact: &[u8] = b"abcdef";
        assert_eq!(read_exact_growing(&mut exact, 3).unwrap(), b"abc");
        let mut big: &[u8] = &[0u8; 10_000];
        assert!(read_to_end_limited(&mut big, 9_999, |_| false).is_err());
        let mut ok: &[u8] = &[0u8; 10_000];
        assert_eq!(
            read_to_end_limited(&mut ok, 10_000, |_| false)
                .unwrap()
                .len(),
            10_000
        );
    }

    #[test]
    fn slow_reader_cannot_stretch_a_write() {
        let (client, server) = pair();
        // Fill the socket buffers; the peer never reads.
        let big = vec![0u8; 64 << 20];
        let start = Instant::now();
        let deadline = Some(start + Duration::from_millis(300));
        let err = write_all_by(&client, &big, deadline, Duration::from_secs(60)).unwrap_err();
        assert!(is_deadline(&err), "{err}");
        assert!(start.elapsed() < Duration::from_millis(1500));
        drop(server);
    }
}
