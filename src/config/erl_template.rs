//! Writing substituted values into Erlang terms (`sys.config` and its included files).
//!
//! Where a value lands ([`Place`], from the template's [`lex`]) decides how it is written:
//! * inside a string (`"…"`, also `<<"…">>`) or a quoted atom (`'…'`) it is escaped
//!   ([`push_quoted_body`]), so the term holds exactly the value; a value that would make a
//!   quoted atom longer than the VM's 255 characters is refused;
//! * right after a `\` inside a string or atom it is refused (that escape would change it);
//! * anywhere else it is Erlang source, by design (as relx): `{port, ${PORT}}`.
//!
//! Comments are copied verbatim.
use std::ops::Range;

use super::erl_strings::{MAX_ATOM_CHARS, push_quoted_body};
use super::erl_terms::{Place, lex};
use super::subst::Syntax;

/// [`Syntax`] for Erlang terms; built from the template's [`lex`].
pub(crate) struct ErlangTerms {
    comments: Vec<Range<usize>>,
    refs: Vec<(usize, Place)>,
    /// Characters of each quoted atom so far (the VM refuses atoms over 255).
    atoms: Vec<usize>,
    next_comment: usize,
    next_ref: usize,
}

impl ErlangTerms {
    pub(crate) fn new(template: &str) -> ErlangTerms {
        let lexed = lex(template, true);
        ErlangTerms {
            comments: lexed.comments,
            refs: lexed.refs,
            atoms: lexed.atoms,
            next_comment: 0,
            next_ref: 0,
        }
    }

    fn place(&mut self, at: usize) -> Place {
        while self.refs.get(self.next_ref).is_some_and(|(p, _)| *p < at) {
            self.next_ref += 1;
        }
        match self.refs.get(self.next_ref) {
            Some((p, place)) if *p == at => *place,
            _ => Place::Source,
        }
    }
}

impl Syntax for ErlangTerms {
    fn copied(&mut self, _: &[u8]) {}

    fn in_comment(&mut self, at: usize) -> bool {
        while self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.end <= at)
        {
            self.next_comment += 1;
        }
        self.comments
            .get(self.next_comment)
            .is_some_and(|c| c.start <= at)
    }

    fn write(&mut self, at: usize, value: &str, out: &mut String) -> Result<(), String> {
        match self.place(at) {
            Place::Source => out.push_str(value),
            Place::Quoted { escaped: true, .. } => {
                return Err("follows a `\\` inside a quoted string or atom, \
                            which would change it; remove the `\\`"
                    .into());
            }
            Place::Quoted { quote, atom, .. } => {
                if let Some(chars) = atom.and_then(|a| self.atoms.get_mut(a)) {
                    *chars += value.chars().count();
                    if *chars > MAX_ATOM_CHARS {
                        return Err(format!(
                            "makes a quoted atom {chars} characters long; the VM's limit is \
                             {MAX_ATOM_CHARS} (use a string: \"${{…}}\")"
                        ));
                    }
                }
                push_quoted_body(out, value, quote as char)
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::subst::{UnsetPolicy, render};

    fn render_terms(
        template: &str,
        value: &str,
    ) -> Result<String, Vec<crate::config::subst::Problem>> {
        let v = value.to_string();
        let r = render(
            template,
            &mut ErlangTerms::new(template),
            &|k| (k == "V").then(|| v.clone()),
            UnsetPolicy::Error,
        );
        if r.problems.is_empty() {
            Ok(r.text)
        } else {
            Err(r.problems)
        }
    }

    #[test]
    fn values_by_place() {
        let t = "[{a, [{s, \"<${V}>\"}, {q, '${V}'}, {b, <<\"${V}\">>}, {n, ${V}}]}]. % ${V}\n";
        assert_eq!(
            render_terms(t, "x\"y'z\\\u{e9}").unwrap(),
            "[{a, [{s, \"<x\\\"y'z\\\\\\x{E9}>\"}, {q, 'x\"y\\'z\\\\\\x{E9}'}, \
             {b, <<\"x\\\"y'z\\\\\\x{E9}\">>}, {n, x\"y'z\\\u{e9}}]}]. % ${V}\n"
        );
        assert_eq!(render_terms("{n, ${V}}", "42").unwrap(), "{n, 42}");
        // the VM refuses atoms over 255 characters: say so before it crashes at boot
        let t = format!("{{q, '{}${{V}}'}}", "a".repeat(200));
        assert!(render_terms(&t, &"b".repeat(55)).is_ok());
        let e = render_terms(&t, &"\u{e9}".repeat(56)).unwrap_err();
        assert!(
            matches!(&e[0].why, crate::config::subst::Why::Refused(r) if r.contains("256")),
            "{e:?}"
        );
        assert!(render_terms(&format!("{{s, \"{}${{V}}\"}}", "a".repeat(300)), "x").is_ok());
        let e = render_terms("{s, \"\\${V}\"}", "x").unwrap_err();
        assert!(matches!(&e[0].why, crate::config::subst::Why::Refused(r) if r.contains('\\')));
    }
}
