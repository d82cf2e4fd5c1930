//! Which kind of release a directory holds, and whether beamrc can drive it: a Mix release
//! (`releases/VSN/elixir`), a relx release (relx's extended script), or something beamrc
//! must refuse at install time (relx's plain `bin` script, Distillery, anything else).
use std::io::Read;
use std::path::{Path, PathBuf};

use super::script::{Flavour, RelxScript};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Mix,
    Relx(Box<RelxScript>),
}

/// The release's own script: `bin/NAME` while it is still a script, else the kept
/// `bin/NAME.sh`.
pub fn own_script(root: &Path, name: &str) -> PathBuf {
    let bin = root.join("bin").join(name);
    if is_script(&bin) {
        bin
    } else {
        root.join("bin").join(format!("{name}.sh"))
    }
}

/// A shell script (`#!`), as opposed to a binary from an earlier install.
pub fn is_script(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|_| &head == b"#!")
        .unwrap_or(false)
}

/// Decides the kind of the release at `root` named `name` whose version is `vsn`; `Err`
/// is the sentence explaining why beamrc cannot drive it.
pub fn detect(root: &Path, name: &str, vsn: &str) -> Result<Kind, String> {
    let vsn_dir = root.join("releases").join(vsn);
    if vsn_dir.join("elixir").is_file() {
        return Ok(Kind::Mix);
    }
    let script_path = own_script(root, name);
    let text = std::fs::read_to_string(&script_path).unwrap_or_default();
    if root.join("bin").join(format!("{name}_rc_exec.sh")).exists()
        || vsn_dir.join("libexec").is_dir()
        || text.contains("DISTILLERY")
    {
        return Err(format!(
            "{} is a Distillery release; beamrc drives Mix and rebar3/relx releases only",
            root.display()
        ));
    }
    match RelxScript::parse(&text) {
        Some(s) if s.flavour == Flavour::Extended => Ok(Kind::Relx(Box::new(s))),
        Some(_) => Err(format!(
            "{} has relx's plain start script (extended_start_script is false), which has no commands to stand in for; build it with {{extended_start_script, true}}",
            script_path.display()
        )),
        None => Err(format!(
            "{} is neither a Mix release (no {}) nor a relx release (no relx extended start script at {})",
            root.display(),
            vsn_dir.join("elixir").display(),
            script_path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relx::script::tests_support::EXTENDED;
    use crate::test_support::scratch;

    #[test]
    fn kinds() {
        let root = scratch("kinds");
        std::fs::create_dir_all(root.join("releases/0.1.0")).unwrap();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        let err = detect(&root, "hooked", "0.1.0").unwrap_err();
        assert!(err.contains("neither a Mix release"), "{err}");
        std::fs::write(root.join("bin/hooked"), EXTENDED).unwrap();
        assert!(matches!(
            detect(&root, "hooked", "0.1.0"),
            Ok(Kind::Relx(_))
        ));
        // installed: bin/NAME is a binary, the script is kept as bin/NAME.sh
        std::fs::rename(root.join("bin/hooked"), root.join("bin/hooked.sh")).unwrap();
        std::fs::write(root.join("bin/hooked"), b"\x7fELF").unwrap();
        assert!(matches!(
            detect(&root, "hooked", "0.1.0"),
            Ok(Kind::Relx(_))
        ));
        let plain = "#!/bin/sh\nexport REL_NAME=\"hooked\"\nREL_VSN=\"0.1.0\"\nERTS_VSN=\"1\"\n\
ERL_OPTS=\"\"\nfind_sys_config() {\n}\n";
        std::fs::write(root.join("bin/hooked.sh"), plain).unwrap();
        let err = detect(&root, "hooked", "0.1.0").unwrap_err();
        assert!(err.contains("plain start script"), "{err}");
        std::fs::create_dir_all(root.join("releases/0.1.0/libexec")).unwrap();
        assert!(
            detect(&root, "hooked", "0.1.0")
                .unwrap_err()
                .contains("Distillery")
        );
        std::fs::write(root.join("releases/0.1.0/elixir"), "#!/bin/sh\n").unwrap();
        assert_eq!(detect(&root, "hooked", "0.1.0"), Ok(Kind::Mix));
    }
}
