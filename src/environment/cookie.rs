//! Resolving the distribution cookie.
//!
//! Order: `RELEASE_COOKIE` (non-empty) → `releases/COOKIE` → `-setcookie` in the rendered
//! vm.args → `$HOME/.erlang.cookie`. File contents lose their trailing newlines, like
//! `$(cat file)`, and nothing else. A file that is missing, or empty after that, is
//! skipped; a file that exists but cannot be read is an error (exit 5) rather than a
//! silent fall-through to a different cookie. An unset or empty `HOME` skips the last
//! source. The cookie value never appears in errors or `Debug` output.
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::EnvMap;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieSource {
    /// `RELEASE_COOKIE`
    Env,
    /// `RELEASE_ROOT/releases/COOKIE`
    ReleaseFile(PathBuf),
    /// `-setcookie` in this vm.args (the rendered entry)
    VmArgs(PathBuf),
    /// `$HOME/.erlang.cookie`
    HomeFile(PathBuf),
}

impl fmt::Display for CookieSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieSource::Env => f.write_str("RELEASE_COOKIE"),
            CookieSource::ReleaseFile(p) | CookieSource::HomeFile(p) => {
                write!(f, "{}", p.display())
            }
            CookieSource::VmArgs(p) => write!(f, "-setcookie in {}", p.display()),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    pub value: String,
    pub source: CookieSource,
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cookie")
            .field("value", &"<hidden>")
            .field("source", &self.source)
            .finish()
    }
}

/// Order: RELEASE_COOKIE (non-empty) -> releases/COOKIE -> -setcookie in the rendered
/// vm.args -> $HOME/.erlang.cookie.
///
/// `vm_args_cookie` is `(VmArgsPlan::entry, VmArgsInfo::cookie)`: the path is only
/// recorded in the `VmArgs` source, for messages.
pub fn resolve_cookie(
    env: &EnvMap,
    release_root: &Path,
    vm_args_cookie: Option<(&Path, &str)>,
) -> Result<Cookie, Error> {
    if let Some(v) = env.non_empty("RELEASE_COOKIE") {
        let value = v
            .to_str()
            .ok_or_else(|| Error::Config("RELEASE_COOKIE is not valid UTF-8".to_string()))?;
        return Ok(Cookie {
            value: value.to_string(),
            source: CookieSource::Env,
        });
    }
    let release_file = release_root.join("releases").join("COOKIE");
    if let Some(value) = read_cookie_file(&release_file)? {
        return Ok(Cookie {
            value,
            source: CookieSource::ReleaseFile(release_file),
        });
    }
    if let Some((vm_args, c)) = vm_args_cookie.filter(|(_, c)| !c.is_empty()) {
        return Ok(Cookie {
            value: c.to_string(),
            source: CookieSource::VmArgs(vm_args.to_path_buf()),
        });
    }
    let home_file = env
        .non_empty("HOME")
        .map(|h| Path::new(h).join(".erlang.cookie"));
    if let Some(home_file) = &home_file
        && let Some(value) = read_cookie_file(home_file)?
    {
        return Ok(Cookie {
            value,
            source: CookieSource::HomeFile(home_file.clone()),
        });
    }
    let home = match &home_file {
        Some(p) => p.display().to_string(),
        None => "$HOME/.erlang.cookie (HOME is not set)".to_string(),
    };
    Err(Error::Config(format!(
        "no distribution cookie found; looked in, in order:\n  \
         1. the RELEASE_COOKIE variable (unset or empty)\n  \
         2. {} (missing or empty)\n  \
         3. -setcookie in vm.args (absent)\n  \
         4. {home} (missing or empty)\n\
         Set RELEASE_COOKIE or write the cookie to {} (mode 0400).",
        release_file.display(),
        release_file.display()
    )))
}

/// The file's contents without trailing newlines; `None` if missing or empty.
fn read_cookie_file(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::Config(format!("cookie file {} is not valid UTF-8", path.display()))
            })?;
            let value = text.trim_end_matches('\n');
            Ok((!value.is_empty()).then(|| value.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(
            format!("cannot read cookie file {}", path.display()),
            e,
        )),
    }
}

