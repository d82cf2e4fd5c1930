//! The Erlang IO protocol, server side: we are the group leader of the remote expression.
//!
//! Replies copy what the script's client VM (`user` with `binary, unicode` stdio) answers:
//! input comes back as binaries, unknown requests get `{error, {request, Req}}`.

use super::DistError;
use super::etf::Term;
use super::rpc::Session;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    Unicode,
    Latin1,
}

fn encoding(term: &Term) -> Enc {
    if term.is_atom("latin1") {
        Enc::Latin1
    } else {
        Enc::Unicode
    }
}

fn ok() -> Term {
    Term::atom("ok")
}

fn error(reason: Term) -> Term {
    Term::Tuple(vec![Term::atom("error"), reason])
}

impl Session<'_, '_> {
    /// Answers one IO request. Errors are only connection failures of nested calls.
    pub(crate) fn io_request(&mut self, req: &Term) -> Result<Term, DistError> {
        if req.is_atom("getopts") {
            return self.getopts();
        }
        let Some(items) = req.as_tuple() else {
            return Ok(unknown(req));
        };
        let Some(op) = items.first().and_then(Term::as_atom) else {
            return Ok(unknown(req));
        };
        // Requests without an encoding are the pre-unicode forms, latin1 by definition.
        let reply = match (op, &items[1..]) {
            ("put_chars", [enc, chars]) => self.put_chars(chars, encoding(enc)),
            ("put_chars", [chars]) => self.put_chars(chars, Enc::Latin1),
            ("put_chars", [enc, m, f, a]) => self.put_chars_mfa(m, f, a, encoding(enc))?,
            ("put_chars", [m, f, a]) => self.put_chars_mfa(m, f, a, Enc::Latin1)?,
            ("get_line", [enc, prompt]) => self.get_line(prompt, encoding(enc)),
            ("get_line", [prompt]) => self.get_line(prompt, Enc::Latin1),
            ("get_chars", [enc, prompt, n]) => self.get_chars(prompt, n, encoding(enc)),
            ("get_chars", [prompt, n]) => self.get_chars(prompt, n, Enc::Latin1),
            ("get_until", [enc, prompt, m, f, xargs]) => {
                self.get_until(prompt, m, f, xargs, encoding(enc))?
            }
            ("get_until", [prompt, m, f, xargs]) => {
                self.get_until(prompt, m, f, xargs, Enc::Latin1)?
            }
            ("getopts", [_]) => self.getopts()?,
            ("setopts", [_]) => ok(),
            ("get_geometry", [what]) => self.geometry(what),
            ("requests", [list]) => self.requests(list)?,
            _ => unknown(req),
        };
        Ok(reply)
    }

    /// `{requests, L}`: run in order while they answer `ok`, return the last answer.
    fn requests(&mut self, list: &Term) -> Result<Term, DistError> {
        let Some(reqs) = list.list_items() else {
            return Ok(unknown(list));
        };
        let mut reply = ok();
        for r in &reqs {
            reply = self.io_request(r)?;
            if !reply.is_atom("ok") {
                break;
            }
        }
        Ok(reply)
    }

    fn put_chars(&mut self, chars: &Term, enc: Enc) -> Term {
        let Some(bytes) = chardata_to_utf8(chars, enc == Enc::Latin1) else {
            return error(Term::atom("put_chars"));
        };
        self.write_stdout(&bytes)
    }

    /// `:io.format` sends the format call itself; run it on the node and print the text.
    fn put_chars_mfa(&mut self, m: &Term, f: &Term, a: &Term, enc: Enc) -> Result<Term, DistError> {
        let (Some(m), Some(f), Some(args)) = (m.as_atom(), f.as_atom(), a.list_items()) else {
            return Ok(error(Term::atom("put_chars")));
        };
        let text = self.call(m, f, args)?;
        Ok(self.put_chars(&text, enc))
    }

    fn write_stdout(&mut self, bytes: &[u8]) -> Term {
        let Some(io) = self.io.as_mut() else {
            return ok();
        };
        match io.stdout.write_all(bytes).and_then(|()| io.stdout.flush()) {
            Ok(()) => ok(),
            Err(_) => error(Term::atom("terminated")),
        }
    }

