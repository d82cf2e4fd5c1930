//! The Erlang IO protocol, server side: we are the group leader of the remote expression.
//!
//! Replies copy what the script's client VM (`user` with `binary, unicode` stdio) answers:
//! input comes back as binaries, unknown requests get `{error, {request, Req}}`.

use super::DistError;
use super::chardata::{Enc, chardata_to_utf8, chars_term, encoding, input_reply, utf8_char_end};
use super::etf::Term;
use super::rpc::Session;
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

    /// Up to `n` UTF-8 characters (an invalid byte counts as one character). Each byte is
    /// counted once, however many reads it takes (`n` comes from the node and may be huge).
    fn read_chars(&mut self, n: usize) -> Option<Vec<u8>> {
        // The first `chars` characters of the pending input end at byte `end`.
        let (mut end, mut chars) = (0, 0);
        loop {
            while chars < n {
                let Some(width) = utf8_char_end(&self.pending_input[end..], 1) else {
                    break;
                };
                end += width;
                chars += 1;
            }
            if chars == n {
                break;
            }
            let Some(io) = self.io.as_mut() else { break };
            let chunk = match io.stdin.fill_buf() {
                Ok(chunk) if !chunk.is_empty() => chunk.to_vec(),
                _ => break,
            };
            io.stdin.consume(chunk.len());
            self.pending_input.extend(chunk);
        }
        if chars < n {
            // End of input: what is left.
            end = self.pending_input.len();
        }
        if end == 0 && n > 0 {
            return None;
        }
        Some(self.pending_input.drain(..end).collect())
    }
}

impl Session<'_, '_> {
    /// What the script's client (a VM of the node's OTP release, same ERTS) answers.
    fn getopts(&mut self) -> Result<Term, DistError> {
        Ok(getopts_for(self.otp_release()?))
    }

    /// The node's OTP release (`erlang:system_info(otp_release)`), asked once per session;
    /// 0 if the answer is not a number.
    pub(super) fn otp_release(&mut self) -> Result<u32, DistError> {
        if let Some(otp) = self.otp_release {
            return Ok(otp);
        }
        let reply = self.call("erlang", "system_info", vec![Term::atom("otp_release")])?;
        let text = chardata_to_utf8(&reply, false).unwrap_or_default();
        let otp = String::from_utf8_lossy(&text).trim().parse().unwrap_or(0);
        self.otp_release = Some(otp);
        Ok(otp)
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
    use crate::dist::{Stdio, fake};

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
    fn get_chars_counts_characters_across_reads() {
        let (cfg, t) = fake::start(|mut s| {
            let (pid, reference, _) = fake::read_gen_call(&mut s);
            let mut ask = |n: i64| {
                let request = Term::Tuple(vec![
                    Term::atom("get_chars"),
                    Term::atom("unicode"),
                    Term::Nil,
                    Term::Int(n),
                ]);
                let io = Term::Tuple(vec![
                    Term::atom("io_request"),
                    pid.clone(),
                    Term::Int(n),
                    request,
                ]);
                fake::send(&mut s, &pid, &io);
                let (_, reply) = fake::read_frame(&mut s).unwrap();
                reply.unwrap().as_tuple().unwrap()[2].clone()
            };
            assert_eq!(ask(0), Term::binary(Vec::new()));
            assert_eq!(ask(3), Term::binary("üx✓".as_bytes()));
            assert_eq!(
                ask(1),
                Term::binary(vec![0xff]),
                "an invalid byte is one character"
            );
            assert_eq!(
                ask(1000),
                Term::binary("ab€".as_bytes()),
                "what is left at end of file"
            );
            assert_eq!(ask(1), Term::atom("eof"));
            fake::send(
                &mut s,
                &pid,
                &Term::Tuple(vec![reference, Term::atom("ok")]),
            );
        });
        // Two bytes per read: characters arrive split across reads.
        let text = ["üx✓".as_bytes(), &[0xff], "ab€".as_bytes()].concat();
        let mut stdin = std::io::BufReader::with_capacity(2, text.as_slice());
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Stdio::captured(&mut stdin, &mut out, &mut err);
        let mut session = Session::open(&cfg, Some(&mut io)).unwrap();
        assert!(
            session
                .call("erlang", "node", vec![])
                .unwrap()
                .is_atom("ok")
        );
        drop(session);
        t.join().unwrap();
    }
}
