//! Reading the Erlang term files of a release (`.rel`, `relup`, `sys.config`) as
//! `file:consult/1` does: a sequence of terms, each ending with `.`, `%` comments.
//!
//! Only data terms: atoms, numbers, `$c` characters, strings, binaries, tuples, lists
//! (with `|` tails), maps. Anything else is an error with its line, so a file the node
//! would read as `{error, …}` (release_handler turns a bad sys.config into `[]`) is caught
//! before the upgrade.

/// A parsed term. Strings stay strings (a charlist the file wrote as `"…"`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum T {
    Atom(String),
    Int(i128),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Tuple(Vec<T>),
    List(Vec<T>),
    Map(Vec<(T, T)>),
}

impl T {
    pub(crate) fn atom(&self) -> Option<&str> {
        match self {
            T::Atom(a) => Some(a),
            _ => None,
        }
    }
    pub(crate) fn is_atom(&self, name: &str) -> bool {
        self.atom() == Some(name)
    }
    /// A string written `"…"`, or a list of character codes.
    pub(crate) fn string(&self) -> Option<String> {
        match self {
            T::Str(s) => Some(s.clone()),
            T::List(items) => items
                .iter()
                .map(|i| match i {
                    T::Int(c) => u32::try_from(*c).ok().and_then(char::from_u32),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
    pub(crate) fn tuple(&self) -> Option<&[T]> {
        match self {
            T::Tuple(items) => Some(items),
            _ => None,
        }
    }
    pub(crate) fn list(&self) -> Option<&[T]> {
        match self {
            T::List(items) => Some(items),
            T::Str(s) if s.is_empty() => Some(&[]),
            _ => None,
        }
    }
}

/// Why a file does not parse: line (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bad {
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// All terms of a file, as `file:consult/1` reads them.
pub(crate) fn consult(text: &str) -> Result<Vec<T>, Bad> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip();
        if p.i >= p.b.len() {
            return Ok(out);
        }
        out.push(p.term(0)?);
        p.skip();
        if p.peek() != Some(b'.') {
            return Err(p.bad("expected `.` after a term"));
        }
        p.i += 1;
    }
}

/// The one term of a file that must hold exactly one (`.rel`, `relup`, `sys.config`).
pub(crate) fn consult_one(text: &str) -> Result<T, Bad> {
    let mut terms = consult(text)?;
    match terms.len() {
        1 => Ok(terms.pop().expect("one term")),
        n => Err(Bad {
            line: 1,
            what: format!("expected one term, found {n}"),
        }),
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

const MAX_DEPTH: usize = 200;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn line(&self) -> usize {
        1 + self.b[..self.i.min(self.b.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
    }

    fn bad(&self, what: &str) -> Bad {
        Bad {
            line: self.line(),
            what: what.to_string(),
        }
    }

    /// Blanks and `%` comments.
    fn skip(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'%' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip();
        if self.b[self.i..].starts_with(s.as_bytes()) {
            self.i += s.len();
            true
        } else {
            false
        }
    }

    fn term(&mut self, depth: usize) -> Result<T, Bad> {
        if depth > MAX_DEPTH {
            return Err(self.bad("terms nested too deeply"));
        }
        self.skip();
        let Some(c) = self.peek() else {
            return Err(self.bad("unexpected end of file"));
        };
        match c {
            b'{' => {
                self.i += 1;
                Ok(T::Tuple(self.items(b'}', depth)?))
            }
            b'[' => {
                self.i += 1;
                self.list(depth)
            }
            b'#' if self.b.get(self.i + 1) == Some(&b'{') => {
                self.i += 2;
                self.map(depth)
            }
            b'<' if self.b.get(self.i + 1) == Some(&b'<') => {
                self.i += 2;
                self.binary()
            }
            b'"' => Ok(T::Str(self.quoted(b'"')?)),
            b'\'' => Ok(T::Atom(self.quoted(b'\'')?)),
            b'$' => {
                self.i += 1;
                Ok(T::Int(self.char_literal()? as i128))
            }
            b'-' | b'+' | b'0'..=b'9' => self.number(),
            c if c.is_ascii_lowercase() => Ok(T::Atom(self.word())),
            _ => Err(self.bad(&format!("unexpected `{}`", c as char))),
        }
    }

    fn items(&mut self, close: u8, depth: usize) -> Result<Vec<T>, Bad> {
        let mut out = Vec::new();
        self.skip();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(out);
        }
        loop {
            out.push(self.term(depth + 1)?);
            self.skip();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.bad(&format!("expected `,` or `{}`", close as char))),
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<T, Bad> {
        let mut out = Vec::new();
        self.skip();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(T::List(out));
        }
        loop {
            out.push(self.term(depth + 1)?);
            self.skip();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'|') => {
                    self.i += 1;
                    let tail = self.term(depth + 1)?;
                    if !self.eat("]") {
                        return Err(self.bad("expected `]` after a list tail"));
                    }
                    return match tail {
                        T::List(rest) => {
                            out.extend(rest);
                            Ok(T::List(out))
                        }
                        _ => Err(self.bad("improper lists are not supported")),
                    };
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(T::List(out));
                }
                _ => return Err(self.bad("expected `,`, `|` or `]`")),
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<T, Bad> {
        let mut out = Vec::new();
        if self.eat("}") {
            return Ok(T::Map(out));
        }
        loop {
            let k = self.term(depth + 1)?;
            if !self.eat("=>") {
                return Err(self.bad("expected `=>` in a map"));
            }
            let v = self.term(depth + 1)?;
            out.push((k, v));
            if self.eat("}") {
                return Ok(T::Map(out));
            }
            if !self.eat(",") {
                return Err(self.bad("expected `,` or `}` in a map"));
            }
        }
    }

    fn binary(&mut self) -> Result<T, Bad> {
        let mut out = Vec::new();
        if self.eat(">>") {
            return Ok(T::Bin(out));
        }
        loop {
            self.skip();
            match self.term(MAX_DEPTH)? {
                T::Str(s) => {
                    let utf8 = self.eat("/utf8");
                    if utf8 {
                        out.extend_from_slice(s.as_bytes());
                    } else {
                        for c in s.chars() {
                            out.push(c as u32 as u8);
                        }
                    }
                }
                T::Int(n) => out.push(n as u8),
                _ => return Err(self.bad("only strings and integers in a binary")),
            }
            if self.eat(">>") {
                return Ok(T::Bin(out));
            }
            if !self.eat(",") {
                return Err(self.bad("expected `,` or `>>` in a binary"));
            }
        }
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'@')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.b[start..self.i]).into_owned()
    }

    fn number(&mut self) -> Result<T, Bad> {
        let start = self.i;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.i += 1;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'#' | b'.'))
        {
            // A `.` ends the term unless a digit follows (a float).
            if self.peek() == Some(b'.') && !self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
            {
                break;
            }
            if matches!(self.peek(), Some(b'e' | b'E'))
                && matches!(self.b.get(self.i + 1), Some(b'-' | b'+'))
            {
                self.i += 1;
            }
            self.i += 1;
        }
        let text: String = String::from_utf8_lossy(&self.b[start..self.i]).replace('_', "");
        if let Some((base, digits)) = text.split_once('#') {
            let (sign, base) = match base.strip_prefix('-') {
                Some(b) => (-1, b),
                None => (1, base.trim_start_matches('+')),
            };
            let base: u32 = base.parse().map_err(|_| self.bad("bad number base"))?;
            if !(2..=36).contains(&base) {
                return Err(self.bad("bad number base"));
            }
            return i128::from_str_radix(digits, base)
                .map(|n| T::Int(sign * n))
                .map_err(|_| self.bad(&format!("bad number `{text}`")));
        }
        if text.contains('.') {
            return text
                .parse()
                .map(T::Float)
                .map_err(|_| self.bad(&format!("bad number `{text}`")));
        }
        text.parse()
            .map(T::Int)
            .map_err(|_| self.bad(&format!("bad number `{text}`")))
    }

    fn quoted(&mut self, quote: u8) -> Result<String, Bad> {
        let line = self.line();
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Bad {
                    line,
                    what: format!(
                        "unterminated {}",
                        if quote == b'"' { "string" } else { "atom" }
                    ),
                });
            };
            if c == quote {
                self.i += 1;
                return Ok(out);
            }
            if c == b'\\' {
                self.i += 1;
                out.push(self.escape()?);
                continue;
            }
            let rest = std::str::from_utf8(&self.b[self.i..])
                .or_else(|e| std::str::from_utf8(&self.b[self.i..self.i + e.valid_up_to()]))
                .unwrap_or("");
            match rest.chars().next() {
                Some(ch) => {
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
                None => {
                    // Not UTF-8: a Latin-1 byte (the file's `coding: latin-1`).
                    out.push(c as char);
                    self.i += 1;
                }
            }
        }
    }

    fn char_literal(&mut self) -> Result<u32, Bad> {
        match self.peek() {
            None => Err(self.bad("unexpected end of file after `$`")),
            Some(b'\\') => {
                self.i += 1;
                Ok(self.escape()? as u32)
            }
            Some(_) => {
                let rest = String::from_utf8_lossy(&self.b[self.i..self.b.len().min(self.i + 4)])
                    .into_owned();
                let ch = rest.chars().next().unwrap_or('?');
                self.i += ch.len_utf8().max(1);
                Ok(ch as u32)
            }
        }
    }

    /// The character after a `\` (Erlang's escapes).
    fn escape(&mut self) -> Result<char, Bad> {
        let Some(c) = self.peek() else {
            return Err(self.bad("unexpected end of file in an escape"));
        };
        self.i += 1;
        let simple = match c {
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b's' => Some(' '),
            b'e' => Some('\x1b'),
            b'b' => Some('\x08'),
            b'f' => Some('\x0c'),
            b'v' => Some('\x0b'),
            b'd' => Some('\x7f'),
            b'0'..=b'7' => {
                let mut n = (c - b'0') as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + (d - b'0') as u32;
                            self.i += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(n)
            }
            b'x' => {
                let hex: String = if self.peek() == Some(b'{') {
                    self.i += 1;
                    let start = self.i;
                    while self.peek().is_some_and(|c| c != b'}') {
                        self.i += 1;
                    }
                    let h = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                    self.i += 1;
                    h
                } else {
                    let start = self.i;
                    self.i = (self.i + 2).min(self.b.len());
                    String::from_utf8_lossy(&self.b[start..self.i]).into_owned()
                };
                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
            }
            b'^' => {
                let ch = self.peek().unwrap_or(b'@');
                self.i += 1;
                char::from_u32((ch & 31) as u32)
            }
            other => Some(other as char),
        };
        simple.ok_or_else(|| self.bad("bad escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rel_file() {
        let t = consult_one(
            "%% rel\n{release,{\"demo\",\"0.2.0\"},{erts,\"13.1.5\"},\n [{kernel,\"8.5.3\"},{'Elixir.X', \"1\", temporary}]}.\n",
        )
        .unwrap();
        let items = t.tuple().unwrap();
        assert!(items[0].is_atom("release"));
        assert_eq!(items[1].tuple().unwrap()[1].string().unwrap(), "0.2.0");
        assert_eq!(items[3].list().unwrap().len(), 2);
        assert!(items[3].list().unwrap()[1].tuple().unwrap()[0].is_atom("Elixir.X"));
    }

    #[test]
    fn reads_what_mix_writes_into_sys_config() {
        let text = "%% coding: utf-8\n%% RUNTIME_CONFIG=true\n[{elixir,[{config_provider_init,#{'__struct__' => 'Elixir.Config.Provider',config_path => {system,<<\"RELEASE_SYS_CONFIG\">>,<<\".config\">>},providers => [{'Elixir.Config.Reader',{{system,<<\"RELEASE_ROOT\">>,<<\"/releases/0.2.0/runtime.exs\">>},[{env,prod},{target,host}]}}],prune_after_boot => false}}]},{demo,[{n,-12},{f,1.5e3},{c,$a},{h,16#ff},{s,\"h\\x{e9}\\n\"},{l,[1|[2]]},{b,<<1,2,\"é\"/utf8>>}]}].\n";
        let t = consult_one(text).unwrap();
        let apps = t.list().unwrap();
        let demo = apps[1].tuple().unwrap()[1].list().unwrap();
        let val = |i: usize| demo[i].tuple().unwrap()[1].clone();
        assert_eq!(val(0), T::Int(-12));
        assert_eq!(val(1), T::Float(1500.0));
        assert_eq!(val(2), T::Int(97));
        assert_eq!(val(3), T::Int(255));
        assert_eq!(val(4), T::Str("hé\n".into()));
        assert_eq!(val(5), T::List(vec![T::Int(1), T::Int(2)]));
        assert_eq!(val(6), T::Bin(vec![1, 2, 0xc3, 0xa9]));
    }

    #[test]
    fn errors_name_the_line() {
        let e = consult("[{a, 1},\n {b, fun() -> ok end}].\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = consult("[{a, 1}]\n").unwrap_err();
        assert!(e.what.contains("`.`"), "{e}");
        let e = consult("[{a, \"open}].\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(consult_one("a. b.").is_err());
        assert!(consult(&"[".repeat(1000)).is_err());
        assert_eq!(consult("").unwrap(), vec![]);
    }
}
