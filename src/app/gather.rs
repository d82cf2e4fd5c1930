//! The process handle: what a launch reads from the process and the machine (environment,
//! host name, random words, clock, terminals, PID) and where its own output goes. Read-only
//! apart from the output; injectable, so that the application's decisions are unit-tested
//! in-process without Erlang (`test_host::FakeHost`).
use crate::environment::EnvMap;
use std::io::{Read, Write};

pub(crate) trait Host {
    /// The caller's environment.
    fn env(&self) -> EnvMap;
    fn hostname(&self) -> String;
    /// Two fresh 4-hex-digit words (the script's `rand`).
    fn random_words(&self) -> [String; 2];
    /// Local time as `%Y%m%d%H%M%S`.
    fn timestamp(&self) -> String;
    fn isatty(&self, fd: i32) -> bool;
    /// beamrc is the init process of its PID namespace.
    fn pid1(&self) -> bool;
    /// Where beamrc's own output goes (printed values, the dry run, ping/status lines).
    fn out(&self) -> Box<dyn Write + '_>;
    /// The physical path of the running executable (`/proc/self/exe`, else argv[0] through
    /// `PATH`, resolved): `RELEASE_ROOT` is taken from it as it is.
    fn current_exe(
        &self,
        argv0: &std::ffi::OsStr,
        path: Option<&std::ffi::OsStr>,
    ) -> Option<std::path::PathBuf>;
}

/// The real process; `exe` is the executable when the caller already knows it (a packed
/// release runs its extracted `bin/NAME` in-process), else it is read from the kernel.
#[derive(Default)]
pub(crate) struct OsHost {
    pub exe: Option<std::path::PathBuf>,
}

impl Host for OsHost {
    fn env(&self) -> EnvMap {
        EnvMap::from_os()
    }
    fn hostname(&self) -> String {
        hostname()
    }
    fn random_words(&self) -> [String; 2] {
        random_words()
    }
    fn timestamp(&self) -> String {
        timestamp()
    }
    fn isatty(&self, fd: i32) -> bool {
        isatty(fd)
    }
    fn pid1(&self) -> bool {
        crate::process::init::is_pid1()
    }
    fn out(&self) -> Box<dyn Write + '_> {
        Box::new(std::io::stdout().lock())
    }
    fn current_exe(
        &self,
        argv0: &std::ffi::OsStr,
        path: Option<&std::ffi::OsStr>,
    ) -> Option<std::path::PathBuf> {
        match &self.exe {
            // Physical, as the kernel's path is (see `locate::locate_root`).
            Some(exe) => std::fs::canonicalize(exe).ok(),
            None => crate::release::locate::current_exe(argv0, path),
        }
    }
}

/// Two 4-hex-digit words from the kernel's random source (the script's `rand`).
fn random_words() -> [String; 2] {
    let mut buf = [0u8; 4];
    // SAFETY: buf is a valid writable buffer of the given length.
    let got = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), libc::GRND_NONBLOCK) };
    if got != buf.len() as isize {
        // Not seeded yet (early boot) or no getrandom(2): the device never blocks.
        let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    }
    [
        format!("{:04x}", u16::from_ne_bytes([buf[0], buf[1]])),
        format!("{:04x}", u16::from_ne_bytes([buf[2], buf[3]])),
    ]
}

/// Local time as `date +%Y%m%d%H%M%S` prints it.
fn timestamp() -> String {
    // SAFETY: time/localtime_r write into the provided struct only.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    }
}

/// The machine's host name (`gethostname(2)`).
fn hostname() -> String {
    crate::dist::own_hostname()
        .unwrap_or("localhost")
        .to_string()
}

fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

#[cfg(test)]
pub(crate) mod test_host {
    use super::*;
    use std::cell::RefCell;

    /// A process handle for unit tests: a given environment, fixed names and words, and
    /// captured output.
    pub(crate) struct FakeHost {
        pub env: EnvMap,
        pub pid1: bool,
        pub exe: std::path::PathBuf,
        pub out: RefCell<Vec<u8>>,
    }

    impl FakeHost {
        pub fn new(exe: &std::path::Path, env: EnvMap) -> FakeHost {
            FakeHost {
                env,
                pid1: false,
                exe: exe.to_path_buf(),
                out: RefCell::new(Vec::new()),
            }
        }
        pub fn output(&self) -> String {
            String::from_utf8_lossy(&self.out.borrow()).into_owned()
        }
    }

    struct Capture<'a>(&'a RefCell<Vec<u8>>);
    impl Write for Capture<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Host for FakeHost {
        fn env(&self) -> EnvMap {
            self.env.clone()
        }
        fn hostname(&self) -> String {
            "testhost".into()
        }
        fn random_words(&self) -> [String; 2] {
            ["aaaa".into(), "bbbb".into()]
        }
        fn timestamp(&self) -> String {
            "20260101000000".into()
        }
        fn isatty(&self, _fd: i32) -> bool {
            false
        }
        fn pid1(&self) -> bool {
            self.pid1
        }
        fn out(&self) -> Box<dyn Write + '_> {
            Box::new(Capture(&self.out))
        }
        fn current_exe(
            &self,
            _: &std::ffi::OsStr,
            _: Option<&std::ffi::OsStr>,
        ) -> Option<std::path::PathBuf> {
            Some(self.exe.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let [a, b] = random_words();
        assert_eq!(a.len(), 4);
        assert!(
            b.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let t = timestamp();
        assert_eq!(t.len(), 14);
        assert!(t.starts_with("20"));
    }
}
