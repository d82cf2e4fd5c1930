//! `beamrc …` as a tool (clap). Adding a subcommand is a variant of `ToolCommand` (its doc
//! comment is the help line) and one arm in `main`.
use crate::{Error, Result};
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "beamrc",
    version,
    about = "A native run-control program for Erlang/Elixir releases",
    after_help = "Installed as bin/NAME, beamrc takes the release's commands:
    start, start_iex, daemon, daemon_iex, eval, rpc, remote, restart, stop, pid,
    version, and beamrc's own ping, status, ready, wait, attach and check.

beamrc is configured through BEAMRC_* environment variables; see the README."
)]
struct Tool {
    #[command(subcommand)]
    command: Option<ToolCommand>,
}

#[derive(Subcommand)]
enum ToolCommand {
    /// Install beamrc into a built release as bin/NAME (the original script is kept as bin/NAME.sh)
    Install {
        /// The release directory (the one holding bin/ and releases/)
        release_dir: PathBuf,
    },
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
    /// Pack beamrc and a release (with its ERTS) into one executable
    Pack {
        /// The release directory (the one holding bin/, releases/ and erts-VSN/)
        release_dir: PathBuf,
        /// The file to write (a directory: DIR/NAME); default ./NAME
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print what a packed file holds and where it is cached
    PackInfo { file: PathBuf },
    /// Remove the extracted packs (cache entries) no running instance uses
    PackClean {
        /// Only say what would be removed
        #[arg(long)]
        dry_run: bool,
    },
    /// Run ping, status, pid, ready or rpc on several nodes of a release at once, one line
    /// per node (NODE, ok|failed, time, result); exit 0 when all succeeded
    #[command(group(clap::ArgGroup::new("which").required(true).args(["nodes", "connected"])))]
    Fleet {
        /// The release directory (beamrc installed as its bin/NAME)
        #[arg(long, value_name = "DIR")]
        release: PathBuf,
        /// Comma-separated node names (NAME gets the release node's @host)
        #[arg(long, value_name = "NODE,...")]
        nodes: Option<String>,
        /// The release's node and every node it is connected to (nodes())
        #[arg(long)]
        connected: bool,
        /// At most this many nodes at a time (BEAMRC_FLEET_JOBS, default 16)
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// ping, status, pid, ready [--app A] [--process P], rpc EXPR
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<OsString>,
    },
    /// Check, without starting a VM, whether a release can start on this host
    Check {
        /// The release directory (the one holding bin/ and releases/)
        release_dir: PathBuf,
        /// Print the findings as JSON (also BEAMRC_CHECK_FORMAT=json)
        #[arg(long)]
        json: bool,
        /// Explain a crash dump's slogan instead (default: $ERL_CRASH_DUMP or ./erl_crash.dump)
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
        crash_dump: Option<PathBuf>,
    },
}

pub(crate) fn main(args: &[OsString]) -> Result<i32> {
    let argv = std::iter::once(OsString::from("beamrc")).chain(args.iter().cloned());
    let tool = match Tool::try_parse_from(argv) {
        Ok(tool) => tool,
        Err(e) => return clap_outcome(e),
    };
    match tool.command {
        None => {
            print!("{}", Tool::command().render_help());
            Ok(0)
        }
        Some(ToolCommand::Install { release_dir }) => {
            let report = crate::release::install::install(&release_dir)?;
            println!("{report}");
            Ok(0)
        }
        Some(ToolCommand::Pack {
            release_dir,
            output,
        }) => {
            println!("{}", crate::pack::pack(&release_dir, output.as_deref())?);
            Ok(0)
        }
        Some(ToolCommand::PackInfo { file }) => {
            print!("{}", crate::pack::info(&file)?);
            Ok(0)
        }
        Some(ToolCommand::PackClean { dry_run }) => {
            println!("{}", crate::pack::clean(dry_run)?);
            Ok(0)
        }
        Some(ToolCommand::Fleet {
            release,
            nodes,
            connected,
            jobs,
            command,
        }) => Err(fleet(&release, nodes, connected, jobs, command)),
        Some(ToolCommand::Check {
            release_dir,
            json,
            crash_dump,
        }) => {
            let mut rest: Vec<OsString> = Vec::new();
            if json {
                rest.push("--json".into());
            }
            if let Some(file) = crash_dump {
                rest.push("--crash-dump".into());
                if !file.as_os_str().is_empty() {
                    rest.push(file.into());
                }
            }
            let mut args = vec![release_dir.into_os_string()];
            args.extend(rest);
            {
                use crate::app::gather::Host;
                let host = crate::app::gather::OsHost::default();
                crate::relx::check::tool_face(&host, &args)
                    .unwrap_or_else(|| crate::check::command::tool_face(&args, host.hostname()))
            }
        }
        Some(ToolCommand::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Tool::command(),
                "beamrc",
                &mut std::io::stdout(),
            );
            Ok(0)
        }
    }
}

