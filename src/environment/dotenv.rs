//! Environment files (dotenv syntax, parsed by `dotenvy` without touching the process
//! environment).
//!
//! Layers, lowest first: `releases/VSN/release.env` (optional), the file named by the
//! caller's `RELEASE_ENV_FILE` (required when set and non-empty; a relative path is
//! relative to the cwd), then the caller's environment, which always wins (a variable
//! the caller set to the empty string stays empty). Within one file a later line
//! overrides an earlier one.
//!
//! Syntax is dotenvy 0.15's: `KEY=value`, optional `export `, `#` comments, `'single'`
//! (literal) and `"double"` quotes (`\n`, `\\`, `\"`, `\$` escapes; may span lines).
//! A UTF-8 byte-order mark is ignored.
//!
//! **Expansion** (dotenvy's, unchanged): `$NAME` and `${NAME}` in unquoted and
//! double-quoted values are replaced by the value of `NAME` in the **beamrc process
//! environment** if set there, else by the value of an earlier `NAME=` line of the *same*
//! file, else by the empty string. Single quotes and `\$` prevent it. There are no
//! defaults: `${A:-x}` looks up a variable literally named `A:-x` (so it is empty).
//! Quirk: a bare `$NAME` ends at the first non-alphanumeric character, `_` included
//! (`$MY_VAR` is `$MY` followed by `_VAR`); use `${MY_VAR}`.
//! Values from `release.env` are not visible to expansion in `RELEASE_ENV_FILE`.
use std::path::{Path, PathBuf};

use super::EnvMap;
use crate::error::Error;

/// Layers release.env (lowest), RELEASE_ENV_FILE, then the caller's env (highest) and
/// returns the merged env.
pub fn load_env_files(caller: &EnvMap, release_env: &Path) -> Result<EnvMap, Error> {
    let mut merged = EnvMap::new();
    match std::fs::read(release_env) {
        Ok(bytes) => apply(&mut merged, release_env, &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format!("cannot read {}", release_env.display()),
                e,
            ));
        }
    }
    if let Some(file) = caller.get("RELEASE_ENV_FILE").filter(|v| !v.is_empty()) {
        let file = PathBuf::from(file);
        let bytes = std::fs::read(&file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Config(format!(
                    "RELEASE_ENV_FILE names {}, which does not exist",
                    file.display()
                ))
            } else {
                Error::io(
                    format!("cannot read RELEASE_ENV_FILE {}", file.display()),
                    e,
                )
            }
        })?;
        apply(&mut merged, &file, &bytes)?;
    }
    merged.extend(
        caller
            .iter()
            .map(|(k, v)| (k.to_os_string(), v.to_os_string())),
    );
    Ok(merged)
}

fn apply(env: &mut EnvMap, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::Config(format!("{}: not valid UTF-8", path.display())))?;
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((k, v)) => env.set(k, v),
            Err(dotenvy::Error::LineParse(..)) => {
                let line = error_line(text);
                // The offending text is not quoted back: env files hold secrets.
                return Err(Error::Config(match line {
                    Some(l) => format!("{}:{l}: syntax error in environment file", path.display()),
                    None => format!("{}: syntax error in environment file", path.display()),
                }));
            }
            Err(e) => {
                return Err(Error::Config(format!("{}: {e}", path.display())));
            }
        }
    }
    Ok(())
}

