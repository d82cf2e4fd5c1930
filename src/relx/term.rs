//! Printing a result term the way `erl_call` prints it (erl_interface's `ei_print_term`),
//! which is what relx's script shows for `rpc` and `eval` by default.
//!
//! The rules (from `ei_printterm.c`): atoms in single quotes unless they start with a
//! lowercase letter and hold only letters, digits, `_` and `@`; `, ` between elements of
//! lists, tuples and maps (`#{K => V}`); `[H | T]` for improper lists; a charlist (the
//! STRING_EXT encoding) in double quotes, bytes below 32 as `\n \r \t \v \b \f` or `\xH`;
//! binaries as `#Bin<1,2,3>` (at most 30 bytes, then `,...`); pids `<node.id.serial>`;
//! refs `#Ref<a.b.c>`; floats with six decimals (`%f`); big integers above 64 bits in base 16
//! (`16#…`).
use std::fmt::Write as _;

use crate::dist::Term;

const BIN_PRINT: usize = 30;

pub fn ei_print(term: &Term) -> String {
    let mut out = String::new();
    print(term, &mut out);
    out
}

fn print(term: &Term, out: &mut String) {
    match term {
        Term::Atom(a) => atom(a, out),
        Term::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Term::BigInt {
            negative,
            magnitude,
        } => big(*negative, magnitude, out),
        Term::Float(f) => {
            let _ = write!(out, "{f:.6}");
        }
        Term::Tuple(items) => {
            out.push('{');
            join(items, out);
            out.push('}');
        }
        Term::Nil => out.push_str("[]"),
        Term::List(items, tail) => {
            out.push('[');
            join(items, out);
            if **tail != Term::Nil {
                out.push_str(" | ");
                print(tail, out);
            }
            out.push(']');
        }
        Term::Charlist(bytes) => string(bytes, out),
        Term::Binary(bytes) => {
            out.push_str("#Bin<");
            let shown: Vec<String> = bytes.iter().take(BIN_PRINT).map(u8::to_string).collect();
            out.push_str(&shown.join(","));
            if bytes.len() > BIN_PRINT {
                out.push_str(",...");
            }
            out.push('>');
        }
        Term::Map(pairs) => {
            out.push_str("#{");
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(k, out);
                out.push_str(" => ");
                print(v, out);
            }
            out.push('}');
        }
        Term::Pid(p) => {
            let _ = write!(out, "<{}.{}.{}>", p.node, p.id, p.serial);
        }
        Term::Ref(r) => {
            let ids: Vec<String> = r.ids.iter().map(u32::to_string).collect();
            let _ = write!(out, "#Ref<{}>", ids.join("."));
        }
        Term::Raw(_) => out.push_str("#Term<>"),
    }
}

fn join(items: &[Term], out: &mut String) {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        print(t, out);
    }
}

fn atom(a: &str, out: &mut String) {
    let plain = a.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
    if plain {
        out.push_str(a);
    } else {
        out.push('\'');
        out.push_str(a);
        out.push('\'');
    }
}

fn string(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0..=31 => {
                let _ = write!(out, "\\x{b:x}");
            }
            // ei prints the byte itself (C's signed char: bytes ≥ 128 are negative and
            // take the `\x` branch with a sign-extended value).
            128.. => {
                let _ = write!(out, "\\x{:x}", (b as i8) as i32 as u32);
            }
            _ => out.push(b as char),
        }
    }
    out.push('"');
}

fn big(negative: bool, magnitude: &[u8], out: &mut String) {
    if negative {
        out.push('-');
    }
    if magnitude.len() <= 8 {
        let mut v: u64 = 0;
        for (i, b) in magnitude.iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        let _ = write!(out, "{v}");
        return;
    }
    out.push_str("16#");
    let hex: String = magnitude.iter().rev().map(|b| format!("{b:02X}")).collect();
    let trimmed = hex.trim_start_matches('0');
    out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_erl_call() {
        let t = |items: Vec<Term>| Term::Tuple(items);
        assert_eq!(ei_print(&Term::atom("n7@box")), "n7@box");
        assert_eq!(ei_print(&Term::atom("EXIT")), "'EXIT'");
        assert_eq!(ei_print(&Term::Charlist(vec![3, 2, 1])), "\"\\x3\\x2\\x1\"");
        assert_eq!(ei_print(&Term::Charlist(b"101".to_vec())), "\"101\"");
        let badrpc = t(vec![
            Term::atom("badrpc"),
            t(vec![
                Term::atom("EXIT"),
                t(vec![Term::atom("foo"), Term::Nil]),
            ]),
        ]);
        assert_eq!(ei_print(&badrpc), "{badrpc, {'EXIT', {foo, []}}}");
        let improper = Term::List(vec![Term::Int(1)], Box::new(Term::Int(2)));
        assert_eq!(ei_print(&improper), "[1 | 2]");
        assert_eq!(ei_print(&Term::Float(1.5)), "1.500000");
        assert_eq!(ei_print(&Term::Binary(b"ab".to_vec())), "#Bin<97,98>");
        let map = Term::Map(vec![(Term::atom("a"), Term::Int(1))]);
        assert_eq!(ei_print(&map), "#{a => 1}");
    }
}
