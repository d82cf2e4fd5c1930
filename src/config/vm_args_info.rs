//! What the VM will make of the flags of a (rendered) `vm.args` chain: the node name and
//! the cookie, decided as OTP decides them.
//!
//! * Node name, as `erl_distribution` decides: a `-sname`/`-name` counts only if its
//!   **first** occurrence has exactly one value; a valid `-sname` beats `-name`;
//!   duplicates produce a warning (OTP logs "Multiple -sname given to erl, using the
//!   first").
//! * Cookie, as `auth` decides: our cookie comes from `-setcookie C` only when there is
//!   exactly one `-setcookie` with zero or one value; with more (or an argless one) OTP
//!   ignores them all and reads `~/.erlang.cookie`, so `cookie` is `None` and a warning
//!   explains why. `-setcookie NODE C` (two values) sets another node's cookie and is not
//!   counted. `setcookie_count` lets the launcher avoid adding a second `-setcookie` on
//!   the command line (which would make OTP ignore both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// `-sname`
    Short,
    /// `-name`
    Long,
}

/// What the VM will make of the (rendered) `vm.args` chain. `Debug` masks the cookie,
/// in `cookie` and in `flags`.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct VmArgsInfo {
    /// The node name the VM will use, if any (see the module documentation).
    pub name: Option<(NameKind, String)>,
    /// Our cookie, if exactly one `-setcookie C` is given.
    pub cookie: Option<String>,
    /// Number of `-setcookie` occurrences with zero or one value.
    pub setcookie_count: usize,
    /// Every argument in the order erlexec assembles them: the chain expanded (the
    /// `-args_file F` pairs removed), then `-extra` and the extra arguments if any.
    pub flags: Vec<String>,
    /// Human-readable notes (duplicate names, ignored cookies, missing includes when not
    /// rendering).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for VmArgsInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MASK: &str = "<hidden>";
        // Every value of a `-setcookie` (one value: ours; two: another node's cookie).
        let mut in_setcookie = false;
        let flags: Vec<&str> = self
            .flags
            .iter()
            .map(|a| {
                if a.starts_with('-') || a.starts_with('+') {
                    in_setcookie = a == "-setcookie";
                    a.as_str()
                } else if in_setcookie {
                    MASK
                } else {
                    a.as_str()
                }
            })
            .collect();
        f.debug_struct("VmArgsInfo")
            .field("name", &self.name)
            .field("cookie", &self.cookie.as_ref().map(|_| MASK))
            .field("setcookie_count", &self.setcookie_count)
            .field("flags", &flags)
            .field("warnings", &self.warnings)
            .finish()
    }
}

pub(crate) fn analyse(args: &[String], mut warnings: Vec<String>) -> VmArgsInfo {
    // (flag, values) for every `-flag`
    let mut occurrences: Vec<(&str, Vec<&str>)> = Vec::new();
    for a in args {
        if a.starts_with('-') {
            occurrences.push((a.as_str(), Vec::new()));
        } else if a.starts_with('+') {
            occurrences.push(("+", Vec::new()));
        } else if let Some((_, vals)) = occurrences.last_mut() {
            vals.push(a.as_str());
        }
    }
    let dist_name = |flag: &str, warnings: &mut Vec<String>| -> Option<String> {
        let all: Vec<&Vec<&str>> = occurrences
            .iter()
            .filter(|(f, _)| *f == flag)
            .map(|(_, v)| v)
            .collect();
        let first = all.first()?;
        if all.len() > 1 {
            warnings.push(format!(
                "{flag} given {} times in vm.args; the VM uses the first",
                all.len()
            ));
        }
        match first.as_slice() {
            [name] => Some(name.to_string()),
            _ => {
                warnings.push(format!(
                    "{flag} in vm.args needs exactly one value; the VM ignores it"
                ));
                None
            }
        }
    };
    let long = dist_name("-name", &mut warnings);
    let short = dist_name("-sname", &mut warnings);
    let name = match (short, long) {
        (Some(s), Some(l)) => {
            warnings.push(format!(
                "both -sname {s} and -name {l} in vm.args; the VM uses -sname"
            ));
            Some((NameKind::Short, s))
        }
        (Some(s), None) => Some((NameKind::Short, s)),
        (None, Some(l)) => Some((NameKind::Long, l)),
        (None, None) => None,
    };
    let ours: Vec<&[&str]> = occurrences
        .iter()
        .filter(|(f, v)| *f == "-setcookie" && v.len() <= 1)
        .map(|(_, v)| v.as_slice())
        .collect();
    let cookie = match ours.as_slice() {
        [[c]] => Some(c.to_string()),
        [] => None,
        [_] => {
            warnings.push("-setcookie without a value in vm.args; the VM ignores it".into());
            None
        }
        many => {
            warnings.push(format!(
                "-setcookie given {} times in vm.args; the VM ignores all of them and reads ~/.erlang.cookie",
                many.len()
            ));
            None
        }
    };
    VmArgsInfo {
        name,
        cookie,
        setcookie_count: ours.len(),
        flags: Vec::new(),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::args_file::words;

    #[test]
    fn name_and_cookie_rules() {
        let info = |text: &str| {
            let args = words(text);
            analyse(&args, Vec::new())
        };
        let i = info("-name a@h -sname b");
        assert_eq!(i.name, Some((NameKind::Short, "b".into())));
        assert_eq!(i.warnings.len(), 1);
        let i = info("-sname first -sname second");
        assert_eq!(i.name, Some((NameKind::Short, "first".into())));
        let i = info("-sname -name l@h");
        assert_eq!(i.name, Some((NameKind::Long, "l@h".into())));
        let i = info("-sname a b");
        assert_eq!(i.name, None);
        let i = info("-setcookie c1 -setcookie c2");
        assert_eq!((i.cookie, i.setcookie_count), (None, 2));
        let i = info("-setcookie othernode@h c2 -setcookie mine +K true");
        assert_eq!((i.cookie.as_deref(), i.setcookie_count), (Some("mine"), 1));
        let i = info("-setcookie");
        assert_eq!((i.cookie, i.setcookie_count), (None, 1));
        let i = info("-hidden");
        assert_eq!((i.name, i.cookie, i.setcookie_count), (None, None, 0));
    }

    #[test]
    fn debug_masks_the_cookie() {
        let args = words("-sname n -setcookie s3cr3t -setcookie other@h 0th3r +K true");
        let i = VmArgsInfo {
            flags: args.clone(),
            ..analyse(&args, Vec::new())
        };
        let shown = format!("{i:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("0th3r"),
            "{shown}"
        );
        assert!(
            shown.contains("\"n\"") && shown.contains("\"true\""),
            "{shown}"
        );
    }
}
