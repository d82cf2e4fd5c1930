//! The copy of a package's inflated tar that release_handler unpacks instead of the
//! `.tar.gz` (erl_tar's `compressed` option reads a plain tar too, and several times
//! faster). The package's reader hands each buffer it has read to a second thread that
//! writes it and hands it back: the copy costs the reader neither a memcpy nor the writes.
use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Buffers in flight between the reader and the writer.
const IN_FLIGHT: usize = 4;

/// A (buffer, bytes of it to write) handed to the writer.
type Filled = (Vec<u8>, usize);

pub(crate) struct Writer {
    /// None once the writer stopped or was told to finish (its error is in the join).
    to: Option<SyncSender<Filled>>,
    free: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Writer {
    pub(crate) fn spawn(mut file: File) -> Writer {
        let (to, from) = sync_channel::<Filled>(IN_FLIGHT);
        let (back, free) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
        let thread = std::thread::spawn(move || -> io::Result<()> {
            for (buf, len) in from {
                file.write_all(&buf[..len])?;
                let _ = back.try_send(buf);
            }
            file.flush()
        });
        Writer {
            to: Some(to),
            free,
            thread: Some(thread),
        }
    }

    /// Writes `buf[..len]` (on the writer's thread).
    pub(crate) fn write(&mut self, buf: Vec<u8>, len: usize) {
        if let Some(to) = &self.to
            && to.send((buf, len)).is_err()
        {
            // the writer failed: finish() returns its error
            self.to = None;
        }
    }

    /// A buffer the writer is done with, if one is back.
    pub(crate) fn reuse(&self) -> Option<Vec<u8>> {
        self.free.try_recv().ok()
    }

    /// Waits until everything handed over is written; the writer's error, if it had one.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.to = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the copy's writer stopped")),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_it_is_handed_and_reports_a_failed_write() {
        let dir = crate::test_support::scratch("upgrade-copy");
        let out = dir.join("copy");
        let mut w = Writer::spawn(File::create(&out).unwrap());
        let mut want = Vec::new();
        for i in 0..50u8 {
            let mut buf = w.reuse().unwrap_or_else(|| vec![0; 1000]);
            buf.fill(i);
            want.extend_from_slice(&buf[..i as usize]);
            w.write(buf, i as usize);
        }
        w.finish().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), want);
        // a file opened read-only cannot be written: the error comes back from finish()
        let mut w = Writer::spawn(File::open(&out).unwrap());
        for _ in 0..20 {
            w.write(vec![1; 100], 100);
        }
        assert!(w.finish().is_err());
    }
}
