//! The whole check over a small generated release, broken one way at a time.
use super::report::{self, Finding, Level};
use super::testing::{fake_release, host, host_machine, tiny_elf};
use super::{Subject, elf};
use crate::test_support::scratch;
use std::io::{Read, Write};
use std::net::TcpListener;

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(s: &Subject, hostname: &str) -> Vec<Finding> {
    super::run(s, &host(hostname))
}

/// The problems (warnings and errors) of one check id.
#[track_caller]
fn problems<'a>(f: &'a [Finding], check: &str) -> Vec<&'a Finding> {
    f.iter()
        .filter(|x| x.check == check && x.level > Level::Ok)
        .collect()
}

/// The only error is of `check` and its line contains `needle`.
#[track_caller]
fn error_with(f: &[Finding], check: &str, needle: &str) {
    let line = only_error(f, check).line();
    assert!(line.contains(needle), "{line}");
}

#[track_caller]
fn only_error<'a>(f: &'a [Finding], check: &str) -> &'a Finding {
    let errors: Vec<&Finding> = f.iter().filter(|x| x.level == Level::Error).collect();
    assert_eq!(errors.len(), 1, "{}", report::text(f));
    assert_eq!(errors[0].check, check, "{}", report::text(f));
    errors[0]
}

#[test]
fn a_sound_release_passes() {
    let d = scratch("sound");
    let s = fake_release(&d, closed_port());
    let f = run(&s, "box");
    assert_eq!(report::exit_code(&f), 0, "{}", report::text(&f));
    let text = report::text(&f);
    assert!(
        text.contains("ok: 5 ERTS programs and 0 NIF/port libraries"),
        "{text}"
    );
    assert!(text.contains("epmd is not running on port"), "{text}");
    assert!(report::json(&f).starts_with("{\"ok\":true,\"exit_code\":0,"));
}

#[test]
fn erts_for_another_architecture() {
    let d = scratch("arch");
    let s = fake_release(&d, closed_port());
    let beam = d.join("erts-13.1.5/bin/beam.smp");
    let mut bytes = std::fs::read(&beam).unwrap();
    let other = if host_machine() == elf::EM_AARCH64 {
        elf::EM_X86_64
    } else {
        elf::EM_AARCH64
    };
    bytes[18..20].copy_from_slice(&other.to_le_bytes());
    std::fs::write(&beam, bytes).unwrap();
    let f = run(&s, "box");
    let e = only_error(&f, "runtime.format");
    assert!(
        e.what.starts_with("erts-13.1.5/bin/beam.smp is built for"),
        "{}",
        e.line()
    );
    assert_eq!(report::exit_code(&f), report::EXIT_CANNOT_START);
    // the fatal subset for `start` catches it too
    assert_eq!(super::runtime::fatal(&s, &host("box")).len(), 1);
}

#[test]
fn missing_interpreter() {
    let d = scratch("interp");
    let s = fake_release(&d, closed_port());
    let bytes = tiny_elf(
        host_machine(),
        Some("/lib/ld-musl-nowhere.so.1"),
        &[],
        None,
        &[],
    );
    std::fs::write(d.join("erts-13.1.5/bin/erlexec"), bytes).unwrap();
    error_with(
        &run(&s, "box"),
        "runtime.interpreter",
        "musl (Alpine) build",
    );
}

