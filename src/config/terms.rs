//! Erlang terms as `file:consult/1` reads them (`sys.config`, `NAME.rel`, `.app`): a
//! scanner and a parser for the data subset — atoms, strings, numbers, characters,
//! tuples, lists (with `|` tails), maps, binaries — each term ending in a `.`.
//!
//! Errors carry the line and say what is wrong the way a person would fix it
//! ("missing the final '.'", "unterminated string that starts on line 3", "expected ','
//! or ']' before 'x'"). Nesting is capped, so hostile input cannot overflow the stack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    Atom(String),
    Str(String),
    Int(i128),
    Float(f64),
    Tuple(Vec<Term>),
    List(Vec<Term>),
    Map(Vec<(Term, Term)>),
    Binary,
}

impl Term {
    pub(crate) fn atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }
    pub(crate) fn string(&self) -> Option<&str> {
        match self {
            Term::Str(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn elements(&self) -> &[Term] {
        match self {
            Term::Tuple(v) | Term::List(v) => v,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

use super::term_scan::{Tok, describe, err, scan};

const MAX_DEPTH: usize = 200;

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    last_line: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }
    fn line(&self) -> usize {
        self.toks.get(self.at).map_or(self.last_line, |(_, l)| *l)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(t, _)| t.clone());
        self.at += 1;
        t
    }
    fn unexpected(&self, wanted: &str) -> SyntaxError {
        match self.peek() {
            Some(t) => err(
                self.line(),
                format!("expected {wanted} before {}", describe(t)),
            ),
            None => err(
                self.last_line,
                format!("the file ends where {wanted} was expected (unbalanced brackets?)"),
            ),
        }
    }
    fn punct(&mut self, p: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Punct(x)) if *x == p);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn term(&mut self, depth: usize) -> Result<Term, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(err(self.line(), "terms nested too deeply"));
        }
        let line = self.line();
        match self.next() {
            Some(Tok::Atom(a)) => Ok(Term::Atom(a)),
            Some(Tok::Str(mut s)) => {
                // adjacent strings concatenate
                while let Some(Tok::Str(more)) = self.peek() {
                    s.push_str(more);
                    self.at += 1;
                }
                Ok(Term::Str(s))
            }
            Some(Tok::Int(i)) => Ok(Term::Int(i)),
            Some(Tok::Float(f)) => Ok(Term::Float(f)),
            Some(Tok::Punct("-")) => match self.next() {
                Some(Tok::Int(i)) => Ok(Term::Int(-i)),
                Some(Tok::Float(f)) => Ok(Term::Float(-f)),
                _ => Err(err(line, "'-' must be followed by a number")),
            },
            Some(Tok::Punct("{")) => self.seq("}", depth).map(Term::Tuple),
            Some(Tok::Punct("[")) => self.list(depth),
            Some(Tok::Punct("<<")) => self.seq(">>", depth).map(|_| Term::Binary),
            Some(Tok::Punct("#{")) => self.map(depth),
            Some(_) => {
                self.at -= 1;
                Err(self.unexpected("a value"))
            }
            None => Err(self.unexpected("a value")),
        }
    }

    fn seq(&mut self, close: &str, depth: usize) -> Result<Vec<Term>, SyntaxError> {
        let mut items = Vec::new();
        if self.punct(close) {
            return Ok(items);
        }
        loop {
            items.push(self.term(depth + 1)?);
            if close == ">>" {
                self.bin_suffix();
            }
            if self.punct(close) {
                return Ok(items);
            }
            if !self.punct(",") {
                return Err(self.unexpected(&format!("',' or '{close}'")));
            }
        }
    }

    /// `:Size/type` after a binary element: skipped.
    fn bin_suffix(&mut self) {
        while let Some((
            Tok::Atom(_) | Tok::Int(_) | Tok::Var(_) | Tok::Punct("-" | ":" | "/"),
            _,
        )) = self.toks.get(self.at)
        {
            self.at += 1;
        }
    }

    fn list(&mut self, depth: usize) -> Result<Term, SyntaxError> {
        let mut items = Vec::new();
        if self.punct("]") {
            return Ok(Term::List(items));
        }
        loop {
            items.push(self.term(depth + 1)?);
            if self.punct("]") {
                return Ok(Term::List(items));
            }
            if self.punct("|") {
                items.push(self.term(depth + 1)?);
                return if self.punct("]") {
                    Ok(Term::List(items))
                } else {
                    Err(self.unexpected("']'"))
                };
            }
            if !self.punct(",") {
                return Err(self.unexpected("',' or ']'"));
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Term, SyntaxError> {
        let mut pairs = Vec::new();
        if self.punct("}") {
            return Ok(Term::Map(pairs));
        }
        loop {
            let k = self.term(depth + 1)?;
            if !self.punct("=>") && !self.punct(":=") {
                return Err(self.unexpected("'=>'"));
            }
            pairs.push((k, self.term(depth + 1)?));
            if self.punct("}") {
                return Ok(Term::Map(pairs));
            }
            if !self.punct(",") {
                return Err(self.unexpected("',' or '}'"));
            }
        }
    }
}

/// Every term of a consult-style file, each ended by `.`.
pub(crate) fn consult(text: &str) -> Result<Vec<Term>, SyntaxError> {
    let toks = scan(text)?;
    let last_line = toks.last().map_or(1, |(_, l)| *l);
    let mut p = Parser {
        toks,
        at: 0,
        last_line,
    };
    let mut out = Vec::new();
    while p.peek().is_some() {
        let t = p.term(0)?;
        match p.next() {
            Some(Tok::Dot) => out.push(t),
            None => {
                return Err(err(
                    last_line,
                    "missing the final '.' after the last term (OTP: \"no ending <dot> found\")",
                ));
            }
            Some(_) => {
                p.at -= 1;
                return Err(p.unexpected("'.'"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, String) {
        let e = consult(text).unwrap_err();
        (e.line, e.what)
    }

    #[test]
    fn parses_config_shapes() {
        let t = consult(
            "%% coding: utf-8\n[{kernel, [{logger_level, info}, {p, -1}]},\n \
             {app, [{k, \"a\" \"b\"}, {m, #{a => 1, <<\"b\">> => 2.5e3}}, {c, $a}, {h, 16#ff},\n \
             {bin, <<1, \"x\", 7:8/integer>>}, {l, [1 | 2]}, {'Q a', 'x'}]}].\n",
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        let app = &t[0].elements()[1];
        assert_eq!(app.elements()[0].atom(), Some("app"));
        assert_eq!(
            app.elements()[1].elements()[0].elements()[1].string(),
            Some("ab")
        );
        assert_eq!(consult("{a,1}.\n{b,2}.").unwrap().len(), 2);
        assert_eq!(consult("").unwrap(), []);
    }

    #[test]
    fn errors_have_lines_and_words() {
        assert_eq!(
            error("[{a, 1}]\n"),
            (
                1,
                "missing the final '.' after the last term (OTP: \"no ending <dot> found\")".into()
            )
        );
        let (line, what) = error("[{a, 1},\n {b, 2}\n {c, 3}].\n");
        assert_eq!(line, 3);
        assert!(what.contains("expected ',' or ']' before '{'"), "{what}");
        let (line, what) = error("[{a,\n \"open}].\n");
        assert_eq!(line, 2);
        assert!(
            what.contains("unterminated string that starts on line 2"),
            "{what}"
        );
        let (_, what) = error("[{a, Foo}].");
        assert!(what.contains("variable"), "{what}");
        let (line, what) = error("[{a, 1}\n");
        assert_eq!(line, 1);
        assert!(what.contains("unbalanced"), "{what}");
        assert!(
            error("[{a, 1}] extra.")
                .1
                .contains("expected '.' before 'extra'")
        );
        assert!(error("{a ~ b}.").1.contains("unexpected character '~'"));
        let deep = "[".repeat(10_000);
        assert!(error(&deep).1.contains("nested too deeply"));
    }
}
