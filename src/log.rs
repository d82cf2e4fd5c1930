//! Traces on stderr through `tracing`, switched on by `BEAMRC_LOG` or, as before, a
//! `RUST_LOG` that names beamrc. The filter is env-filter's directive syntax for targets and
//! levels (`debug`, `beamrc=trace`, `beamrc::dist=debug,info`), parsed as a `Targets`
//! filter: span and field directives are not supported, because `EnvFilter` brings a regex
//! engine that costs 330 KB of the 2 MiB binary. Nothing is initialised unless a filter is
//! set, so a normal launch pays nothing.
//!
//! Every layer traces with `tracing::debug!` / `tracing::debug_span!`; spans (locate,
//! env_files, env_sh, render, plan, wait, connect, …) print their duration when they close.
//! `BEAMRC_LOG` in the process environment traces from the start; set in `release.env`,
//! `RELEASE_ENV_FILE` or `env.sh` it takes effect once those are read (`init_late`).
use std::sync::OnceLock;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Parses a filter, for validating `BEAMRC_LOG` up front. The boolean words of beamrc's
/// switches work too: `1|true|yes|on` is `debug`, `0|false|no|off` is off.
pub fn parse_filter(text: &str) -> Result<Targets, String> {
    let text = match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => "debug".to_string(),
        "0" | "false" | "no" | "off" => "off".to_string(),
        _ => text.to_string(),
    };
    text.parse::<Targets>().map_err(|e| e.to_string())
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
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            // No clock (no time-zone file read); spans still print their durations.
            .with_timer(())
            .with_target(false)
            .with_span_events(FmtSpan::CLOSE);
        let _ = tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .try_init();
    });
}

/// `debug!(…)` as written against the first layout commit: an alias of `tracing::debug!`
/// (new code calls `tracing::debug!` directly).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { ::tracing::debug!($($arg)*) };
}
