//! Node name, distribution arguments and cookie as relx's script finds them (reference
//! §1.5–§1.7), computed without awk, grep or a throw-away VM.
//!
//! * The name line: the first column-0 `-name X` / `-sname X` line of vm.args or of a file
//!   it pulls in with a column-0 `-args_file F` (depth first). A second one is an error
//!   (exit 2), none is an error (exit 1), a file named twice is a "circular reference"
//!   (exit 5), an existing unreadable file exit 3; a missing one is skipped (relx ≥ 4.1).
//!   Relative `-args_file` paths are read relative to the release root, where erlexec
//!   reads them (relx's awk reads them relative to the caller's cwd).
//! * relx `eval`s the line in the shell; beamrc substitutes `${VAR}`/`${VAR:-x}` in it with
//!   its own engine (no command substitution) and splits it on blanks.
//! * Without `@host`, the host part is what the VM would take: for `-sname` the machine's
//!   host name up to the first dot (`inet:gethostname/0`); for `-name` the full host name
//!   when it has a dot (else the caller asks the VM, as relx does).
use std::path::{Path, PathBuf};

use crate::Error;
use crate::config::subst::{self, UnsetPolicy};

/// `-sname` or `-name`, as the script's `NAME_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameType {
    Short,
    Long,
}

impl NameType {
    pub fn flag(self) -> &'static str {
        match self {
            NameType::Short => "-sname",
            NameType::Long => "-name",
        }
    }
}

/// What relx extracts from the (rendered) top-level vm.args and its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFacts {
    pub name_type: NameType,
    /// `NAME` as written (may lack `@host`).
    pub name: String,
    /// `DIST_ARGS` words: `-proto_dist …`, `-start_epmd …`, `-epmd_module …`,
    /// `-kernel inet_dist_use_interface …` lines of the top-level file.
    pub dist_args: Vec<String>,
    /// The `-start_epmd` line, if any (`START_EPMD`).
    pub start_epmd: Option<String>,
    /// The `-kernel inet_dist_use_interface X` value, if any.
    pub use_interface: Option<String>,
    /// Second word of the first column-0 `-setcookie` line of the top-level file.
    pub cookie: Option<String>,
}

impl NodeFacts {
    /// `-proto_dist` is set: only the script's own route (nodetool) can talk to the node.
    pub fn custom_proto(&self) -> bool {
        self.dist_args.iter().any(|w| w == "-proto_dist")
    }
}

