use super::*;
use std::fs;

use crate::config::args_file::tokenize;
use crate::paths::with_suffix;
use crate::test_support::scratch;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn no_substitution_uses_original() {
    let d = scratch("nosub");
    let p = d.join("vm.args");
    fs::write(&p, "-sname ${NAME}\n-setcookie abc\n").unwrap();
    let plan = plan_vm_args(&p, &d.join("out"), false, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.entry, p);
    assert!(plan.files.is_empty());
    assert_eq!(plan.info.name, Some((NameKind::Short, "${NAME}".into())));
    assert_eq!(plan.info.cookie.as_deref(), Some("abc"));
    assert_eq!(plan.info.setcookie_count, 1);
}

#[test]
fn missing_entry_is_release_error() {
    let d = scratch("missing");
    let e = plan_vm_args(&d.join("vm.args"), &d, true, &no_env, UnsetPolicy::Error).unwrap_err();
    assert!(matches!(e, Error::Release(_)), "{e}");
}

#[test]
fn src_is_always_rendered_and_wins() {
    let d = scratch("src");
    let p = d.join("vm.args");
    fs::write(
        with_suffix(&p, ".src"),
        "-name ${N:-x@h} # ${NOT_IN_COMMENT}\n",
    )
    .unwrap();
    let out = d.join("render");
    let plan = plan_vm_args(&p, &out, false, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.entry, out.join("vm.args"));
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].source, with_suffix(&p, ".src"));
    assert_eq!(plan.files[0].contents, b"-name x@h # ${NOT_IN_COMMENT}\n");
    assert_eq!(plan.info.name, Some((NameKind::Long, "x@h".into())));
    // a stale vm.args next to the .src is ignored
    fs::write(&p, "-name stale@h\n").unwrap();
    let plan = plan_vm_args(&p, &out, false, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.info.name, Some((NameKind::Long, "x@h".into())));
}

#[test]
fn chain_is_rendered_and_references_rewritten() {
    let d = scratch("chain");
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::create_dir_all(d.join("other")).unwrap();
    let p = d.join("vm.args");
    fs::write(
        &p,
        "-sname ${NODE}\n-args_file sub/extra.args\n-args_file other/extra.args\n+A ${A:-4}\n",
    )
    .unwrap();
    // relative to the including file's directory
    fs::write(
        d.join("sub/extra.args"),
        "-setcookie ${COOKIE}\n-args_file ../last.args\n",
    )
    .unwrap();
    fs::write(d.join("other/extra.args"), "-env OTHER 1\n").unwrap();
    fs::write(d.join("last.args"), "-proto_dist inet6_tcp\n").unwrap();
    let env = |k: &str| match k {
        "NODE" => Some("demo".to_string()),
        "COOKIE" => Some("sec&ret".to_string()),
        _ => None,
    };
    let out = d.join("render dir");
    let plan = plan_vm_args(&p, &out, true, &env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.entry, out.join("vm.args"));
    let targets: Vec<_> = plan.files.iter().map(|f| f.target.clone()).collect();
    assert_eq!(
        targets,
        [
            out.join("vm.args"),
            out.join("vm.args.1-extra.args"),
            out.join("vm.args.2-last.args"),
            out.join("vm.args.3-extra.args"),
        ]
    );
    let top = String::from_utf8(plan.files[0].contents.clone()).unwrap();
    let toks = tokenize(&top);
    assert_eq!(
        toks[3].value,
        out.join("vm.args.1-extra.args").to_str().unwrap()
    );
    assert_eq!(
        toks[5].value,
        out.join("vm.args.3-extra.args").to_str().unwrap()
    );
    assert!(top.starts_with("-sname demo\n"));
    assert!(top.ends_with("+A 4\n"));
    let extra = String::from_utf8(plan.files[1].contents.clone()).unwrap();
    assert_eq!(
        tokenize(&extra)[3].value,
        out.join("vm.args.2-last.args").to_str().unwrap()
    );
    assert!(extra.starts_with("-setcookie sec&ret\n"));
    assert_eq!(plan.info.name, Some((NameKind::Short, "demo".into())));
    assert_eq!(plan.info.cookie.as_deref(), Some("sec&ret"));
    assert_eq!(
        plan.info.flags,
        [
            "-sname",
            "demo",
            "-setcookie",
            "sec&ret",
            "-proto_dist",
            "inet6_tcp",
            "-env",
            "OTHER",
            "1",
            "+A",
            "4"
        ]
    );
}

