//! The helper programs relx's script runs (reference §1.9): `to_erl` for attach, the remsh
//! VM, `escript` for `escript` and the upgrade family, and the host-name probe.
use std::ffi::OsString;

use super::argv::Ctx;
use super::node::{NameType, NodeFacts};
use super::vars::RelxVars;
use crate::plan::ExecSpec;

/// `daemon_attach`: `to_erl PIPE_DIR`.
pub fn attach(ctx: &Ctx) -> ExecSpec {
    let to_erl = ctx.vars.bindir().join("to_erl");
    ExecSpec {
        argv: vec![
            to_erl.clone().into_os_string(),
            ctx.vars.pipe_dir(ctx.node).0.into_os_string(),
        ],
        program: to_erl,
        env: ctx.env(),
    }
}

/// `-boot REL_DIR/start_clean -mode interactive -boot_var SYSTEM_LIB_DIR DIR`: the clean
/// boot relx's helper VMs (remsh, host probe) use.
fn clean_boot(vars: &RelxVars) -> Vec<OsString> {
    vec![
        "-boot".into(),
        vars.rel_dir.join("start_clean").into_os_string(),
        "-mode".into(),
        "interactive".into(),
        "-boot_var".into(),
        "SYSTEM_LIB_DIR".into(),
        vars.system_lib_dir().into_os_string(),
    ]
}

/// `remote_console`: a hidden VM with `-remsh NAME`. `ticktime` is the node's
/// `net_kernel:get_net_ticktime()`; `id` the helper-name id (random or
/// `NODETOOL_NODE_PREFIX`). The cookie is passed as relx passes it (`-setcookie`).
pub fn remsh(ctx: &Ctx, cookie: &str, ticktime: &str, id: &str) -> ExecSpec {
    let vars = ctx.vars;
    let host = ctx.node.split_once('@').map_or("", |(_, h)| h);
    let flag = ctx.facts.name_type.flag();
    let undefined = match ctx.facts.name_type {
        NameType::Short => vars.erts_at_least(11, 0),
        NameType::Long => vars.erts_at_least(11, 1),
    };
    let own = if undefined {
        format!("undefined@{host}")
    } else {
        format!("remsh{id}-{}", ctx.node)
    };
    let mut argv: Vec<OsString> = vec![
        ctx.erlexec().into_os_string(),
        flag.into(),
        own.into(),
        "-remsh".into(),
        ctx.node.into(),
    ];
    argv.extend(clean_boot(vars));
    for a in [
        "-setcookie",
        cookie,
        "-hidden",
        "-kernel",
        "net_ticktime",
        ticktime,
        "-dist_listen",
        "false",
    ] {
        argv.push(a.into());
    }
    argv.extend(ctx.facts.dist_args.iter().map(OsString::from));
    argv.extend(ctx.extra_dist_args().0.into_iter().map(OsString::from));
    ExecSpec {
        program: ctx.erlexec(),
        argv,
        env: ctx.env(),
    }
}

/// `escript PATH ARGS`: `ERTS_DIR/bin/escript ROOT/PATH ARGS` with `RELEASE_ROOT_DIR`.
pub fn escript(ctx: &Ctx, args: &[OsString]) -> ExecSpec {
    let program = ctx.vars.bindir().join("escript");
    let mut script = ctx.vars.root.clone().into_os_string();
    script.push("/");
    script.push(args.first().cloned().unwrap_or_default());
    let mut argv = vec![program.clone().into_os_string(), script];
    argv.extend(args.iter().skip(1).cloned());
    let mut env = ctx.env();
    env.set("RELEASE_ROOT_DIR", ctx.vars.root.as_os_str());
    ExecSpec { program, argv, env }
}

/// `versions` and the upgrade family: `install_upgrade.escript CMD "{'REL', "-sname",
/// 'NODE', 'COOKIE'}" ARGS` — the escript's interface takes the cookie as an argument.
pub fn install_upgrade(ctx: &Ctx, cmd: &str, cookie: &str, args: &[OsString]) -> ExecSpec {
    let vars = ctx.vars;
    let program = vars.bindir().join("escript");
    let tuple = format!(
        "{{'{}', \"{}\", '{}', '{}'}}",
        vars.rel_name,
        ctx.facts.name_type.flag(),
        ctx.node,
        cookie
    );
    let mut argv = vec![
        program.clone().into_os_string(),
        vars.root
            .join("bin/install_upgrade.escript")
            .into_os_string(),
        cmd.into(),
        tuple.into(),
    ];
    argv.extend(args.iter().cloned());
    ExecSpec {
        program,
        argv,
        env: ctx.env(),
    }
}

