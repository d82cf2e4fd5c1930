//! Debug traces on stderr, switched on by `RUST_LOG=beamrc=debug` (or `debug`) or
//! `BEAMRC_LOG=debug`. A few lines of our own instead of a tracing stack: the launcher
//! traces a handful of decisions and must start in well under a millisecond.
use std::sync::OnceLock;

pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let wants = |v: &str| {
            v.split(',').any(|d| {
                let d = d.trim();
                matches!(d, "debug" | "trace" | "beamrc=debug" | "beamrc=trace")
            })
        };
        std::env::var("BEAMRC_LOG").is_ok_and(|v| wants(&v))
            || std::env::var("RUST_LOG").is_ok_and(|v| wants(&v))
    })
}

#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled() {
            eprintln!("beamrc: {}", format_args!($($arg)*));
        }
    };
}
