//! Parsing the small files of a release: `start_erl.data`, `releases/VSN/elixir`, `*.rel`.
use std::path::Path;

/// `releases/start_erl.data`: "ERTS_VSN REL_VSN".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartErlData {
    pub erts_vsn: String,
    pub rel_vsn: String,
}

impl StartErlData {
    /// Mirrors `cut -d' ' -f2`: the second space-separated field, up to the end of line.
    pub fn parse(text: &str) -> Option<StartErlData> {
        let line = text.lines().next()?;
        let mut fields = line.split(' ');
        let erts_vsn = fields.next()?.to_string();
        let rel_vsn = fields.next()?.to_string();
        if erts_vsn.is_empty() || rel_vsn.is_empty() {
            return None;
        }
        Some(StartErlData { erts_vsn, rel_vsn })
    }
}

/// The generations of Elixir's release scripts whose argv differ (see the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ElixirGen {
    /// 1.14.x: `-user Elixir.IEx.CLI`, `-noshell` inside ERL, no `--` after eval.
    V1_14,
    /// 1.15.0: `-s elixir start_cli -user elixir` and `-e :elixir.start_iex()`.
    V1_15,
    /// 1.15.x patches and 1.16: `-s elixir start_iex -user elixir`.
    V1_16,
    /// 1.17 and 1.18: `-user elixir`; still probes the tty for `ansi_enabled`.
    V1_17,
    /// 1.19 and later: no tty probe.
    V1_19,
}

/// `"1.15.8-rc.0"` → `(1, 15, 8)`; missing parts are 0.
pub fn version_tuple(version: &str) -> (u32, u32, u32) {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next(), next())
}

impl ElixirGen {
    pub fn from_version(version: &str) -> ElixirGen {
        let (major, minor, patch) = version_tuple(version);
        match (major, minor) {
            (0, _) | (1, 0..=14) => ElixirGen::V1_14,
            (1, 15) if patch == 0 => ElixirGen::V1_15,
            (1, 15) | (1, 16) => ElixirGen::V1_16,
            (1, 17) | (1, 18) => ElixirGen::V1_17,
            _ => ElixirGen::V1_19,
        }
    }

    /// Up to 1.14 the client used `:rpc.call` and reported `:nodedown`.
    pub fn legacy_rpc(self) -> bool {
        self == ElixirGen::V1_14
    }
}

/// What beamrc needs from `releases/VSN/elixir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElixirScript {
    /// Whether the file was there at all.
    pub found: bool,
    /// `ELIXIR_VERSION=` as written (the Elixir that built the release).
    pub version: Option<String>,
    /// The part after `"$SCRIPT_PATH"` in `ERTS_BIN="$SCRIPT_PATH"/../../erts-V/bin/`;
    /// `None` when the release has no ERTS (`erl` comes from `PATH`).
    pub erts_bin_suffix: Option<String>,
}

impl ElixirScript {
    pub fn read(path: &Path) -> ElixirScript {
        match std::fs::read_to_string(path) {
            Ok(text) => ElixirScript::parse(&text),
            Err(_) => ElixirScript {
                found: false,
                version: None,
                erts_bin_suffix: None,
            },
        }
    }

    pub fn parse(text: &str) -> ElixirScript {
        let mut version = None;
        let mut erts_bin_suffix = None;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("ELIXIR_VERSION=") {
                version = Some(v.trim().trim_matches('"').to_string());
            } else if let Some(rest) = line.strip_prefix("ERTS_BIN=\"$SCRIPT_PATH\"") {
                erts_bin_suffix = Some(rest.trim().to_string());
            }
        }
        ElixirScript {
            found: true,
            version,
            erts_bin_suffix,
        }
    }

    pub fn generation(&self) -> ElixirGen {
        self.version
            .as_deref()
            .map(ElixirGen::from_version)
            .unwrap_or(ElixirGen::V1_19)
    }
}

/// The release name from the single `NAME.rel` in `releases/VSN`.
pub fn release_name(vsn_dir: &Path) -> Option<String> {
    let mut names = std::fs::read_dir(vsn_dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".rel").map(str::to_string)
        });
    let first = names.next()?;
    names.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_erl_data_is_cut_f2() {
        let d = StartErlData::parse("13.1.5 0.1.0").unwrap();
        assert_eq!(d.erts_vsn, "13.1.5");
        assert_eq!(d.rel_vsn, "0.1.0");
        assert_eq!(
            StartErlData::parse("13.1.5 0.2.0\n").unwrap().rel_vsn,
            "0.2.0"
        );
        assert!(StartErlData::parse("13.1.5").is_none());
    }

    #[test]
    fn generations() {
        assert_eq!(ElixirGen::from_version("1.14.0"), ElixirGen::V1_14);
        assert_eq!(ElixirGen::from_version("1.15.0"), ElixirGen::V1_15);
        assert_eq!(ElixirGen::from_version("1.15.8"), ElixirGen::V1_16);
        assert_eq!(ElixirGen::from_version("1.16.0"), ElixirGen::V1_16);
        assert_eq!(ElixirGen::from_version("1.17.3"), ElixirGen::V1_17);
        assert_eq!(ElixirGen::from_version("1.18.0"), ElixirGen::V1_17);
        assert_eq!(ElixirGen::from_version("1.19.0-rc.1"), ElixirGen::V1_19);
        assert_eq!(ElixirGen::from_version("1.21.0-dev"), ElixirGen::V1_19);
    }

    #[test]
    fn elixir_script_with_and_without_erts() {
        let s = ElixirScript::parse(
            "#!/bin/sh\nELIXIR_VERSION=1.14.0\nERTS_BIN=\nERTS_BIN=\"$SCRIPT_PATH\"/../../erts-13.1.5/bin/\n",
        );
        assert_eq!(s.version.as_deref(), Some("1.14.0"));
        assert_eq!(
            s.erts_bin_suffix.as_deref(),
            Some("/../../erts-13.1.5/bin/")
        );
        let s = ElixirScript::parse("ELIXIR_VERSION=1.14.0\nERTS_BIN=\n");
        assert_eq!(s.erts_bin_suffix, None);
    }
}
