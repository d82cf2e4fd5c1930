//! The environment: the variables beamrc reads and the ones it hands to the VM.
pub(crate) mod cookie;
pub(crate) mod dotenv;
pub mod env_sh;
pub(crate) mod vars;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// An environment as a sorted map, so plans print and compare deterministically.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvMap(BTreeMap<OsString, OsString>);

/// Like the map's own `Debug`, but `RELEASE_COOKIE`'s value is never shown (plans and
/// failing assertions print environments).
impl std::fmt::Debug for EnvMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.0 {
            if k == "RELEASE_COOKIE" {
                map.entry(k, &"<hidden>");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

impl EnvMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_os() -> Self {
        Self(std::env::vars_os().collect())
    }

    pub fn get(&self, key: &str) -> Option<&OsStr> {
        self.0.get(OsStr::new(key)).map(OsString::as_os_str)
    }

    /// The value as UTF-8 text, if set and valid.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(OsStr::to_str)
    }

    /// The shell's `${KEY:-…}` view: an empty value counts as unset.
    pub fn non_empty(&self, key: &str) -> Option<&OsStr> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn non_empty_str(&self, key: &str) -> Option<&str> {
        self.non_empty(key).and_then(OsStr::to_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(OsStr::new(key))
    }

    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) {
        self.0.insert(key.into(), value.into());
    }

    pub fn remove(&mut self, key: &str) -> Option<OsString> {
        self.0.remove(OsStr::new(key))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.0.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<OsString>, V: Into<OsString>> FromIterator<(K, V)> for EnvMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Extend<(OsString, OsString)> for EnvMap {
    fn extend<I: IntoIterator<Item = (OsString, OsString)>>(&mut self, iter: I) {
        self.0.extend(iter)
    }
}
