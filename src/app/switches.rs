//! beamrc's own switches: `BEAMRC_*` environment variables, parsed with errors that name them.
use crate::environment::EnvMap;
use crate::{Error, Result};
use std::time::Duration;

/// A duration in seconds (`1.5` allowed). Unset or empty → `default`; `0` → `None`
/// when `zero_means_none`.
pub fn seconds(env: &EnvMap, key: &str, default: Option<Duration>) -> Result<Option<Duration>> {
    let Some(text) = env.non_empty_str(key) else {
        return Ok(default);
    };
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(Error::Config(format!(
            "{key}={text:?} is not a number of seconds"
        ))),
    }
}

/// `ERL_EPMD_PORT` (default 4369).
pub fn epmd_port(env: &EnvMap) -> Result<u16> {
    match env.non_empty_str("ERL_EPMD_PORT") {
        None => Ok(4369),
        Some(p) => p
            .trim()
            .parse()
            .map_err(|_| Error::Config(format!("ERL_EPMD_PORT={p:?} is not a port number"))),
    }
}

/// A switch that is on unless set to `0`.
pub fn enabled(env: &EnvMap, key: &str) -> bool {
    env.non_empty_str(key) != Some("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_values() {
        let env: EnvMap = [
            ("A", "1.5"),
            ("B", "x"),
            ("C", "0"),
            ("ERL_EPMD_PORT", "70000"),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            seconds(&env, "A", None).unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert!(
            seconds(&env, "B", None)
                .unwrap_err()
                .to_string()
                .contains("B=\"x\"")
        );
        assert_eq!(seconds(&env, "C", None).unwrap(), Some(Duration::ZERO));
        assert_eq!(
            seconds(&env, "D", Some(Duration::from_secs(7))).unwrap(),
            Some(Duration::from_secs(7))
        );
        assert!(epmd_port(&env).is_err());
        assert!(!enabled(&env, "C"));
        assert!(enabled(&env, "A"));
    }
}
