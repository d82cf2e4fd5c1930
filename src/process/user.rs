//! `BEAMRC_USER=user[:group]`: the credentials `start` drops to before exec, resolved from
//! the user and group databases before anything happens (names or numeric ids), applied with
//! raw calls between fork (or the last moment before exec) and `execve`.
use crate::plan::switches::UserSpec;
use crate::{Error, Result};
use nix::unistd::{Gid, Group, Uid, User};
use std::ffi::CString;

/// Who the VM runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the user's groups from the group database (with `gid`).
    pub groups: Vec<libc::gid_t>,
}

/// Resolves `BEAMRC_USER`. Not root: an error unless it names who we already are.
pub fn resolve(spec: &UserSpec) -> Result<Credentials> {
    let shown = match &spec.group {
        Some(g) => format!("{}:{g}", spec.user),
        None => spec.user.clone(),
    };
    let bad = |why: String| Error::Config(format!("BEAMRC_USER={shown:?}: {why}"));
    let user = match spec.user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)).ok().flatten(),
        Err(_) => Some(
            User::from_name(&spec.user)
                .map_err(|e| bad(format!("cannot read the user database: {e}")))?
                .ok_or_else(|| bad(format!("no user {} in the user database", spec.user)))?,
        ),
    };
    let uid = match (&user, spec.user.parse::<u32>()) {
        (Some(u), _) => u.uid.as_raw(),
        (None, Ok(uid)) => uid,
        (None, Err(_)) => unreachable!("a name resolved above"),
    };
    let gid = match &spec.group {
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => Group::from_name(g)
                .map_err(|e| bad(format!("cannot read the group database: {e}")))?
                .ok_or_else(|| bad(format!("no group {g} in the group database")))?
                .gid
                .as_raw(),
        },
        None => match &user {
            Some(u) => u.gid.as_raw(),
            None => {
                return Err(bad(format!(
                    "uid {uid} has no entry in the user database: give the group too ({uid}:GID)"
                )));
            }
        },
    };
    let mut groups = vec![gid];
    if let Some(u) = &user
        && let Ok(name) = CString::new(u.name.as_bytes())
        && let Ok(list) = nix::unistd::getgrouplist(&name, Gid::from_raw(gid))
    {
        groups = list.iter().map(|g| g.as_raw()).collect();
    }
    let me = nix::unistd::geteuid().as_raw();
    let my_gid = nix::unistd::getegid().as_raw();
    if me != 0 && (uid != me || gid != my_gid) {
        return Err(bad(format!(
            "switching to uid {uid} gid {gid} needs root (beamrc runs as uid {me})"
        )));
    }
    Ok(Credentials { uid, gid, groups })
}

impl Credentials {
    /// setgroups, setgid, setuid, in that order; 0 or the errno. Async-signal-safe (no
    /// allocation): callable between fork and exec.
    ///
    /// # Safety
    /// Changes the credentials of the whole process.
    pub unsafe fn apply(&self) -> libc::c_int {
        unsafe {
            let errno = || *libc::__errno_location();
            if libc::geteuid() == 0 && libc::setgroups(self.groups.len(), self.groups.as_ptr()) != 0
            {
                return errno();
            }
            if libc::setgid(self.gid) != 0 {
                return errno();
            }
            if libc::setuid(self.uid) != 0 {
                return errno();
            }
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_names_and_ids() {
        let me = nix::unistd::geteuid().as_raw();
        let my_gid = nix::unistd::getegid().as_raw();
        let spec = |u: &str, g: Option<&str>| UserSpec {
            user: u.into(),
            group: g.map(str::to_string),
        };
        // Ourselves is always allowed.
        let c = resolve(&spec(&me.to_string(), Some(&my_gid.to_string()))).unwrap();
        assert_eq!((c.uid, c.gid), (me, my_gid));
        let e = resolve(&spec("no-such-user-beamrc", None)).unwrap_err();
        assert_eq!(e.code(), 4);
        assert!(
            e.line().contains("no user no-such-user-beamrc"),
            "{}",
            e.line()
        );
        let e = resolve(&spec("root", Some("no-such-group-beamrc"))).unwrap_err();
        assert!(e.line().contains("no group"), "{}", e.line());
        if me != 0 {
            let e = resolve(&spec("root", None)).unwrap_err();
            assert!(e.line().contains("needs root"), "{}", e.line());
        } else {
            let c = resolve(&spec("nobody", None)).unwrap();
            assert_ne!(c.uid, 0);
        }
        let e = resolve(&spec("4000000", None)).unwrap_err();
        assert!(e.line().contains("give the group too"), "{}", e.line());
    }
}