#[test]
fn diamond_renders_once_but_flags_twice() {
    let d = scratch("diamond");
    let p = d.join("vm.args");
    fs::write(&p, "-args_file a.args -args_file b.args").unwrap();
    fs::write(d.join("a.args"), "-args_file common.args").unwrap();
    fs::write(d.join("b.args"), "-args_file common.args").unwrap();
    fs::write(d.join("common.args"), "+K true").unwrap();
    let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.files.len(), 4);
    assert_eq!(plan.info.flags, ["+K", "true", "+K", "true"]);
}

#[test]
fn cycles_are_errors() {
    let d = scratch("cycle");
    let p = d.join("vm.args");
    fs::write(&p, "-args_file b.args\n").unwrap();
    fs::write(d.join("b.args"), "-args_file vm.args\n").unwrap();
    for substitute in [true, false] {
        let e = plan_vm_args(&p, &d.join("r"), substitute, &no_env, UnsetPolicy::Error)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cycle"), "{e}");
        let want = format!(
            "{} -> {} -> {}",
            p.display(),
            d.join("b.args").display(),
            p.display()
        );
        assert!(e.contains(&want), "{e}");
    }
    // self-inclusion
    fs::write(&p, "-args_file vm.args\n").unwrap();
    assert!(plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).is_err());
}

#[test]
fn missing_include() {
    let d = scratch("missinc");
    let p = d.join("vm.args");
    fs::write(&p, "-sname a\n\n-args_file nope.args\n").unwrap();
    let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    let e = e.to_string();
    assert!(e.contains("vm.args:3:") && e.contains("nope.args"), "{e}");
    // not rendering: a warning only
    let plan = plan_vm_args(&p, &d.join("r"), false, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(plan.info.warnings.len(), 1);
    assert_eq!(plan.info.flags, ["-sname", "a"]);
    // -args_file at the end of a file
    fs::write(&p, "-args_file").unwrap();
    let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
    assert!(e.to_string().contains("without a file name"));
}

#[test]
fn all_missing_variables_across_the_chain() {
    let d = scratch("allmissing");
    let p = d.join("vm.args");
    fs::write(
        &p,
        "-sname ${NAME}\n-args_file x.args\n-env ${E1} ${E2:-ok}\n",
    )
    .unwrap();
    fs::write(d.join("x.args"), "\n-setcookie ${COOKIE}\n").unwrap();
    let e = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap_err();
    assert_eq!(e.code(), 4);
    let e = e.to_string();
    assert!(e.contains(&format!("{}:1: NAME", p.display())), "{e}");
    assert!(e.contains(&format!("{}:3: E1", p.display())), "{e}");
    assert!(e.contains("x.args:2: COOKIE"), "{e}");
    assert!(!e.contains("E2"), "{e}");
    assert!(e.contains("export NAME=") && e.contains("BEAMRC_SUBST_UNSET=empty"));
    // relx behaviour on request
    let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Empty).unwrap();
    assert_eq!(plan.info.flags, ["-sname", "-setcookie", "-env", "ok"]);
}

#[test]
fn extra_stops_processing_in_its_file() {
    let d = scratch("extra");
    let p = d.join("vm.args");
    fs::write(&p, "-args_file x.args\n-sname n\n").unwrap();
    fs::write(d.join("x.args"), "-a 1 -extra -args_file nope -sname z\n").unwrap();
    let plan = plan_vm_args(&p, &d.join("r"), true, &no_env, UnsetPolicy::Error).unwrap();
    assert_eq!(
        plan.info.flags,
        [
            "-a",
            "1",
            "-sname",
            "n",
            "-extra",
            "-args_file",
            "nope",
            "-sname",
            "z"
        ]
    );
    assert_eq!(plan.info.name, Some((NameKind::Short, "n".into())));
}