/// relx's `relx_get_nodename` VM, for a `-name` without host on a machine without a
/// domain in its host name (the only case beamrc cannot compute). A throw-away cookie is
/// passed instead of the release's (the probe connects to nothing).
pub fn hostname_probe(
    vars: &RelxVars,
    facts: &NodeFacts,
    id: &str,
    dummy_cookie: &str,
) -> ExecSpec {
    let erlexec = vars.bindir().join("erlexec");
    let mut argv: Vec<OsString> = vec![erlexec.clone().into_os_string()];
    argv.extend(clean_boot(vars));
    for a in [
        "-eval",
        "[_,H]=re:split(atom_to_list(node()),\"@\",[unicode,{return,list}]), io:format(\"~s~n\",[H]), halt()",
        "-setcookie",
        dummy_cookie,
        "-dist_listen",
        "false",
    ] {
        argv.push(a.into());
    }
    if let Some(line) = &facts.start_epmd {
        argv.extend(line.split_whitespace().map(OsString::from));
    }
    argv.extend([
        "-noshell".into(),
        facts.name_type.flag().into(),
        format!("longname{id}-{}", facts.name).into(),
    ]);
    ExecSpec {
        program: erlexec,
        argv,
        env: vars.env.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::EnvMap;
    use crate::relx::script::{RelxScript, tests_support::EXTENDED};
    use crate::relx::vars::{Erts, compute};
    use std::ffi::OsStr;
    use std::path::{Path, PathBuf};

    #[test]
    fn remsh_and_escript_argv() {
        let script = RelxScript::parse(EXTENDED).unwrap();
        let erts = Erts {
            dir: PathBuf::from("/r/erts-13.1.5"),
            vsn: "13.1.5".into(),
            warning: None,
        };
        let vars = compute(
            &EnvMap::new(),
            &script,
            Path::new("/r"),
            Path::new("/r/bin/hooked"),
            erts,
        )
        .unwrap();
        let facts = NodeFacts {
            name_type: NameType::Short,
            name: "hooked".into(),
            dist_args: vec!["-start_epmd".into(), "false".into()],
            start_epmd: Some("-start_epmd false".into()),
            use_interface: None,
            cookie: None,
        };
        let ctx = Ctx {
            vars: &vars,
            facts: &facts,
            node: "hooked@box",
            vm_args: Path::new("/v"),
            sys_config: Path::new("/s"),
            argv0: OsStr::new("bin/hooked"),
        };
        let strs = |v: Vec<OsString>| -> Vec<String> {
            v.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            strs(remsh(&ctx, "ck", "60", "ab12").argv),
            [
                "/r/erts-13.1.5/bin/erlexec",
                "-sname",
                "undefined@box",
                "-remsh",
                "hooked@box",
                "-boot",
                "/r/releases/0.1.0/start_clean",
                "-mode",
                "interactive",
                "-boot_var",
                "SYSTEM_LIB_DIR",
                "/r/lib",
                "-setcookie",
                "ck",
                "-hidden",
                "-kernel",
                "net_ticktime",
                "60",
                "-dist_listen",
                "false",
                "-start_epmd",
                "false"
            ]
        );
        let e = escript(&ctx, &["x.erl".into(), "a".into()]);
        assert_eq!(
            strs(e.argv),
            ["/r/erts-13.1.5/bin/escript", "/r/x.erl", "a"]
        );
        assert_eq!(e.env.get_str("RELEASE_ROOT_DIR"), Some("/r"));
        let u = install_upgrade(&ctx, "versions", "ck", &[]);
        assert_eq!(
            strs(u.argv)[3],
            "{'hooked', \"-sname\", 'hooked@box', 'ck'}"
        );
        let probe = hostname_probe(&vars, &facts, "ab12", "dummy");
        let argv = strs(probe.argv);
        assert_eq!(
            &argv[argv.len() - 3..],
            ["-noshell", "-sname", "longnameab12-hooked"]
        );
        let cookie_at = argv.iter().position(|a| a == "-setcookie").unwrap();
        assert_eq!(argv[cookie_at + 1], "dummy", "never the release's cookie");
    }
}
