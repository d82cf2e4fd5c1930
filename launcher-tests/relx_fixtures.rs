//! The relx fixtures themselves: what rebar3 writes, and that the kept script runs.
use crate::support::relx::{RelxFixture, RelxRelease};

#[test]
fn relx_fixtures_have_relx_layout() {
    for f in RelxFixture::ALL {
        let rel = RelxRelease::new(f);
        let bin = rel.root.join("bin");
        assert!(rel.bin().is_file(), "{f:?}: bin/NAME");
        assert!(
            rel.version_dir()
                .join(format!("{}.rel", rel.name))
                .is_file()
        );
        assert!(!rel.version_dir().join("elixir").exists());
        let extended = f != RelxFixture::PlainBin;
        // relx writes both even for the plain script (observed with rebar3 3.19).
        for file in ["nodetool", "install_upgrade.escript"] {
            assert!(bin.join(file).is_file(), "{f:?}: bin/{file}");
        }
        assert_eq!(
            rel.erts_bin().is_some(),
            f != RelxFixture::NoErts,
            "{f:?}: erts"
        );
        let script = std::fs::read_to_string(rel.bin()).unwrap();
        assert_eq!(script.contains("relx_usage()"), extended, "{f:?}");
    }
    let hooks = RelxRelease::new(RelxFixture::Hooks);
    assert!(hooks.root.join("bin/hooks/builtin/pid").is_file());
    assert!(hooks.root.join("bin/extensions/bar").is_file());
    let src = RelxRelease::new(RelxFixture::Src);
    assert!(src.version_dir().join("vm.args.src").is_file());
    assert!(src.version_dir().join("sys.config.src").is_file());
}

#[test]
fn relx_kept_script_answers_help() {
    let rel = RelxRelease::new(RelxFixture::Hooks);
    let out = rel.run(&rel.bin(), &["help", "rpc"], &[]);
    out.assert_success("help rpc");
    assert!(out.stdout.starts_with("Usage: hooked rpc"), "{out}");
    let out = rel.run(&rel.bin(), &["bar"], &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout
            .contains("{bar, hooked, 'hooked@localhost', hooked}."),
        "{out}"
    );
}