#[test]
fn nifs_needing_a_missing_library_or_a_newer_glibc() {
    let d = scratch("nif");
    let s = fake_release(&d, closed_port());
    let m = host_machine();
    let priv_dir = d.join("lib/demo-0.1.0/priv");
    std::fs::create_dir_all(&priv_dir).unwrap();
    std::fs::write(
        priv_dir.join("missing.so"),
        tiny_elf(m, None, &["libbeamrc_nowhere.so.3"], None, &[]),
    )
    .unwrap();
    let f = run(&s, "box");
    let e = only_error(&f, "runtime.library");
    assert!(
        e.line()
            .contains("lib/demo-0.1.0/priv/missing.so needs libbeamrc_nowhere.so.3"),
        "{}",
        e.line()
    );
    std::fs::remove_file(priv_dir.join("missing.so")).unwrap();
    std::fs::write(
        priv_dir.join("new_glibc.so"),
        tiny_elf(
            m,
            None,
            &["libc.so.6"],
            None,
            &[("libc.so.6", &["GLIBC_2.2.5", "GLIBC_99.0"])],
        ),
    )
    .unwrap();
    let f = run(&s, "box");
    let e = only_error(&f, "runtime.symbol_version");
    assert!(
        e.line()
            .contains("needs glibc 99.0 (GLIBC_99.0), this host has glibc 2."),
        "{}",
        e.line()
    );
}

#[test]
fn integrity_breakages() {
    let d = scratch("integrity");
    let s = fake_release(&d, closed_port());
    std::fs::rename(d.join("lib/demo-0.1.0"), d.join("lib/demo-0.0.9")).unwrap();
    let e = only_error(&run(&s, "box"), "integrity.app").clone();
    assert!(
        e.what
            .contains("application demo 0.1.0 listed in demo.rel is missing")
            && e.what.contains("demo-0.0.9 instead"),
        "{}",
        e.line()
    );
    std::fs::rename(d.join("lib/demo-0.0.9"), d.join("lib/demo-0.1.0")).unwrap();
    std::fs::remove_file(d.join("releases/0.1.0/start.boot")).unwrap();
    error_with(
        &run(&s, "box"),
        "integrity.boot",
        "releases/0.1.0/start.boot cannot be read",
    );
    std::fs::write(d.join("releases/0.1.0/start.boot"), [131]).unwrap();
    std::fs::rename(d.join("erts-13.1.5"), d.join("erts-13.2")).unwrap();
    let mut s2 = s.clone();
    s2.erts_bin = Some(d.join("erts-13.2/bin"));
    error_with(
        &run(&s2, "box"),
        "integrity.erts",
        "built for ERTS 13.1.5, but the release holds ERTS 13.2",
    );
}

#[test]
fn sys_config_and_vm_args() {
    let d = scratch("config");
    let mut s = fake_release(&d, closed_port());
    std::fs::write(&s.sys_config, "[{demo, [{k, 1}]},\n {logger, []}\n").unwrap();
    let e = only_error(&run(&s, "box"), "config.sys_config").clone();
    assert!(
        e.what.starts_with("releases/0.1.0/sys.config:2: "),
        "{}",
        e.line()
    );
    std::fs::write(&s.sys_config, "[{demo, [{k, 1}]}].\n").unwrap();
    std::fs::write(&s.vm_args, "-env PORT ${BEAMRC_CHECK_UNSET_VAR}\n").unwrap();
    s.substitute = true;
    error_with(&run(&s, "box"), "config.vm_args", "BEAMRC_CHECK_UNSET_VAR");
}

