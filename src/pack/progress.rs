//! Progress on stderr for large releases: a line at every tenth (rewritten in place on a
//! terminal), nothing for small ones.
use std::io::{Read, Write};

/// Below this many uncompressed bytes no progress is shown.
pub(crate) const LARGE: u64 = 16 << 20;

pub(crate) struct Progress {
    verb: &'static str,
    total: u64,
    done: u64,
    shown: u64,
    tty: bool,
    on: bool,
}

impl Progress {
    /// `tty_only`: show nothing unless stderr is a terminal (a first run's extraction must not
    /// add lines to a service's log).
    pub fn new(verb: &'static str, total: u64, tty_only: bool) -> Progress {
        // SAFETY: isatty only inspects the descriptor.
        let tty = unsafe { libc::isatty(2) == 1 };
        Progress {
            verb,
            total,
            done: 0,
            shown: 0,
            tty,
            on: total >= LARGE && (tty || !tty_only),
        }
    }

    /// The line for `done` of `total`, when a new tenth has been reached. Pure.
    pub fn step(&mut self, n: u64) -> Option<String> {
        self.done = self.done.saturating_add(n).min(self.total);
        let tenth = self.done.saturating_mul(10) / self.total.max(1);
        if !self.on || tenth <= self.shown {
            return None;
        }
        self.shown = tenth;
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        Some(format!(
            "beamrc: {} {:>3}% ({:.1} of {:.1} MiB)",
            self.verb,
            tenth * 10,
            mib(self.done),
            mib(self.total)
        ))
    }

    pub fn advance(&mut self, n: u64) {
        if let Some(line) = self.step(n) {
            let mut err = std::io::stderr().lock();
            let _ = if self.tty {
                let end = if self.shown >= 10 { "\n" } else { "" };
                write!(err, "\r{line}{end}")
            } else {
                writeln!(err, "{line}")
            };
        }
    }
}

/// A reader that reports what passes through it.
pub(crate) struct Counted<'a, R> {
    pub inner: R,
    pub progress: &'a mut Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_tenth_and_none_when_small() {
        let mut p = Progress::new("packing", 100 << 20, false);
        let lines: Vec<String> = (0..100).filter_map(|_| p.step(1 << 20)).collect();
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[0], "beamrc: packing  10% (10.0 of 100.0 MiB)");
        assert!(lines[9].contains("100%"));
        let mut small = Progress::new("packing", 1000, false);
        assert_eq!(small.step(1000), None);
    }
}
