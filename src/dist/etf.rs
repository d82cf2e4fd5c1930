//! Erlang External Term Format: the subset a hidden client exchanges, with pass-through
//! of everything else.
//!
//! Terms we never need to look inside (funs, ports, old pids/refs, bit binaries, old
//! floats) are kept as [`Term::Raw`] holding their exact encoding, so they can be sent back
//! to the node verbatim (for example a stacktrace handed to `Kernel.CLI.format_error/3`).
//! Decoding never panics: lengths are checked against the input, allocations are bounded by
//! the input size and nesting depth is limited.
use std::fmt;

pub const VERSION: u8 = 131;

const NEW_FLOAT: u8 = 70;
const BIT_BINARY: u8 = 77;
const COMPRESSED: u8 = 80;
const NEW_PID: u8 = 88;
const NEW_PORT: u8 = 89;
const NEWER_REFERENCE: u8 = 90;
const SMALL_INTEGER: u8 = 97;
const INTEGER: u8 = 98;
const FLOAT: u8 = 99;
const ATOM: u8 = 100;
const REFERENCE: u8 = 101;
const PORT: u8 = 102;
const PID: u8 = 103;
const SMALL_TUPLE: u8 = 104;
const LARGE_TUPLE: u8 = 105;
const NIL: u8 = 106;
const STRING: u8 = 107;
const LIST: u8 = 108;
const BINARY: u8 = 109;
const SMALL_BIG: u8 = 110;
const LARGE_BIG: u8 = 111;
const NEW_FUN: u8 = 112;
const EXPORT: u8 = 113;
const NEW_REFERENCE: u8 = 114;
const SMALL_ATOM: u8 = 115;
const MAP: u8 = 116;
const FUN: u8 = 117;
const ATOM_UTF8: u8 = 118;
const SMALL_ATOM_UTF8: u8 = 119;
const V4_PORT: u8 = 120;

/// Deep enough for any real error reason, shallow enough that recursion cannot overflow
/// the stack on hostile input.
const MAX_DEPTH: usize = 512;

/// An Erlang term.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Atom(String),
    /// Any integer that fits in i64, whatever its encoding.
    Int(i64),
    /// A bignum outside i64: sign and little-endian magnitude bytes as encoded.
    BigInt {
        negative: bool,
        magnitude: Vec<u8>,
    },
    Float(f64),
    Tuple(Vec<Term>),
    /// A non-empty list: elements and tail (`Nil` for a proper list).
    List(Vec<Term>, Box<Term>),
    Nil,
    /// A list of bytes in STRING_EXT form (an Erlang charlist of code points < 256).
    Charlist(Vec<u8>),
    Binary(Vec<u8>),
    Map(Vec<(Term, Term)>),
    Pid(Pid),
    Ref(Reference),
    /// Any other term, as its exact encoding (tag byte included, version byte excluded).
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pid {
    pub node: String,
    pub id: u32,
    pub serial: u32,
    pub creation: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub node: String,
    pub creation: u32,
    pub ids: Vec<u32>,
}

/// Why a byte sequence is not a term we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad external term at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

