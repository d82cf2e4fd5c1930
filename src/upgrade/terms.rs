//! The release's Erlang term files (`.rel`, `relup`, `RELEASES`, `sys.config`) read with
//! the `file:consult/1` parser of the config layer (`crate::config::terms`), plus the
//! accessors the upgrade checks use.
pub(crate) use crate::config::terms::{SyntaxError as Bad, Term as T, consult};

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

/// Accessors over a parsed term.
pub(crate) trait Access {
    fn is_atom(&self, name: &str) -> bool;
    fn tuple(&self) -> Option<&[T]>;
    /// A list (`""` is the empty list too).
    fn list(&self) -> Option<&[T]>;
    /// A string written `"…"`, or a list of character codes.
    fn text(&self) -> Option<String>;
}

impl Access for T {
    fn is_atom(&self, name: &str) -> bool {
        self.atom() == Some(name)
    }
    fn tuple(&self) -> Option<&[T]> {
        match self {
            T::Tuple(items) => Some(items),
            _ => None,
        }
    }
    fn list(&self) -> Option<&[T]> {
        match self {
            T::List(items) => Some(items),
            T::Str(s) if s.is_empty() => Some(&[]),
            _ => None,
        }
    }
    fn text(&self) -> Option<String> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rel_file_and_what_mix_writes() {
        let t = consult_one(
            "%% rel\n{release,{\"demo\",\"0.2.0\"},{erts,\"13.1.5\"},\n [{kernel,\"8.5.3\"},{'Elixir.X', \"1\", temporary}]}.\n",
        )
        .unwrap();
        let items = t.tuple().unwrap();
        assert!(items[0].is_atom("release"));
        assert_eq!(items[1].tuple().unwrap()[1].text().unwrap(), "0.2.0");
        assert!(items[3].list().unwrap()[1].tuple().unwrap()[0].is_atom("Elixir.X"));
        let sys = "%% coding: utf-8\n[{elixir,[{config_provider_init,#{'__struct__' => 'Elixir.Config.Provider',config_path => {system,<<82,69>>,<<\".config\">>}}}]},{demo,[{c,[104,105]},{e,\"\"}]}].\n";
        let apps = consult_one(sys).unwrap();
        let demo = apps.list().unwrap()[1].tuple().unwrap()[1].list().unwrap();
        assert_eq!(demo[0].tuple().unwrap()[1].text().unwrap(), "hi");
        assert_eq!(demo[1].tuple().unwrap()[1].list().unwrap().len(), 0);
    }

    #[test]
    fn errors_name_the_line() {
        let e = consult("[{a, 1},\n {b, fun() -> ok end}].\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(consult("[{a, 1}]\n").is_err());
        assert!(consult_one("a. b.").is_err());
        assert!(consult(&"[".repeat(1000)).is_err());
    }
}