    fn prompt(&mut self, prompt: &Term) {
        let text = match prompt {
            Term::Atom(a) => Some(a.clone().into_bytes()),
            other => chardata_to_utf8(other, false),
        };
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.write_stdout(&text);
        }
        // We are about to block on stdin and cannot answer ticks meanwhile.
        self.conn.keep_alive();
    }

    fn get_line(&mut self, prompt: &Term, enc: Enc) -> Term {
        self.prompt(prompt);
        match self.read_line() {
            None => Term::atom("eof"),
            Some(line) => input_reply(line, enc),
        }
    }

    fn get_chars(&mut self, prompt: &Term, n: &Term, enc: Enc) -> Term {
        let Some(n) = n.as_int().and_then(|n| usize::try_from(n).ok()) else {
            return error(Term::atom("get_chars"));
        };
        self.prompt(prompt);
        match self.read_chars(n) {
            None => Term::atom("eof"),
            Some(chars) => input_reply(chars, enc),
        }
    }

    /// `io:fread`, `io:read` and friends: feed lines to `M:F(Cont, Chars, XArgs...)` on the
    /// node until it is done, keeping the unused rest as pending input.
    fn get_until(
        &mut self,
        prompt: &Term,
        m: &Term,
        f: &Term,
        xargs: &Term,
        enc: Enc,
    ) -> Result<Term, DistError> {
        let (Some(m), Some(f), Some(xargs)) = (m.as_atom(), f.as_atom(), xargs.list_items()) else {
            return Ok(error(Term::atom("get_until")));
        };
        let (m, f) = (m.to_string(), f.to_string());
        self.prompt(prompt);
        let mut cont = Term::Nil;
        loop {
            let line = self.read_line();
            let at_eof = line.is_none();
            let data = line.map_or(Term::atom("eof"), |l| chars_term(&l, enc));
            let mut args = vec![cont, data];
            args.extend(xargs.iter().cloned());
            let result = self.call(&m, &f, args)?;
            match result.as_tuple() {
                Some([tag, value, rest]) if tag.is_atom("done") => {
                    if let Some(mut rest) = chardata_to_utf8(rest, enc == Enc::Latin1) {
                        rest.append(&mut self.pending_input);
                        self.pending_input = rest;
                    }
                    return Ok(value.clone());
                }
                Some([tag, next]) if tag.is_atom("more") && !at_eof => cont = next.clone(),
                _ => return Ok(error(Term::atom("get_until"))),
            }
        }
    }

    fn geometry(&mut self, what: &Term) -> Term {
        let tty = self.io.as_ref().is_some_and(|io| io.stdout_is_tty);
        let size = if tty { terminal_size() } else { None };
        match (size, what.as_atom()) {
            (Some((cols, _)), Some("columns")) => Term::Int(i64::from(cols)),
            (Some((_, rows)), Some("rows")) => Term::Int(i64::from(rows)),
            _ => error(Term::atom("enotsup")),
        }
    }

    /// One line including its newline, or what is left before end of file.
    fn read_line(&mut self) -> Option<Vec<u8>> {
        if let Some(pos) = self.pending_input.iter().position(|b| *b == b'\n') {
            return Some(self.pending_input.drain(..=pos).collect());
        }
        let mut line = std::mem::take(&mut self.pending_input);
        if let Some(io) = self.io.as_mut() {
            let _ = io.stdin.read_until(b'\n', &mut line);
        }
        (!line.is_empty()).then_some(line)
    }

    /// Up to `n` UTF-8 characters (an invalid byte counts as one character).
    fn read_chars(&mut self, n: usize) -> Option<Vec<u8>> {
        while utf8_char_end(&self.pending_input, n).is_none() {
            let Some(io) = self.io.as_mut() else { break };
            let chunk = match io.stdin.fill_buf() {
                Ok(chunk) if !chunk.is_empty() => chunk.to_vec(),
                _ => break,
            };
            io.stdin.consume(chunk.len());
            self.pending_input.extend(chunk);
        }
        let end = utf8_char_end(&self.pending_input, n).unwrap_or(self.pending_input.len());
        if end == 0 && n > 0 {
            return None;
        }
        Some(self.pending_input.drain(..end).collect())
    }
}

impl Session<'_, '_> {
    /// What the script's client (a VM of the node's OTP release, same ERTS) answers.
    fn getopts(&mut self) -> Result<Term, DistError> {
        let otp = match self.otp_release {
            Some(otp) => otp,
            None => {
                let reply = self.call("erlang", "system_info", vec![Term::atom("otp_release")])?;
                let text = chardata_to_utf8(&reply, false).unwrap_or_default();
                let otp = String::from_utf8_lossy(&text).trim().parse().unwrap_or(0);
                self.otp_release = Some(otp);
                otp
            }
        };
        Ok(getopts_for(otp))
    }
}

