//! Traces on stderr through `tracing`, switched on by `BEAMRC_LOG` (env-filter syntax:
//! `debug`, `beamrc=trace`, `beamrc::dist=debug,info`) or, as before, a `RUST_LOG` that names
//! beamrc. Nothing is initialised unless one is set, so a normal launch pays nothing.
//!
//! Every layer traces with `tracing::debug!` / `tracing::debug_span!`; spans (locate,
//! env_files, env_sh, render, plan, wait, connect, …) print their duration when they close.
//! `BEAMRC_LOG` in the process environment traces from the start; set in `release.env`,
//! `RELEASE_ENV_FILE` or `env.sh` it takes effect once those are read (`init_late`).
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Parses a filter, for validating `BEAMRC_LOG` up front.
pub fn parse_filter(text: &str) -> Result<EnvFilter, String> {
    EnvFilter::try_new(text).map_err(|e| e.to_string())
}

/// At start-up: `BEAMRC_LOG`, else a `RUST_LOG` that mentions beamrc, from the process
/// environment.
pub fn init_early() {
    let from = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
    let filter = from("BEAMRC_LOG").or_else(|| from("RUST_LOG").filter(|v| v.contains("beamrc")));
    if let Some(f) = filter {
        install(&f);
    }
}

/// After the env files and env.sh: `BEAMRC_LOG` set there, when tracing is not on yet.
pub fn init_late(filter: Option<&str>) {
    if let Some(f) = filter
        && INSTALLED.get().is_none()
    {
        install(f);
    }
}

fn install(filter: &str) {
    let Ok(filter) = parse_filter(filter) else {
        // Reported as a configuration error once the switches are read.
        return;
    };
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .without_time()
            .with_target(false)
            .with_span_events(FmtSpan::CLOSE)
            .try_init();
    });
}