/// Reads the facts; `top` is the rendered text of `top_path`; `root` resolves relative
/// `-args_file` paths. Errors carry relx's message (on stdout) and exit code.
pub fn facts(
    top_path: &Path,
    top: &str,
    root: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<NodeFacts, Error> {
    let mut walk = Walk {
        root,
        seen: vec![top_path.to_path_buf()],
        name_line: None,
    };
    walk.scan(top_path, top)?;
    let Some(line) = walk.name_line else {
        return Err(stdout_error(
            1,
            "need to have exactly one of either -name or -sname parameters but none found",
        ));
    };
    let expanded = subst::substitute(&line, lookup, UnsetPolicy::Empty).unwrap_or(line);
    let mut words = expanded.split_whitespace();
    let name_type = match words.next() {
        Some("-name") => NameType::Long,
        _ => NameType::Short,
    };
    let name = words.next().unwrap_or_default().to_string();
    let mut dist_args = Vec::new();
    let mut start_epmd = None;
    let mut use_interface = None;
    let mut cookie = None;
    for l in top.lines() {
        let is = |p: &str| l.starts_with(p);
        if is("-proto_dist") || is("-start_epmd") || is("-epmd_module") {
            dist_args.extend(l.split_whitespace().map(str::to_string));
            if is("-start_epmd") && start_epmd.is_none() {
                start_epmd = Some(l.to_string());
            }
        } else if let Some(rest) = l.strip_prefix("-kernel ")
            && let Some(value) = rest.trim_start().strip_prefix("inet_dist_use_interface")
        {
            dist_args.extend(l.split_whitespace().map(str::to_string));
            use_interface.get_or_insert_with(|| value.trim().to_string());
        } else if is("-setcookie") && cookie.is_none() {
            cookie = Some(l.split_whitespace().nth(1).unwrap_or_default().to_string());
        }
    }
    Ok(NodeFacts {
        name_type,
        name,
        dist_args,
        start_epmd,
        use_interface,
        cookie,
    })
}

/// The node name with its host part, when beamrc can compute it as the VM would; `None`
/// for a `-name` without host on a machine whose host name has no domain.
pub fn full_name(facts: &NodeFacts, hostname: &str) -> Option<String> {
    if facts.name.contains('@') {
        return Some(facts.name.clone());
    }
    let host = match facts.name_type {
        NameType::Short => hostname.split('.').next().unwrap_or(hostname),
        NameType::Long if hostname.contains('.') => hostname,
        NameType::Long => return None,
    };
    Some(format!("{}@{host}", facts.name))
}

/// `ADDRESS` for `ERL_DIST_PORT=P`: `P`, or `ip:P` with `inet_dist_use_interface {a,b,c,d}`.
pub fn dist_address(facts: &NodeFacts, port: &str) -> String {
    match facts.use_interface.as_deref().and_then(tuple_to_ip) {
        Some(ip) => format!("{ip}:{port}"),
        None => port.to_string(),
    }
}

/// The `inet_dist_use_interface` tuple as an address.
pub fn interface_ip(tuple: &str) -> Option<std::net::IpAddr> {
    tuple_to_ip(tuple)?.parse().ok()
}

/// `{127,0,0,1}` → `127.0.0.1`; eight parts → IPv6 hex groups (`addr_tuple_to_str`).
fn tuple_to_ip(tuple: &str) -> Option<String> {
    let parts: Vec<u32> = tuple
        .split(|c: char| "{,}'\" ".contains(c))
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.len() {
        4 => Some(
            parts
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("."),
        ),
        8 => Some(
            parts
                .iter()
                .map(|p| format!("{p:04x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => None,
    }
}

/// relx's messages for vm.args problems go to stdout with their exit code.
fn stdout_error(code: i32, text: impl Into<String>) -> Error {
    Error::Message {
        code,
        text: text.into(),
    }
}

struct Walk<'a> {
    root: &'a Path,
    seen: Vec<PathBuf>,
    name_line: Option<String>,
}

impl Walk<'_> {
    fn scan(&mut self, file: &Path, text: &str) -> Result<(), Error> {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("-args_file ") {
                let named = rest.trim_start_matches(' ').trim_end_matches(' ');
                let path = PathBuf::from(named);
                if self.seen.contains(&path) {
                    return Err(stdout_error(
                        5,
                        format!(
                            "circular reference to {named} encountered in {}",
                            file.display()
                        ),
                    ));
                }
                self.seen.push(path.clone());
                let on_disk = if path.is_relative() {
                    self.root.join(&path)
                } else {
                    path.clone()
                };
                match std::fs::read(&on_disk) {
                    Ok(bytes) => self.scan(&path, &String::from_utf8_lossy(&bytes))?,
                    Err(_) if on_disk.is_file() => {
                        return Err(stdout_error(3, format!("{named} not readable")));
                    }
                    Err(_) => {}
                }
            } else if is_name_line(line) {
                if let Some(first) = &self.name_line {
                    return Err(stdout_error(
                        2,
                        format!(
                            "\"{line}\" parameter found in {} but already specified as \"{first}\"",
                            file.display()
                        ),
                    ));
                }
                self.name_line = Some(line.to_string());
            }
        }
        Ok(())
    }
}

/// awk's `/^-s?name +/`.
fn is_name_line(line: &str) -> bool {
    line.strip_prefix("-sname")
        .or_else(|| line.strip_prefix("-name"))
        .is_some_and(|rest| rest.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::scratch;

    fn none(_: &str) -> Option<String> {
        None
    }

    fn f(text: &str) -> Result<NodeFacts, Error> {
        facts(
            Path::new("/r/vm.args"),
            text,
            Path::new("/nonexistent"),
            &none,
        )
    }

    #[test]
    fn name_cookie_and_dist_args() {
        let facts = f("## c\n-sname  demo\n-setcookie  ck x\n-start_epmd false\n\
-kernel  inet_dist_use_interface {127,0,0,1}\n+K true\n")
        .unwrap();
        assert_eq!(
            (facts.name_type, facts.name.as_str()),
            (NameType::Short, "demo")
        );
        assert_eq!(facts.cookie.as_deref(), Some("ck"));
        assert_eq!(facts.start_epmd.as_deref(), Some("-start_epmd false"));
        assert_eq!(
            facts.dist_args,
            [
                "-start_epmd",
                "false",
                "-kernel",
                "inet_dist_use_interface",
                "{127,0,0,1}"
            ]
        );
        assert_eq!(dist_address(&facts, "8001"), "127.0.0.1:8001");
        assert_eq!(interface_ip("{127,0,0,1}"), Some([127, 0, 0, 1].into()));
        assert!(!facts.custom_proto());
        assert_eq!(full_name(&facts, "box.example.com").unwrap(), "demo@box");
    }

    #[test]
    fn relx_errors_and_codes() {
        let e = f("+K true\n -sname indented\n").unwrap_err();
        assert_eq!(e.code(), 1);
        assert_eq!(
            e.to_string(),
            "need to have exactly one of either -name or -sname parameters but none found"
        );
        let e = f("-sname a\n-name b@h\n").unwrap_err();
        assert_eq!(e.code(), 2);
        assert_eq!(
            e.to_string(),
            "\"-name b@h\" parameter found in /r/vm.args but already specified as \"-sname a\""
        );
        let e = f("-args_file /r/vm.args\n").unwrap_err();
        assert_eq!(e.code(), 5);
    }

    #[test]
    fn name_in_an_args_file_and_cycles() {
        let dir = scratch("node-chain");
        let two = dir.join("vm-2.args");
        let six = dir.join("vm-6.args");
        std::fs::write(&two, format!("-args_file {}\n", six.display())).unwrap();
        std::fs::write(&six, format!("-args_file {}\n", two.display())).unwrap();
        let top = format!("-args_file {}\n-setcookie c\n", two.display());
        let e = facts(&dir.join("vm.args"), &top, &dir, &none).unwrap_err();
        assert_eq!(e.code(), 5);
        assert_eq!(
            e.to_string(),
            format!(
                "circular reference to {} encountered in {}",
                two.display(),
                six.display()
            )
        );
        std::fs::write(&two, "-sname inner@localhost\n").unwrap();
        let ok = facts(&dir.join("vm.args"), &top, &dir, &none).unwrap();
        assert_eq!(ok.name, "inner@localhost");
        std::fs::write(&two, "-args_file missing.args\n-sname x\n").unwrap();
        assert_eq!(
            facts(&dir.join("vm.args"), &top, &dir, &none).unwrap().name,
            "x"
        );
    }

    #[test]
    fn variables_in_the_name_line_and_long_names() {
        let look = |v: &str| (v == "N").then(|| "node1".to_string());
        let facts = facts(Path::new("v"), "-name ${N}\n", Path::new("/"), &look).unwrap();
        assert_eq!(facts.name, "node1");
        assert_eq!(full_name(&facts, "box"), None);
        assert_eq!(full_name(&facts, "box.lan").unwrap(), "node1@box.lan");
    }
}