/// `io:getopts()` of the script's client VM: observed on OTP 25 (`user`), 27 and 29 (the
/// OTP 26+ `group` in noshell mode); 26 is taken to answer as 27 and 28 as 29 (not run).
fn getopts_for(otp: u32) -> Term {
    let opt = |k: &str, v: Term| Term::Tuple(vec![Term::atom(k), v]);
    let no = || Term::atom("false");
    let io_opts = |list: &mut Vec<Term>| {
        list.extend([
            opt("terminal", no()),
            opt("stdout", no()),
            opt("stderr", no()),
            opt("stdin", no()),
        ]);
    };
    let binary = opt("binary", Term::atom("true"));
    let unicode = opt("encoding", Term::atom("unicode"));
    let log = opt("log", Term::atom("none"));
    let list = match otp {
        0..=25 => vec![binary, unicode],
        26..=27 => {
            // &:edlin_expand.expand/2 (EXPORT_EXT).
            let mut fun = vec![113];
            Term::atom("edlin_expand").encode_into(&mut fun);
            Term::atom("expand").encode_into(&mut fun);
            fun.extend_from_slice(&[97, 2]);
            let mut l = vec![opt("expand_fun", Term::Raw(fun)), opt("echo", no())];
            l.extend([binary, unicode, log]);
            io_opts(&mut l);
            l
        }
        _ => {
            let mut l = vec![
                opt("expand_fun", no()),
                opt("echo", no()),
                opt("line_history", no()),
                log,
                binary,
                unicode,
            ];
            io_opts(&mut l);
            l
        }
    };
    Term::list(list)
}

fn unknown(req: &Term) -> Term {
    error(Term::Tuple(vec![Term::atom("request"), req.clone()]))
}

/// Byte length of the first `n` characters of `bytes`, if it holds that many.
fn utf8_char_end(bytes: &[u8], n: usize) -> Option<usize> {
    let mut pos = 0;
    for _ in 0..n {
        let width = match bytes.get(pos)? {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        let end = pos + width;
        if end > bytes.len() {
            return None;
        }
        // A malformed sequence counts its lead byte alone.
        pos = if std::str::from_utf8(&bytes[pos..end]).is_ok() {
            end
        } else {
            pos + 1
        };
    }
    Some(pos)
}

/// Input as the reply binary: UTF-8 for unicode requests; for latin1 ones the characters
/// are narrowed to bytes (stdin is unicode), failing on characters above 255.
fn input_reply(bytes: Vec<u8>, enc: Enc) -> Term {
    match enc {
        Enc::Unicode => Term::Binary(bytes),
        Enc::Latin1 => match to_latin1(&bytes) {
            Some(narrow) => Term::Binary(narrow),
            None => error(Term::Tuple(vec![
                Term::atom("no_translation"),
                Term::atom("unicode"),
                Term::atom("latin1"),
            ])),
        },
    }
}

/// Input as a list of characters, for `get_until` functions.
fn chars_term(bytes: &[u8], enc: Enc) -> Term {
    let codes: Vec<u32> = match enc {
        Enc::Unicode => decode_lossy(bytes),
        Enc::Latin1 => to_latin1(bytes)
            .unwrap_or_else(|| bytes.to_vec())
            .into_iter()
            .map(u32::from)
            .collect(),
    };
    Term::list(codes.into_iter().map(|c| Term::Int(i64::from(c))).collect())
}

/// Code points of UTF-8 text; invalid bytes stand for themselves.
fn decode_lossy(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.extend(s.chars().map(u32::from));
                break;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                let valid = std::str::from_utf8(valid).unwrap_or_default();
                out.extend(valid.chars().map(u32::from));
                out.push(u32::from(bad[0]));
                rest = &bad[1..];
            }
        }
    }
    out
}

fn to_latin1(bytes: &[u8]) -> Option<Vec<u8>> {
    decode_lossy(bytes)
        .into_iter()
        .map(|c| u8::try_from(c).ok())
        .collect()
}