/// Some(warning text) if the cookie file is readable by group or others
/// (mode & 0o077 != 0).
pub fn permission_warning(cookie: &Cookie) -> Option<String> {
    let path = match &cookie.source {
        CookieSource::ReleaseFile(p) | CookieSource::HomeFile(p) => p,
        CookieSource::Env | CookieSource::VmArgs(_) => return None,
    };
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "cookie file {} is accessible by group or others (mode {mode:03o}); \
             run: chmod 400 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A scratch dir with `root/releases` and `home` in it.
    fn scratch(name: &str) -> PathBuf {
        let dir = crate::test_support::scratch(name);
        fs::create_dir_all(dir.join("root/releases")).unwrap();
        fs::create_dir_all(dir.join("home")).unwrap();
        dir
    }

    fn env_with_home(d: &Path) -> EnvMap {
        let mut env = EnvMap::new();
        env.set("HOME", d.join("home"));
        env
    }

    #[test]
    fn order_of_sources() {
        let d = scratch("order");
        let root = d.join("root");
        let release_file = root.join("releases/COOKIE");
        let home_file = d.join("home/.erlang.cookie");
        let mut env = env_with_home(&d);

        // nothing anywhere
        let e = resolve_cookie(&env, &root, None).unwrap_err();
        assert_eq!(e.code(), 4);
        let text = e.to_string();
        let positions: Vec<usize> = [
            "RELEASE_COOKIE",
            &release_file.display().to_string(),
            "-setcookie",
            &home_file.display().to_string(),
        ]
        .iter()
        .map(|s| text.find(s).unwrap_or_else(|| panic!("{s} in {text}")))
        .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");

        fs::write(&home_file, "home\n").unwrap();
        let c = resolve_cookie(&env, &root, None).unwrap();
        assert_eq!(
            (c.value.as_str(), &c.source),
            ("home", &CookieSource::HomeFile(home_file.clone()))
        );

        let c = resolve_cookie(&env, &root, Some((Path::new("/r/vm.args"), "vm"))).unwrap();
        assert_eq!(c.value, "vm");
        assert_eq!(c.source, CookieSource::VmArgs("/r/vm.args".into()));
        assert_eq!(c.source.to_string(), "-setcookie in /r/vm.args");
        // an empty -setcookie value is skipped
        let c = resolve_cookie(&env, &root, Some((Path::new("/r/vm.args"), ""))).unwrap();
        assert_eq!(c.value, "home");

        fs::write(&release_file, "release\n\n").unwrap();
        let c = resolve_cookie(&env, &root, Some((Path::new("/r/vm.args"), "vm"))).unwrap();
        assert_eq!(
            (c.value.as_str(), &c.source),
            ("release", &CookieSource::ReleaseFile(release_file.clone()))
        );

        env.set("RELEASE_COOKIE", "");
        assert_eq!(
            resolve_cookie(&env, &root, Some((Path::new("/r/vm.args"), "vm")))
                .unwrap()
                .value,
            "release"
        );
        env.set("RELEASE_COOKIE", "from env");
        let c = resolve_cookie(&env, &root, Some((Path::new("/r/vm.args"), "vm"))).unwrap();
        assert_eq!(
            (c.value.as_str(), &c.source),
            ("from env", &CookieSource::Env)
        );
    }

    #[test]
    fn trailing_newlines_only() {
        let d = scratch("trim");
        let root = d.join("root");
        fs::write(root.join("releases/COOKIE"), " a b \r\n\n").unwrap();
        let c = resolve_cookie(&EnvMap::new(), &root, None).unwrap();
        assert_eq!(c.value, " a b \r");
        // empty file: skipped
        fs::write(root.join("releases/COOKIE"), "\n").unwrap();
        let c =
            resolve_cookie(&EnvMap::new(), &root, Some((Path::new("/r/vm.args"), "vm"))).unwrap();
        assert_eq!(c.value, "vm");
    }

    #[test]
    fn no_home() {
        let d = scratch("nohome");
        let e = resolve_cookie(&EnvMap::new(), &d.join("root"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("HOME is not set"), "{e}");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let d = scratch("unreadable");
        let root = d.join("root");
        // a directory where the file should be cannot be read
        fs::create_dir(root.join("releases/COOKIE")).unwrap();
        let e = resolve_cookie(
            &env_with_home(&d),
            &root,
            Some((Path::new("/r/vm.args"), "vm")),
        )
        .unwrap_err();
        assert_eq!(e.code(), 5);
        assert!(e.to_string().contains("releases/COOKIE"), "{e}");
    }

    #[test]
    fn value_is_never_shown() {
        let d = scratch("secret");
        let root = d.join("root");
        fs::write(root.join("releases/COOKIE"), "s3cr3t-value").unwrap();
        let c = resolve_cookie(&EnvMap::new(), &root, None).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("<hidden>"));
        fs::write(root.join("releases/COOKIE"), b"s3cr3t\xff").unwrap();
        let e = resolve_cookie(&EnvMap::new(), &root, None).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"));
        assert!(!format!("{e:?}").contains("s3cr3t"));
    }

    #[test]
    fn permission_warnings() {
        let d = scratch("perm");
        let root = d.join("root");
        let f = root.join("releases/COOKIE");
        fs::write(&f, "zqxv").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o400)).unwrap();
        let c = resolve_cookie(&EnvMap::new(), &root, None).unwrap();
        assert_eq!(permission_warning(&c), None);
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        let w = permission_warning(&c).unwrap();
        assert!(w.contains("644") && w.contains("chmod 400"), "{w}");
        assert!(!w.contains("zqxv"));
        let env_cookie = Cookie {
            value: "x".into(),
            source: CookieSource::Env,
        };
        assert_eq!(permission_warning(&env_cookie), None);
    }
}