/// The first line of the logical line (a quoted value may span lines) that dotenvy
/// rejects. dotenvy reports the line's text and an index, not a line number; since a
/// line's validity does not depend on the lines before it (expansion never fails), each
/// logical line is parsed on its own: physical lines are added until the piece either
/// parses or fails for a reason other than "still inside quotes at the end".
fn error_line(text: &str) -> Option<usize> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut start = 0;
    let mut end = 0;
    while end < lines.len() {
        let mut piece: String = lines[start..=end].concat();
        if !piece.ends_with('\n') {
            piece.push('\n');
        }
        match dotenvy::from_read_iter(piece.as_bytes()).find_map(Result::err) {
            None => {
                start = end + 1;
            }
            // dotenvy's "unterminated at end of input" error carries the raw piece,
            // trailing newline included; anything else is a real error
            Some(dotenvy::Error::LineParse(s, _)) if s.ends_with('\n') => {}
            Some(_) => return Some(start + 1),
        }
        end += 1;
    }
    (start < lines.len()).then_some(start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::test_support::scratch;

    fn caller(pairs: &[(&str, &str)]) -> EnvMap {
        pairs.iter().map(|(k, v)| (*k, *v)).collect()
    }

    #[test]
    fn three_layers() {
        let d = scratch("layers");
        let rel = d.join("release.env");
        fs::write(
            &rel,
            "A=release\nB=release\nC=release\nexport D='release d'\n",
        )
        .unwrap();
        let user = d.join("user.env");
        fs::write(&user, "# comment\nB=user\nC=\"user\"\n\n").unwrap();
        let env = load_env_files(
            &caller(&[
                ("C", "caller"),
                ("RELEASE_ENV_FILE", user.to_str().unwrap()),
            ]),
            &rel,
        )
        .unwrap();
        assert_eq!(env.get_str("A"), Some("release"));
        assert_eq!(env.get_str("B"), Some("user"));
        assert_eq!(env.get_str("C"), Some("caller"));
        assert_eq!(env.get_str("D"), Some("release d"));
        // set-but-empty in the caller still wins
        let env = load_env_files(&caller(&[("A", "")]), &rel).unwrap();
        assert_eq!(env.get_str("A"), Some(""));
    }

    #[test]
    fn missing_files() {
        let d = scratch("missing");
        // release.env is optional
        let env = load_env_files(&caller(&[("X", "1")]), &d.join("release.env")).unwrap();
        assert_eq!(env, caller(&[("X", "1")]));
        // an empty RELEASE_ENV_FILE is ignored
        load_env_files(&caller(&[("RELEASE_ENV_FILE", "")]), &d.join("none")).unwrap();
        // RELEASE_ENV_FILE is not
        let gone = d.join("gone.env");
        let e = load_env_files(
            &caller(&[("RELEASE_ENV_FILE", gone.to_str().unwrap())]),
            &d.join("none"),
        )
        .unwrap_err();
        assert_eq!(e.code(), 4);
        assert!(e.to_string().contains("gone.env"), "{e}");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let d = scratch("syntax");
        let cases: [(&str, usize); 5] = [
            ("A=1\nB=2\nthis is wrong\nC=3\n", 3),
            ("A=1\n# c\n\nB=\"multi\nline\"\nC=x y\n", 6),
            ("A=1\nB=\"never closed\nmore\n", 2),
            ("1A=x\n", 1),
            ("A=1\nB='ok'\nC='bad\n", 3),
        ];
        for (text, line) in cases {
            let f = d.join("bad.env");
            fs::write(&f, text).unwrap();
            let e = load_env_files(
                &caller(&[("RELEASE_ENV_FILE", f.to_str().unwrap())]),
                &d.join("none"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains(&format!("{}:{line}: syntax error", f.display())),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn dotenvy_features() {
        let d = scratch("features");
        let f = d.join("release.env");
        fs::write(
            &f,
            "\u{feff}BEAMRC_T_DOTENV_A=one\n\
             BEAMRC_T_DOTENV_B=${BEAMRC_T_DOTENV_A}-$BEAMRC_T_DOTENV_A\n\
             BEAMRC_T_DOTENV_C='${BEAMRC_T_DOTENV_A}'\n\
             BEAMRC_T_DOTENV_D=\"x\\ny\"\n\
             BEAMRC_T_DOTENV_E=${BEAMRC_T_DOTENV_UNSET:-dflt}\n\
             BEAMRC_T_DOTENV_A=two\n",
        )
        .unwrap();
        let env = load_env_files(&EnvMap::new(), &f).unwrap();
        assert_eq!(env.get_str("BEAMRC_T_DOTENV_A"), Some("two"));
        // dotenvy quirk: a bare `$NAME` ends at the first non-alphanumeric, `_` included
        assert_eq!(env.get_str("BEAMRC_T_DOTENV_B"), Some("one-_T_DOTENV_A"));
        assert_eq!(
            env.get_str("BEAMRC_T_DOTENV_C"),
            Some("${BEAMRC_T_DOTENV_A}")
        );
        assert_eq!(env.get_str("BEAMRC_T_DOTENV_D"), Some("x\ny"));
        assert_eq!(env.get_str("BEAMRC_T_DOTENV_E"), Some(""));
    }
}