/// Flattens chardata (nested lists of characters and binaries) to UTF-8 output bytes.
/// Binaries are UTF-8 for unicode requests (invalid bytes pass through, as with the script's
/// client) and latin1 for latin1 requests. None if it is not chardata.
pub(crate) fn chardata_to_utf8(data: &Term, latin1: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    push_chardata(data, latin1, &mut out).then_some(out)
}

fn push_chardata(data: &Term, latin1: bool, out: &mut Vec<u8>) -> bool {
    match data {
        Term::Binary(b) if latin1 => b.iter().for_each(|c| push_char(u32::from(*c), out)),
        Term::Binary(b) => out.extend_from_slice(b),
        Term::Charlist(b) => b.iter().for_each(|c| push_char(u32::from(*c), out)),
        Term::Nil => {}
        Term::Int(c) => {
            let limit = if latin1 { 0xFF } else { 0x10FFFF };
            match u32::try_from(*c) {
                Ok(c) if c <= limit && char::from_u32(c).is_some() => push_char(c, out),
                _ => return false,
            }
        }
        Term::List(items, tail) => {
            let tail_ok = matches!(**tail, Term::Nil | Term::Binary(_));
            return tail_ok
                && items.iter().all(|t| push_chardata(t, latin1, out))
                && push_chardata(tail, latin1, out);
        }
        _ => return false,
    }
    true
}

fn push_char(c: u32, out: &mut Vec<u8>) {
    if let Some(ch) = char::from_u32(c) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

/// Columns and rows of the terminal on stdout.
fn terminal_size() -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills a winsize struct we own.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &Term) -> Vec<String> {
        t.list_items()
            .unwrap()
            .iter()
            .map(|kv| kv.as_tuple().unwrap()[0].as_atom().unwrap().to_string())
            .collect()
    }

    #[test]
    fn getopts_per_otp_release() {
        assert_eq!(keys(&getopts_for(25)), ["binary", "encoding"]);
        let k27 = "expand_fun echo binary encoding log terminal stdout stderr stdin";
        assert_eq!(keys(&getopts_for(27)).join(" "), k27);
        let k29 = "expand_fun echo line_history log binary encoding terminal stdout stderr stdin";
        assert_eq!(keys(&getopts_for(29)).join(" "), k29);
        // The fun is an external fun that decodes as what it is.
        let bytes = getopts_for(27).to_bytes();
        let back = crate::dist::etf::decode(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn chardata_flattening() {
        let data = Term::List(
            vec![
                Term::binary("héllo ".as_bytes()),
                Term::Int(0x2713),
                Term::Charlist(vec![b'!', 0xe9]),
                Term::list(vec![Term::Int(10)]),
            ],
            Box::new(Term::binary(b"end".to_vec())),
        );
        assert_eq!(
            chardata_to_utf8(&data, false).unwrap(),
            "héllo ✓!é\nend".as_bytes()
        );
        // latin1 binaries are widened; characters above 255 are not latin1.
        assert_eq!(
            chardata_to_utf8(&Term::binary(vec![0xe9]), true).unwrap(),
            "é".as_bytes()
        );
        assert!(chardata_to_utf8(&Term::Int(0x2713), true).is_none());
        assert!(chardata_to_utf8(&Term::atom("x"), false).is_none());
        // Invalid UTF-8 in unicode binaries passes through, as the script's client does.
        assert_eq!(
            chardata_to_utf8(&Term::binary(vec![0xff]), false).unwrap(),
            vec![0xff]
        );
    }

    #[test]
    fn char_counting() {
        let s = "üx✓".as_bytes();
        assert_eq!(utf8_char_end(s, 0), Some(0));
        assert_eq!(utf8_char_end(s, 1), Some(2));
        assert_eq!(utf8_char_end(s, 3), Some(s.len()));
        assert_eq!(utf8_char_end(s, 4), None);
        assert_eq!(utf8_char_end(&s[..1], 1), None); // incomplete character: need more input
        assert_eq!(utf8_char_end(&[0xff, b'a'], 2), Some(2));
    }

    #[test]
    fn latin1_input() {
        assert_eq!(
            input_reply("é\n".as_bytes().to_vec(), Enc::Latin1),
            Term::Binary(vec![0xe9, b'\n'])
        );
        assert!(matches!(
            input_reply("✓".as_bytes().to_vec(), Enc::Latin1),
            Term::Tuple(_)
        ));
        assert_eq!(
            chars_term("ü".as_bytes(), Enc::Unicode),
            Term::list(vec![Term::Int(0xfc)])
        );
    }
}
