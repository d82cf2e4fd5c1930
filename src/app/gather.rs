//! Reading what a plan is computed from: random words, the clock, the terminal, small
//! files. Read-only; kept apart so the plan itself stays pure.
use std::io::Read;

/// Two 4-hex-digit words from the kernel's random source (the script's `rand`).
pub fn random_words() -> [String; 2] {
    let mut buf = [0u8; 4];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        // getrandom(2) as a fallback when /dev is not mounted.
        // SAFETY: buf is a valid writable buffer of the given length.
        unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    }
    [
        format!("{:04x}", u16::from_ne_bytes([buf[0], buf[1]])),
        format!("{:04x}", u16::from_ne_bytes([buf[2], buf[3]])),
    ]
}

/// Local time as `date +%Y%m%d%H%M%S` prints it.
pub fn timestamp() -> String {
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
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
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
