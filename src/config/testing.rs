//! Test helpers for config: a small deterministic random generator for the bounded
//! fuzz drivers, and a way to ask a real VM.
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, good enough to drive parsers with odd input.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Text made of up to `max` random pieces.
    pub(crate) fn text(&mut self, pieces: &[&str], max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| *self.pick(pieces)).collect()
    }
}

/// Runs `case` with a fresh generator state until `iterations` cases ran or `budget`
/// passed (so it stays a few seconds in CI, even on a slow debug build); returns the
/// number of cases run. A failing case panics with its seed, to be replayed.
pub(crate) fn bounded(
    name: &str,
    iterations: u64,
    budget: Duration,
    mut case: impl FnMut(&mut Rng),
) -> u64 {
    let start = Instant::now();
    let mut n = 0;
    while n < iterations && start.elapsed() < budget {
        let seed = 0x9e37_79b9_7f4a_7c15 ^ n.wrapping_mul(0x100_0000_01b3);
        let mut rng = Rng::new(seed);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&mut rng)));
        if let Err(e) = result {
            eprintln!("{name}: case {n} (seed {seed:#x}) failed");
            std::panic::resume_unwind(e);
        }
        n += 1;
    }
    n
}

/// Runs `erl -noshell ARGS -eval EXPR` and returns its stdout; panics (with an install
/// hint) when Erlang is missing or the VM fails.
pub(crate) fn erl_eval(args: &[String], expr: &str) -> String {
    let out = std::process::Command::new("erl")
        .arg("-noshell")
        .args(args)
        .arg("-eval")
        .arg(expr)
        .env_remove("ERL_AFLAGS")
        .env_remove("ERL_FLAGS")
        .env_remove("ERL_ZFLAGS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "\n*** this test needs Erlang/OTP's `erl` on PATH ({e}) ***\n\
                 *** install it: apt-get install erlang-nox ***\n"
            )
        });
    assert!(
        out.status.success(),
        "erl failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("erl printed UTF-8")
}