impl Term {
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_string())
    }

    /// A proper list.
    pub fn list(items: Vec<Term>) -> Term {
        if items.is_empty() {
            Term::Nil
        } else {
            Term::List(items, Box::new(Term::Nil))
        }
    }

    /// An Erlang charlist (list of code points) for `s`.
    pub fn charlist(s: &str) -> Term {
        if s.chars().all(|c| (c as u32) < 256) {
            let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
            if bytes.is_empty() {
                Term::Nil
            } else {
                Term::Charlist(bytes)
            }
        } else {
            Term::list(s.chars().map(|c| Term::Int(i64::from(c as u32))).collect())
        }
    }

    pub fn binary(bytes: impl Into<Vec<u8>>) -> Term {
        Term::Binary(bytes.into())
    }

    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Term::Atom(a) if a == name)
    }

    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of a proper list (any encoding), or None.
    pub fn list_items(&self) -> Option<Vec<Term>> {
        match self {
            Term::Nil => Some(Vec::new()),
            Term::Charlist(bytes) => Some(bytes.iter().map(|b| Term::Int(i64::from(*b))).collect()),
            Term::List(items, tail) if **tail == Term::Nil => Some(items.clone()),
            _ => None,
        }
    }

    /// Encoding with the version byte, ready to send.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of `self` without the version byte.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Term::Atom(name) => encode_atom(name, out),
            Term::Int(i) => encode_int(*i, out),
            Term::BigInt {
                negative,
                magnitude,
            } => encode_big(*negative, magnitude, out),
            Term::Float(f) => {
                out.push(NEW_FLOAT);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Term::Tuple(items) => {
                if items.len() < 256 {
                    out.extend_from_slice(&[SMALL_TUPLE, items.len() as u8]);
                } else {
                    out.push(LARGE_TUPLE);
                    out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                }
                items.iter().for_each(|t| t.encode_into(out));
            }
            Term::List(items, tail) => {
                out.push(LIST);
                out.extend_from_slice(&(items.len() as u32).to_be_bytes());
                items.iter().for_each(|t| t.encode_into(out));
                tail.encode_into(out);
            }
            Term::Nil => out.push(NIL),
            Term::Charlist(bytes) => encode_charlist(bytes, out),
            Term::Binary(bytes) => {
                out.push(BINARY);
                out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                out.extend_from_slice(bytes);
            }
            Term::Map(pairs) => {
                out.push(MAP);
                out.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
                for (k, v) in pairs {
                    k.encode_into(out);
                    v.encode_into(out);
                }
            }
            Term::Pid(pid) => {
                out.push(NEW_PID);
                encode_atom(&pid.node, out);
                for n in [pid.id, pid.serial, pid.creation] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
            Term::Ref(r) => {
                out.push(NEWER_REFERENCE);
                out.extend_from_slice(&(r.ids.len() as u16).to_be_bytes());
                encode_atom(&r.node, out);
                out.extend_from_slice(&r.creation.to_be_bytes());
                r.ids
                    .iter()
                    .for_each(|id| out.extend_from_slice(&id.to_be_bytes()));
            }
            Term::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}

fn encode_atom(name: &str, out: &mut Vec<u8>) {
    // Atoms are at most 255 characters, so 4 * 255 bytes always fits the u16 form.
    if name.len() < 256 {
        out.extend_from_slice(&[SMALL_ATOM_UTF8, name.len() as u8]);
    } else {
        out.push(ATOM_UTF8);
        out.extend_from_slice(&(name.len().min(u16::MAX as usize) as u16).to_be_bytes());
    }
    out.extend_from_slice(&name.as_bytes()[..name.len().min(u16::MAX as usize)]);
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    if (0..256).contains(&i) {
        out.extend_from_slice(&[SMALL_INTEGER, i as u8]);
    } else if let Ok(small) = i32::try_from(i) {
        out.push(INTEGER);
        out.extend_from_slice(&small.to_be_bytes());
    } else {
        let magnitude: Vec<u8> = i.unsigned_abs().to_le_bytes().into_iter().collect();
        let used = magnitude.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
        encode_big(i < 0, &magnitude[..used], out);
    }
}

fn encode_big(negative: bool, magnitude: &[u8], out: &mut Vec<u8>) {
    if magnitude.len() < 256 {
        out.extend_from_slice(&[SMALL_BIG, magnitude.len() as u8]);
    } else {
        out.push(LARGE_BIG);
        out.extend_from_slice(&(magnitude.len() as u32).to_be_bytes());
    }
    out.push(u8::from(negative));
    out.extend_from_slice(magnitude);
}

fn encode_charlist(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.is_empty() {
        out.push(NIL);
    } else if bytes.len() <= u16::MAX as usize {
        out.push(STRING);
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    } else {
        // STRING_EXT is limited to 65535 elements; longer charlists are ordinary lists.
        out.push(LIST);
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        bytes
            .iter()
            .for_each(|b| out.extend_from_slice(&[SMALL_INTEGER, *b]));
        out.push(NIL);
    }
}

/// Decodes one complete term (version byte first, nothing after it).
pub fn decode(bytes: &[u8]) -> Result<Term, DecodeError> {
    let (term, used) = decode_prefix(bytes)?;
    if used != bytes.len() {
        return Err(DecodeError {
            offset: used,
            reason: "trailing bytes after term",
        });
    }
    Ok(term)
}

/// Decodes one term (version byte first) from the start of `bytes`; returns it and the
/// number of bytes it used. Distribution messages put two terms back to back.
pub fn decode_prefix(bytes: &[u8]) -> Result<(Term, usize), DecodeError> {
    let mut d = Decoder { buf: bytes, pos: 0 };
    if d.u8()? != VERSION {
        return Err(d.err_at(0, "missing version byte 131"));
    }
    if d.buf.get(1) == Some(&COMPRESSED) {
        // zlib-compressed terms are never produced by distribution; keep them opaque.
        return Ok((Term::Raw(bytes[1..].to_vec()), bytes.len()));
    }
    let term = d.term(0)?;
    Ok((term, d.pos))
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn err_at(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError { offset, reason }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| self.err_at(self.pos, "truncated"))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len32(&mut self) -> Result<usize, DecodeError> {
        Ok(self.u32()? as usize)
    }

    /// Capacity for `n` claimed elements, bounded by what the input could hold, so a
    /// lying length cannot make us allocate gigabytes.
    fn capacity(&self, n: usize) -> usize {
        n.min(self.buf.len() - self.pos)
    }

    fn term(&mut self, depth: usize) -> Result<Term, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.err_at(self.pos, "nesting too deep"));
        }
        let start = self.pos;
        let tag = self.u8()?;
        match tag {
            SMALL_INTEGER => Ok(Term::Int(i64::from(self.u8()?))),
            INTEGER => Ok(Term::Int(i64::from(self.u32()? as i32))),
            SMALL_BIG => {
                let n = usize::from(self.u8()?);
                self.big(n)
            }
            LARGE_BIG => {
                let n = self.len32()?;
                self.big(n)
            }
            NEW_FLOAT => {
                let b = self.take(8)?;
                let bits = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                Ok(Term::Float(f64::from_bits(bits)))
            }
            ATOM | SMALL_ATOM | ATOM_UTF8 | SMALL_ATOM_UTF8 => {
                self.atom_body(tag, start).map(Term::Atom)
            }
            SMALL_TUPLE => {
                let n = usize::from(self.u8()?);
                self.tuple(n, depth)
            }
            LARGE_TUPLE => {
                let n = self.len32()?;
                self.tuple(n, depth)
            }
            NIL => Ok(Term::Nil),
            STRING => {
                let n = usize::from(self.u16()?);
                Ok(Term::Charlist(self.take(n)?.to_vec()))
            }
            LIST => self.list(depth),
            BINARY => {
                let n = self.len32()?;
                Ok(Term::Binary(self.take(n)?.to_vec()))
            }
            MAP => self.map(depth),
            NEW_PID => self.new_pid(),
            NEWER_REFERENCE => self.newer_reference(),
            _ => {
                self.skip_opaque(tag, start, depth)?;
                Ok(Term::Raw(self.buf[start..self.pos].to_vec()))
            }
        }
    }

    fn big(&mut self, n: usize) -> Result<Term, DecodeError> {
        let negative = match self.u8()? {
            0 => false,
            1 => true,
            _ => return Err(self.err_at(self.pos - 1, "bad bignum sign")),
        };
        let magnitude = self.take(n)?;
        let used = magnitude.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
        if used <= 8 {
            let mut le = [0u8; 8];
            le[..used].copy_from_slice(&magnitude[..used]);
            let value = i128::from(u64::from_le_bytes(le));
            let value = if negative { -value } else { value };
            if let Ok(i) = i64::try_from(value) {
                return Ok(Term::Int(i));
            }
        }
        Ok(Term::BigInt {
            negative,
            magnitude: magnitude.to_vec(),
        })
    }

    /// The name of an atom whose tag was just read.
    fn atom_body(&mut self, tag: u8, start: usize) -> Result<String, DecodeError> {
        let n = match tag {
            ATOM | ATOM_UTF8 => usize::from(self.u16()?),
            SMALL_ATOM | SMALL_ATOM_UTF8 => usize::from(self.u8()?),
            _ => return Err(self.err_at(start, "expected an atom")),
        };
        let bytes = self.take(n)?;
        if matches!(tag, ATOM_UTF8 | SMALL_ATOM_UTF8) {
            String::from_utf8(bytes.to_vec()).map_err(|_| self.err_at(start, "atom is not UTF-8"))
        } else {
            Ok(bytes.iter().map(|b| char::from(*b)).collect())
        }
    }

    fn atom(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        let tag = self.u8()?;
        self.atom_body(tag, start)
    }

    fn tuple(&mut self, n: usize, depth: usize) -> Result<Term, DecodeError> {
        let mut items = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            items.push(self.term(depth + 1)?);
        }
        Ok(Term::Tuple(items))
    }

    fn list(&mut self, depth: usize) -> Result<Term, DecodeError> {
        let n = self.len32()?;
        let mut items = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            items.push(self.term(depth + 1)?);
        }
        let tail = self.term(depth + 1)?;
        if items.is_empty() {
            // A zero-length LIST_EXT is just its tail; normalise so equal terms compare equal.
            return Ok(tail);
        }
        Ok(Term::List(items, Box::new(tail)))
    }

    fn map(&mut self, depth: usize) -> Result<Term, DecodeError> {
        let n = self.len32()?;
        let mut pairs = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            let k = self.term(depth + 1)?;
            let v = self.term(depth + 1)?;
            pairs.push((k, v));
        }
        Ok(Term::Map(pairs))
    }

    fn new_pid(&mut self) -> Result<Term, DecodeError> {
        let node = self.atom()?;
        let (id, serial, creation) = (self.u32()?, self.u32()?, self.u32()?);
        Ok(Term::Pid(Pid {
            node,
            id,
            serial,
            creation,
        }))
    }

    fn newer_reference(&mut self) -> Result<Term, DecodeError> {
        let n = usize::from(self.u16()?);
        let node = self.atom()?;
        let creation = self.u32()?;
        let mut ids = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            ids.push(self.u32()?);
        }
        Ok(Term::Ref(Reference {
            node,
            creation,
            ids,
        }))
    }

    /// Moves past a term we keep as raw bytes, checking its structure on the way.
    fn skip_opaque(&mut self, tag: u8, start: usize, depth: usize) -> Result<(), DecodeError> {
        match tag {
            FLOAT => self.take(31).map(drop),
            BIT_BINARY => {
                let n = self.len32()?;
                self.take(1 + n).map(drop)
            }
            PID => self.node_then(9),
            PORT | REFERENCE => self.node_then(5),
            NEW_PORT => self.node_then(8),
            V4_PORT => self.node_then(12),
            NEW_REFERENCE => {
                let n = usize::from(self.u16()?);
                self.atom()?;
                self.take(1 + 4 * n).map(drop)
            }
            NEW_FUN => {
                // Size counts itself and everything after the tag.
                let size = self.len32()?;
                let rest = size
                    .checked_sub(4)
                    .ok_or_else(|| self.err_at(start, "bad fun size"))?;
                self.take(rest).map(drop)
            }
            EXPORT => {
                self.atom()?;
                self.atom()?;
                self.term(depth + 1).map(drop)
            }
            FUN => {
                let free = self.len32()?;
                for _ in 0..4 + free {
                    self.term(depth + 1)?;
                }
                Ok(())
            }
            _ => Err(self.err_at(start, "unsupported term tag")),
        }
    }

    fn node_then(&mut self, fixed: usize) -> Result<(), DecodeError> {
        self.atom()?;
        self.take(fixed).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(t: Term) {
        let bytes = t.to_bytes();
        assert_eq!(decode(&bytes).as_ref(), Ok(&t), "bytes {bytes:?}");
    }

    #[test]
    fn roundtrips() {
        let pid = Term::Pid(Pid {
            node: "a@b".into(),
            id: 1,
            serial: 2,
            creation: 77,
        });
        let r = Term::Ref(Reference {
            node: "a@b".into(),
            creation: 77,
            ids: vec![1, 2, 3],
        });
        for t in [
            Term::atom("ok"),
            Term::atom("héllo ✓"),
            Term::Atom("x".repeat(300)),
            Term::Int(0),
            Term::Int(255),
            Term::Int(256),
            Term::Int(-1),
            Term::Int(i64::from(i32::MAX) + 1),
            Term::Int(i64::MIN),
            Term::Int(i64::MAX),
            Term::BigInt {
                negative: true,
                magnitude: vec![0, 0, 0, 0, 0, 0, 0, 0, 1],
            },
            Term::Float(1.5),
            Term::Tuple(vec![]),
            Term::Tuple((0..300).map(Term::Int).collect()),
            Term::Nil,
            Term::list(vec![Term::Int(1), Term::atom("a")]),
            Term::List(vec![Term::Int(1)], Box::new(Term::atom("improper"))),
            Term::Charlist(b"abc".to_vec()),
            Term::binary(b"bin".to_vec()),
            Term::Map(vec![(Term::atom("k"), Term::binary(vec![]))]),
            pid,
            r,
            Term::Raw(vec![NEW_FUN, 0, 0, 0, 5, 42]),
        ] {
            roundtrip(t);
        }
    }

    #[test]
    fn charlist_helper() {
        assert_eq!(Term::charlist(""), Term::Nil);
        assert_eq!(Term::charlist("ab"), Term::Charlist(b"ab".to_vec()));
        assert_eq!(
            Term::charlist("✓").list_items(),
            Some(vec![Term::Int(0x2713)])
        );
        let long = "x".repeat(70_000);
        let t = Term::charlist(&long);
        let back = decode(&t.to_bytes()).unwrap();
        assert_eq!(back.list_items().unwrap().len(), 70_000);
    }

    #[test]
    fn latin1_atoms_and_old_integer_forms() {
        assert_eq!(decode(&[131, 100, 0, 2, b'o', b'k']), Ok(Term::atom("ok")));
        assert_eq!(decode(&[131, 115, 1, 0xe9]), Ok(Term::atom("é")));
        assert_eq!(decode(&[131, 98, 255, 255, 255, 255]), Ok(Term::Int(-1)));
        // A bignum that fits is normalised to Int.
        assert_eq!(decode(&[131, 110, 2, 1, 0, 1]), Ok(Term::Int(-256)));
        assert_eq!(decode(&[131, 108, 0, 0, 0, 0, 106]), Ok(Term::Nil));
    }

    #[test]
    fn opaque_terms_are_kept_verbatim() {
        // PID_EXT, PORT_EXT, BIT_BINARY_EXT, EXPORT_EXT
        let samples: Vec<Vec<u8>> = vec![
            vec![103, 119, 1, b'n', 0, 0, 0, 1, 0, 0, 0, 2, 3],
            vec![102, 119, 1, b'n', 0, 0, 0, 1, 3],
            vec![77, 0, 0, 0, 1, 3, 0xe0],
            vec![113, 119, 1, b'm', 119, 1, b'f', 97, 2],
        ];
        for raw in samples {
            let mut bytes = vec![131];
            bytes.extend_from_slice(&raw);
            let t = decode(&bytes).unwrap();
            assert_eq!(t, Term::Raw(raw.clone()));
            assert_eq!(t.to_bytes(), bytes);
        }
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let good = Term::Tuple(vec![
            Term::atom("io_request"),
            Term::Map(vec![(Term::Int(1), Term::binary(b"xyz".to_vec()))]),
            Term::list(vec![Term::Float(2.0), Term::Int(1 << 40)]),
        ])
        .to_bytes();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "prefix of {cut} bytes");
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[130, 97, 1]).is_err());
        assert!(decode(&[131, 82, 0]).is_err()); // atom cache ref: never negotiated
        assert!(decode(&[131, 97, 1, 0]).is_err()); // trailing byte
        assert!(decode(&[131, 119, 2, 0xff, 0xfe]).is_err()); // bad UTF-8 atom
        assert!(decode(&[131, 108, 255, 255, 255, 255, 106]).is_err()); // huge claimed length
        assert!(decode(&[131, 112, 0, 0, 0, 2]).is_err()); // fun size below its header
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut bytes = vec![131];
        bytes.extend(std::iter::repeat_n([104u8, 1], 100_000).flatten());
        bytes.push(106);
        assert!(decode(&bytes).is_err());
    }

    /// Terms encoded by the installed OTP's `term_to_binary/1` (default options, which on
    /// OTP 25 still writes latin1 atoms, and `minor_version 2`), as byte pairs.
    fn otp_encodings() -> Vec<(Vec<u8>, Vec<u8>)> {
        let script = r#"Ts = [ok, list_to_atom([104,233,108,108,111]), 255, 256, -1, 1 bsl 40,
              -(1 bsl 70), 1.5, {a, <<"bin">>}, [1, 2 | 3], "abc", [], #{k => v},
              [10003], self(), make_ref(), fun() -> ok end, fun lists:map/2, <<1:3>>,
              list_to_atom(lists:duplicate(255, $x))],
            Hex = fun(B) -> binary:encode_hex(B) end,
            [io:format("~s ~s~n", [Hex(term_to_binary(T)),
                                   Hex(term_to_binary(T, [{minor_version, 2}]))]) || T <- Ts],
            halt()."#;
        let out = std::process::Command::new("erl")
            .args(["-noshell", "-eval", script])
            .output()
            .expect("install erlang-nox elixir (apt-get install erlang-nox erlang-dev elixir)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|line| {
                let (a, b) = line.split_once(' ').unwrap();
                (unhex(a), unhex(b))
            })
            .collect()
    }

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn decodes_real_term_to_binary_output() {
        let enc = otp_encodings();
        assert_eq!(enc.len(), 20);
        let d: Vec<Term> = enc.iter().map(|(b, _)| decode(b).unwrap()).collect();
        assert_eq!(d[0], Term::atom("ok"));
        assert_eq!(d[1], Term::atom("héllo"));
        assert_eq!(d[2], Term::Int(255));
        assert_eq!(d[3], Term::Int(256));
        assert_eq!(d[4], Term::Int(-1));
        assert_eq!(d[5], Term::Int(1 << 40));
        assert_eq!(
            d[6],
            Term::BigInt {
                negative: true,
                magnitude: vec![0, 0, 0, 0, 0, 0, 0, 0, 0x40]
            }
        );
        assert_eq!(d[7], Term::Float(1.5));
        assert_eq!(
            d[8],
            Term::Tuple(vec![Term::atom("a"), Term::binary(b"bin".to_vec())])
        );
        assert_eq!(
            d[9],
            Term::List(vec![Term::Int(1), Term::Int(2)], Box::new(Term::Int(3)))
        );
        assert_eq!(d[10], Term::Charlist(b"abc".to_vec()));
        assert_eq!(d[11], Term::Nil);
        assert_eq!(d[12], Term::Map(vec![(Term::atom("k"), Term::atom("v"))]));
        assert_eq!(d[13], Term::list(vec![Term::Int(10003)]));
        assert!(matches!(&d[14], Term::Pid(p) if p.node == "nonode@nohost"));
        assert!(matches!(&d[15], Term::Ref(r) if r.ids.len() >= 3));
        assert!(matches!(&d[16], Term::Raw(b) if b[0] == NEW_FUN));
        assert!(matches!(&d[17], Term::Raw(b) if b[0] == EXPORT));
        assert!(matches!(&d[18], Term::Raw(b) if b[0] == BIT_BINARY));
        assert_eq!(d[19], Term::Atom("x".repeat(255)));
        // Both encodings decode alike (raw terms keep their own atom encodings), and ours
        // is byte for byte OTP's UTF-8-atom form.
        for (term, (latin1_form, utf8_form)) in d.iter().zip(&enc) {
            if matches!(term, Term::Raw(_)) {
                assert_eq!(&term.to_bytes(), latin1_form);
                continue;
            }
            assert_eq!(decode(utf8_form).as_ref(), Ok(term));
            assert_eq!(&term.to_bytes(), utf8_form, "re-encoding {term:?}");
        }
    }

    #[test]
    fn decode_prefix_reports_length() {
        let mut bytes = Term::atom("a").to_bytes();
        bytes.extend(Term::Int(5).to_bytes());
        let (t, used) = decode_prefix(&bytes).unwrap();
        assert_eq!(t, Term::atom("a"));
        assert_eq!(decode(&bytes[used..]), Ok(Term::Int(5)));
    }
}
