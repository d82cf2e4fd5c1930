//! A bounded, deterministic fuzz driver for every parser of bytes off the wire (stable
//! toolchain; `fuzz/` has the libFuzzer target for the term decoder on nightly): random
//! bytes and mutations of valid messages (truncated, bit-flipped, lengths set to their
//! maximum) must give an error or a value, never a panic or a huge allocation.
use super::etf::{self, Term};
use super::{conn, epmd, handshake};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn samples() -> Vec<Vec<u8>> {
    let term = Term::Tuple(vec![
        Term::atom("io_request"),
        Term::binary("hé".as_bytes()),
        Term::list(vec![Term::Int(1 << 40), Term::Float(1.5), Term::Nil]),
        Term::Map(vec![(Term::atom("k"), Term::charlist("✓"))]),
    ]);
    let mut packet = vec![112];
    packet.extend(Term::Tuple(vec![Term::Int(2), Term::atom(""), Term::atom("x")]).to_bytes());
    packet.extend(term.to_bytes());
    let mut epmd_reply = vec![b'w', 0, 0x94, 0x21, 77, 0, 0, 6, 0, 6, 0, 4];
    epmd_reply.extend_from_slice(b"demo\0\0");
    let mut challenge = vec![b'N'];
    challenge.extend_from_slice(&handshake::OUR_FLAGS.to_be_bytes());
    challenge.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9, 0, 4]);
    challenge.extend_from_slice(b"a@vm");
    vec![term.to_bytes(), packet, epmd_reply, challenge]
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !out.is_empty() => out.truncate(rng.below(out.len())),
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            2 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = 0xff;
            }
            3 => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next() as u8);
            }
            _ => out.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
        }
    }
    out
}

fn feed(bytes: &[u8]) {
    let _ = etf::decode(bytes);
    if let Ok(term) = etf::decode(bytes) {
        // What we accept re-encodes to something we accept again.
        assert!(etf::decode(&term.to_bytes()).is_ok());
    }
    let _ = etf::decode_prefix(bytes);
    let _ = epmd::parse_reply(bytes, "demo");
    let _ = handshake::parse_challenge(bytes);
    let _ = handshake::parse_named(bytes, "vm");
    let _ = conn::parse_packet(bytes);
}

#[test]
fn wire_parsers_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = samples();
    for seed in &seeds {
        feed(seed);
    }
    for _ in 0..200_000 {
        let input = if rng.below(4) == 0 {
            (0..rng.below(64)).map(|_| rng.next() as u8).collect()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        feed(&input);
    }
}
