//! Before the first extraction: can this host run the packed ERTS at all?
//!
//! A minimal check from the manifest (recorded from `erlexec` at pack time): ELF class and
//! machine against this beamrc's, and the dynamic loader it names must exist here (a glibc
//! ERTS on a musl host fails in the loader otherwise). The `check` module's runtime checks
//! (libraries, versions) are meant to replace this function.
use super::elf;
use super::manifest::Manifest;
use std::path::Path;

/// `Err` with one sentence saying why the packed ERTS cannot run here. Pure apart from
/// `exists`.
pub(crate) fn check(
    m: &Manifest,
    host: (u8, u16),
    exists: impl Fn(&Path) -> bool,
) -> Result<(), String> {
    let describe =
        |class: u8, machine: u16| format!("{} ({class}-bit)", elf::machine_name(machine));
    if (m.elf_class, m.elf_machine) != host {
        return Err(format!(
            "the packed ERTS {} is built for {}, this host is {}: pack a release built for this machine",
            m.erts_vsn,
            describe(m.elf_class, m.elf_machine),
            describe(host.0, host.1)
        ));
    }
    if let Some(interp) = &m.interp
        && !exists(Path::new(interp))
    {
        return Err(format!(
            "the packed ERTS {} needs the dynamic loader {interp}, which this host lacks \
             (it was built against another C library: pack a release built on a host like this one)",
            m.erts_vsn
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(class: u8, machine: u16, interp: Option<&str>) -> Manifest {
        Manifest {
            erts_vsn: "13.1.5".into(),
            elf_class: class,
            elf_machine: machine,
            interp: interp.map(Into::into),
            ..Manifest::default()
        }
    }

    #[test]
    fn names_a_wrong_machine_and_a_missing_loader() {
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        assert_eq!(check(&m(64, 62, Some("/lib64/ld")), (64, 62), yes), Ok(()));
        assert_eq!(check(&m(64, 62, None), (64, 62), no), Ok(()));
        let arch = check(&m(64, 183, None), (64, 62), yes).unwrap_err();
        assert!(
            arch.contains("aarch64 (64-bit)") && arch.contains("x86_64 (64-bit)"),
            "{arch}"
        );
        let lib = check(&m(64, 62, Some("/lib/ld-musl-x86_64.so.1")), (64, 62), no).unwrap_err();
        assert!(lib.contains("/lib/ld-musl-x86_64.so.1"), "{lib}");
    }
}
