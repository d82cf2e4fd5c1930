//! erlexec's args-file syntax, emulated exactly: the one tokenizer beamrc uses for
//! `vm.args`, `remote.vm.args`, every file they pull in, the `ERL_*FLAGS` variables, and
//! the native/VM route decision.
//!
//! Today's erlexec (`erts/etc/common/erlexec.c`: `read_args_file` reads the whole file, up
//! to a NUL byte, and `build_args_from_string` splits it; older releases had a two-pass
//! reader that collapsed spaces and took `#` for a comment even inside quotes) runs one
//! left-to-right state machine, which [`Lexer`] is:
//!
//! * arguments are separated by whitespace (space, tab, newline, CR, FF, VT);
//! * `#` outside quotes ends the argument it touches and starts a comment to the end of
//!   the line (only in files: the variables have no comments);
//! * `"…"` and `'…'` quote anything (whitespace, `#`, `\`, newlines) up to the same quote;
//!   an unterminated quote ends with the text;
//! * `\` outside quotes takes the next byte as it is (a newline too); a final `\` is
//!   dropped;
//! * a NUL byte ends the text.
//!
//! Checked byte for byte against the real erlexec of OTP 25, 27 and 29 (the differential
//! test, run in the matrix roots too).
use std::ops::Range;

/// Where the lexer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Between arguments.
    Between,
    /// Inside an argument, outside quotes.
    Word,
    Double,
    Single,
    /// After `\` outside quotes: the next byte is taken as it is.
    Accept,
    /// Inside a `#` comment.
    Comment,
    /// After a NUL: erlexec sees nothing more.
    Ended,
}

/// What one input byte did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fed {
    /// The argument being built ended before this byte.
    pub end: bool,
    /// An argument started (possibly empty, as `''`).
    pub start: bool,
    /// A byte of the argument.
    pub push: Option<u8>,
    /// The byte belongs to the argument (it is part of its source text).
    pub inside: bool,
}

/// erlexec's tokenizer as a state machine over bytes.
#[derive(Debug, Clone)]
pub(crate) struct Lexer {
    pub state: State,
    comments: bool,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer::new(true)
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\t' | b'\r' | b'\x0c' | b'\x0b')
}

impl Lexer {
    /// A lexer for a file (`comments`) or for a variable's value (no comments).
    pub(crate) fn new(comments: bool) -> Lexer {
        Lexer {
            state: State::Between,
            comments,
        }
    }

    /// Feeds one byte.
    pub(crate) fn feed(&mut self, c: u8) -> Fed {
        let mut fed = Fed::default();
        if self.state == State::Word && (is_space(c) || c == 0 || (c == b'#' && self.comments)) {
            fed.end = true;
            self.state = State::Between;
        }
        match (self.state, c) {
            (State::Ended, _) => {}
            (_, 0) => {
                fed.end |= matches!(self.state, State::Double | State::Single | State::Accept);
                self.state = State::Ended;
            }
            (State::Comment, b'\n') => self.state = State::Between,
            (State::Comment, _) => {}
            (State::Between, c) if is_space(c) => {}
            (State::Between, b'#') if self.comments => self.state = State::Comment,
            (State::Between, c) => {
                fed.start = true;
                self.state = State::Word;
                self.word_byte(c, &mut fed);
            }
            (State::Word, c) => self.word_byte(c, &mut fed),
            (State::Double, b'"') | (State::Single, b'\'') => {
                fed.inside = true;
                self.state = State::Word;
            }
            (State::Double | State::Single, c) | (State::Accept, c) => {
                fed.inside = true;
                fed.push = Some(c);
                if self.state == State::Accept {
                    self.state = State::Word;
                }
            }
        }
        fed
    }

    fn word_byte(&mut self, c: u8, fed: &mut Fed) {
        fed.inside = true;
        match c {
            b'"' => self.state = State::Double,
            b'\'' => self.state = State::Single,
            b'\\' => self.state = State::Accept,
            c => fed.push = Some(c),
        }
    }

    /// The end of the text: ends the argument being built, if any.
    pub(crate) fn finish(&mut self) -> Fed {
        let end = matches!(
            self.state,
            State::Word | State::Double | State::Single | State::Accept
        );
        self.state = State::Ended;
        Fed {
            end,
            ..Fed::default()
        }
    }

    /// A comment is open: a byte fed now is dropped.
    pub(crate) fn in_comment(&self) -> bool {
        self.state == State::Comment
    }
}

/// One argument of an args file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub value: String,
    /// Source bytes covered (quotes and escapes included).
    pub span: Range<usize>,
    /// 1-based line of the first byte.
    pub line: usize,
}

/// Splits args-file text the way erlexec does (see the module documentation).
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    split(text, true)
}

fn split(text: &str, comments: bool) -> Vec<Token> {
    let mut lexer = Lexer::new(comments);
    let mut tokens = Vec::new();
    let mut value = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut end = 0;
    let mut line = 1;
    let mut flush = |value: &mut Vec<u8>, start: &mut Option<(usize, usize)>, end: usize| {
        if let Some((s, l)) = start.take() {
            tokens.push(Token {
                value: String::from_utf8_lossy(value).into_owned(),
                span: s..end,
                line: l,
            });
            value.clear();
        }
    };
    for (pos, &c) in text.as_bytes().iter().enumerate() {
        let fed = lexer.feed(c);
        if fed.end {
            flush(&mut value, &mut start, end);
        }
        if fed.start {
            start = Some((pos, line));
        }
        value.extend(fed.push);
        if fed.inside {
            end = pos + 1;
        }
        if c == b'\n' {
            line += 1;
        }
    }
    if lexer.finish().end {
        flush(&mut value, &mut start, end);
    }
    tokens
}

/// The arguments of a variable erlexec splits (`ERL_FLAGS`, `ERL_AFLAGS`, `ERL_ZFLAGS`):
/// the same rules without comments.
pub(crate) fn words_of_variable(text: &str) -> Vec<String> {
    split(text, false).into_iter().map(|t| t.value).collect()
}

/// The arguments of args-file `text`, as erlexec reads them.
pub(crate) fn words(text: &str) -> Vec<String> {
    tokenize(text).into_iter().map(|t| t.value).collect()
}

/// A byte that means something outside quotes.
fn special(c: u8) -> bool {
    is_space(c) || matches!(c, b'#' | b'"' | b'\'' | b'\\')
}

/// Appends `piece` so that, outside quotes, erlexec reads back exactly these bytes as part
/// of the current argument (nothing for an empty piece). NUL cannot be written at all.
pub(crate) fn push_escaped(out: &mut Vec<u8>, piece: &[u8]) {
    for &c in piece {
        if special(c) {
            out.push(b'\\');
        }
        out.push(c);
    }
}

/// Writes `arg` so that [`tokenize`] (and erlexec) read it back as exactly one argument
/// with these bytes.
pub(crate) fn quote_arg(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len() + 2);
    if arg.is_empty() {
        out.extend_from_slice(b"''");
    }
    push_escaped(&mut out, arg);
    out
}

#[cfg(test)]
#[path = "args_file_tests.rs"]
mod tests;
