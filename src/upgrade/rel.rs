//! A release's `.rel` file: `{release, {Name, Vsn}, {erts, EVsn}, [{App, AppVsn, …}]}`.
use super::terms::{self, Access, T};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rel {
    pub name: String,
    pub vsn: String,
    pub erts: String,
    /// `(application, version)`, in boot order.
    pub apps: Vec<(String, String)>,
}

impl Rel {
    /// The version of `app` in this release.
    pub(crate) fn app_vsn(&self, app: &str) -> Option<&str> {
        self.apps
            .iter()
            .find(|(a, _)| a == app)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `.rel` file; the error says what is wrong (the caller names the file).
pub(crate) fn parse(text: &str) -> Result<Rel, String> {
    let term = terms::consult_one(text).map_err(|e| e.to_string())?;
    let bad = || "not {release, {Name, Vsn}, {erts, Vsn}, [Apps]}".to_string();
    let items = term.tuple().ok_or_else(bad)?;
    let [tag, id, erts, apps] = items else {
        return Err(bad());
    };
    if !tag.is_atom("release") {
        return Err(bad());
    }
    let pair = |t: &T| -> Option<(String, String)> {
        match t.tuple()? {
            [a, b, ..] => Some((a.text().or(a.atom().map(str::to_string))?, b.text()?)),
            _ => None,
        }
    };
    let (name, vsn) = pair(id).ok_or_else(bad)?;
    let (erts_tag, erts) = pair(erts).ok_or_else(bad)?;
    if erts_tag != "erts" {
        return Err(bad());
    }
    let apps = apps
        .list()
        .ok_or_else(bad)?
        .iter()
        .map(pair)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    Ok(Rel {
        name,
        vsn,
        erts,
        apps,
    })
}

/// The release `vsn` as `releases/RELEASES` records it
/// (`[{release, Name, Vsn, ErtsVsn, [{App, AppVsn, Dir}], Status}]`): release_handler
/// deletes `releases/VSN/NAME.rel` after unpacking `"VSN/NAME"`.
pub(crate) fn from_releases(text: &str, vsn: &str) -> Option<Rel> {
    let term = terms::consult_one(text).ok()?;
    term.list()?.iter().find_map(|r| match r.tuple()? {
        [tag, name, v, erts, apps, _status] if tag.is_atom("release") && v.text()? == vsn => {
            Some(Rel {
                name: name.text()?,
                vsn: vsn.to_string(),
                erts: erts.text()?,
                apps: apps
                    .list()?
                    .iter()
                    .map(|a| match a.tuple()? {
                        [app, av, ..] => Some((app.atom()?.to_string(), av.text()?)),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_versions() {
        let rel = parse("{release,{\"demo\",\"0.2.0\"},{erts,\"13.1.5\"},[{kernel,\"8.5.3\"},{demo,\"0.2.0\",permanent}]}.").unwrap();
        assert_eq!(rel.name, "demo");
        assert_eq!(rel.vsn, "0.2.0");
        assert_eq!(rel.erts, "13.1.5");
        assert_eq!(rel.app_vsn("demo"), Some("0.2.0"));
        assert!(parse("{release, x}.").is_err());
        assert!(parse("[").is_err());
        let releases = "%% coding: utf-8\n[{release,\"demo\",\"0.2.0\",\"13.1.5\",[{kernel,\"8.5.3\",\"lib/kernel-8.5.3\"}],old}].";
        let r = from_releases(releases, "0.2.0").unwrap();
        assert_eq!((r.erts.as_str(), r.apps.len()), ("13.1.5", 1));
        assert!(from_releases(releases, "0.3.0").is_none());
    }
}