/// `beamrc fleet …` is the release's own command with fleet mode switched on: exec
/// `DIR/bin/NAME COMMAND…` with `BEAMRC_FLEET_NODES` (and `BEAMRC_FLEET_JOBS`) set, so both
/// faces share one implementation and the release's environment (env files, env.sh, cookie).
fn fleet(
    release: &std::path::Path,
    nodes: Option<String>,
    connected: bool,
    jobs: Option<usize>,
    command: Vec<OsString>,
) -> Error {
    let root = match std::fs::canonicalize(release) {
        Ok(r) => r,
        Err(e) => return Error::Release(format!("{}: {e}", release.display())),
    };
    let release_name = crate::release::Release::open(root.clone(), "")
        .start_erl_data()
        .ok()
        .and_then(|d| crate::release::layout::release_name(&root.join("releases").join(d.rel_vsn)));
    let Some(name) = release_name else {
        return Error::Release(format!("{} is not a release", root.display()));
    };
    let bin = root.join("bin").join(&name);
    if !root.join("bin").join(format!("{name}.sh")).is_file() {
        return Error::Release(format!(
            "{} is not beamrc (no {name}.sh kept beside it): run `beamrc install {}` first",
            bin.display(),
            root.display()
        ));
    }
    let mut env = crate::environment::EnvMap::from_os();
    env.set(
        "BEAMRC_FLEET_NODES",
        if connected {
            "connected".to_string()
        } else {
            nodes.unwrap_or_default()
        }
        .as_str(),
    );
    if let Some(j) = jobs {
        env.set("BEAMRC_FLEET_JOBS", j.to_string().as_str());
    }
    let spec = crate::plan::ExecSpec {
        program: bin.clone(),
        argv: std::iter::once(bin.into_os_string())
            .chain(command)
            .collect(),
        env,
    };
    crate::process::exec::exec(&spec)
}

/// clap's help and version go to stdout (exit 0); its usage errors become beamrc's usage
/// error: one `ERROR:` line with clap's hint, exit 1.
fn clap_outcome(e: clap::Error) -> Result<i32> {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            print!("{e}");
            Ok(0)
        }
        _ => {
            let text = e.render().to_string();
            let text = text.trim_end();
            let text = text.strip_prefix("error: ").unwrap_or(text);
            Err(Error::message(1, format!("ERROR: {text}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_1_with_one_error_line() {
        let e = main(&["frobnicate".into()]).unwrap_err();
        assert_eq!(e.code(), 1);
        assert!(
            e.line().starts_with("ERROR: unrecognized subcommand"),
            "{}",
            e.line()
        );
        let e = main(&["install".into()]).unwrap_err();
        assert_eq!(e.code(), 1);
        assert!(e.line().contains("RELEASE_DIR"), "{}", e.line());
    }

    #[test]
    fn the_interface_is_consistent() {
        Tool::command().debug_assert();
    }
}