#[test]
fn names_cookie_home() {
    let d = scratch("names");
    let mut s = fake_release(&d, closed_port());
    s.node = "demo@10.1.2.3".into();
    error_with(&run(&s, "box"), "config.name", "Can't set short node name");
    s.distribution = "name".into();
    let f = run(&s, "box");
    assert_eq!(problems(&f, "config.name").len(), 0);
    assert_eq!(report::exit_code(&f), 0);
    s.distribution = "sname".into();
    s.node = "demo".into();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        d.join("releases/COOKIE"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let f = run(&s, "box");
    assert_eq!(problems(&f, "config.cookie")[0].level, Level::Warning);
    assert!(!report::text(&f).contains("secret"));
    s.env.remove("HOME");
    let f = run(&s, "box");
    assert_eq!(problems(&f, "env.home")[0].level, Level::Warning);
    assert_eq!(report::exit_code(&f), 0);
}

#[test]
fn epmd_down_name_in_use_and_dist_port() {
    let d = scratch("epmd");
    let port = closed_port();
    let s = fake_release(&d, port);
    std::fs::write(&s.vm_args, "-start_epmd false\n").unwrap();
    error_with(
        &run(&s, "box"),
        "env.epmd",
        "register/listen error: econnrefused",
    );

    // An epmd that knows "demo" (one PORT_PLEASE2 reply per connection).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let epmd_port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        if let Ok((mut c, _)) = listener.accept() {
            let mut req = [0u8; 7];
            let _ = c.read_exact(&mut req);
            let mut reply = vec![119, 0, 0x1f, 0x90, 77, 0, 0, 6, 0, 5, 0, 4];
            reply.extend_from_slice(b"demo");
            reply.extend_from_slice(&[0, 0]);
            let _ = c.write_all(&reply);
        }
    });
    let s = fake_release(&d, epmd_port);
    let e = only_error(&run(&s, "box"), "env.name_in_use").clone();
    server.join().unwrap();
    assert!(e.what.contains("listening on port 8080"), "{}", e.line());

    let held = TcpListener::bind("0.0.0.0:0").unwrap();
    let dist = held.local_addr().unwrap().port();
    let mut s = fake_release(&d, closed_port());
    s.env.set("ERL_DIST_PORT", dist.to_string());
    let e = only_error(&run(&s, "box"), "env.dist_port").clone();
    assert!(
        e.what.contains(&format!(
            "distribution port {dist} (ERL_DIST_PORT) is not free"
        )),
        "{}",
        e.line()
    );
}

#[test]
fn unwritable_release_tmp() {
    use std::os::unix::fs::PermissionsExt;
    let d = scratch("tmp");
    let mut s = fake_release(&d, closed_port());
    // A parent that is a file stops root too.
    std::fs::write(d.join("file"), "").unwrap();
    s.dirs = vec![("RELEASE_TMP", d.join("file/tmp"))];
    s.substitute = true;
    let e = only_error(&run(&s, "box"), "env.dirs").clone();
    assert!(
        e.what.contains("cannot be created") && e.what.contains("not a directory"),
        "{}",
        e.line()
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return; // root writes through modes
    }
    std::fs::create_dir_all(d.join("ro")).unwrap();
    std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o500)).unwrap();
    s.dirs = vec![("RELEASE_TMP", d.join("ro/tmp"))];
    s.substitute = true;
    error_with(&run(&s, "box"), "env.dirs", "cannot be created");
    std::fs::set_permissions(d.join("ro"), std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn the_crypto_nif_names_its_openssl() {
    let host_crypto = std::fs::read_dir("/usr/lib/erlang/lib")
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("crypto-"))
        .map(|e| e.path().join("priv/lib/crypto.so"))
        .filter(|p| p.is_file());
    let Some(host_crypto) = host_crypto else {
        panic!("this test needs the host's OTP crypto NIF (apt-get install erlang-crypto)");
    };
    let d = scratch("crypto");
    let s = fake_release(&d, closed_port());
    let lib = d.join("lib/crypto-5.1.2/priv/lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::copy(&host_crypto, lib.join("crypto.so")).unwrap();
    let f = run(&s, "box");
    let text = report::text(&f);
    assert!(text.contains("ok: the crypto NIF needs OpenSSL"), "{text}");
    // the same NIF linked against an OpenSSL this host does not have
    let bytes = std::fs::read(lib.join("crypto.so")).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w.starts_with(b"libcrypto.so."))
        .unwrap();
    let mut patched = bytes.clone();
    patched[at + 13] = b'9'; // libcrypto.so.9[...]
    std::fs::write(lib.join("crypto.so"), patched).unwrap();
    let f = run(&s, "box");
    let e = only_error(&f, "runtime.library");
    assert!(
        e.line().contains("needs libcrypto.so.9") && e.line().contains("install OpenSSL 9"),
        "{}",
        e.line()
    );
}
