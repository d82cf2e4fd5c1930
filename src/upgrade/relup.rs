//! A `relup` file: `{Vsn, [{UpFrom, Descr, Instrs}], [{DownTo, Descr, Instrs}]}`, and
//! release_handler's rule for which script moves the node from one version to another.
use super::terms::{self, Access, T};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relup {
    pub vsn: String,
    pub up: Vec<Script>,
    pub down: Vec<Script>,
}

/// One script: the other version and the low-level instructions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub vsn: String,
    pub instructions: Vec<T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The target's relup upgrades from the running version.
    Up,
    /// The running version's relup downgrades to the target.
    Down,
}

pub(crate) fn parse(text: &str) -> Result<Relup, String> {
    let term = terms::consult_one(text).map_err(|e| e.to_string())?;
    let bad = || "not {Vsn, [{UpFromVsn, Descr, Instructions}], [{DownToVsn, …}]}".to_string();
    let [vsn, up, down] = term.tuple().ok_or_else(bad)? else {
        return Err(bad());
    };
    let scripts = |t: &T| -> Option<Vec<Script>> {
        t.list()?
            .iter()
            .map(|s| match s.tuple()? {
                [v, _descr, instrs] => Some(Script {
                    vsn: v.text()?,
                    instructions: instrs.list()?.to_vec(),
                }),
                _ => None,
            })
            .collect()
    };
    Ok(Relup {
        vsn: vsn.text().ok_or_else(bad)?,
        up: scripts(up).ok_or_else(bad)?,
        down: scripts(down).ok_or_else(bad)?,
    })
}

/// release_handler's `do_get_rh_script`: the target's relup upgrading from `from`, else
/// the running version's relup downgrading to `to`.
pub(crate) fn script_for<'a>(
    target: Option<&'a Relup>,
    running: Option<&'a Relup>,
    to: &str,
    from: &str,
) -> Option<(&'a Script, Direction)> {
    let up = target
        .filter(|r| r.vsn == to)
        .and_then(|r| r.up.iter().find(|s| s.vsn == from));
    if let Some(s) = up {
        return Some((s, Direction::Up));
    }
    running
        .filter(|r| r.vsn == from)
        .and_then(|r| r.down.iter().find(|s| s.vsn == to))
        .map(|s| (s, Direction::Down))
}

/// Modules whose loaded version release_handler reads from the running beam file
/// (`beam_lib:version/1` for `load` and `remove`), with their application when the
/// script loads them with `load_object_code`.
pub(crate) fn modules_read(script: &Script) -> Vec<(Option<String>, String)> {
    let mut apps: Vec<(String, String)> = Vec::new();
    for i in &script.instructions {
        if let Some([tag, spec]) = i.tuple()
            && tag.is_atom("load_object_code")
            && let Some([app, _vsn, mods]) = spec.tuple()
        {
            for m in mods.list().unwrap_or(&[]) {
                if let (Some(a), Some(m)) = (app.atom(), m.atom()) {
                    apps.push((m.to_string(), a.to_string()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for i in &script.instructions {
        if let Some([tag, spec]) = i.tuple()
            && (tag.is_atom("load") || tag.is_atom("remove"))
            && let Some(m) = spec.tuple().and_then(|s| s.first()).and_then(T::atom)
        {
            let app = apps.iter().find(|(x, _)| x == m).map(|(_, a)| a.clone());
            out.push((app, m.to_string()));
        }
    }
    out
}

/// The versions a relup moves from (up) and to (down), for messages.
pub(crate) fn versions(relup: &Relup) -> (Vec<&str>, Vec<&str>) {
    (
        relup.up.iter().map(|s| s.vsn.as_str()).collect(),
        relup.down.iter().map(|s| s.vsn.as_str()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELUP: &str = "{\"0.2.0\",\n [{\"0.1.0\",[],\n   [{load_object_code,{upapp,\"0.2.0\",['Elixir.Upapp.Counter']}},\n    point_of_no_return,\n    {suspend,['Elixir.Upapp.Counter']},\n    {load,{'Elixir.Upapp.Counter',brutal_purge,brutal_purge}},\n    {code_change,up,[{'Elixir.Upapp.Counter',[]}]},\n    {resume,['Elixir.Upapp.Counter']}]}],\n [{\"0.1.0\",[],[point_of_no_return]}]}.\n";

    #[test]
    fn finds_the_script_as_release_handler_does() {
        let target = parse(RELUP).unwrap();
        let (s, d) = script_for(Some(&target), None, "0.2.0", "0.1.0").unwrap();
        assert_eq!(d, Direction::Up);
        assert_eq!(
            modules_read(s),
            vec![(Some("upapp".into()), "Elixir.Upapp.Counter".into())]
        );
        assert!(script_for(Some(&target), None, "0.2.0", "0.0.9").is_none());
        // downgrade: the running 0.2.0's relup has a way down to 0.1.0
        let (_, d) = script_for(None, Some(&target), "0.1.0", "0.2.0").unwrap();
        assert_eq!(d, Direction::Down);
        assert_eq!(versions(&target), (vec!["0.1.0"], vec!["0.1.0"]));
        assert!(parse("{\"1\", x, []}.").is_err());
    }
}
