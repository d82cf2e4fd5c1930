//! Progress while beamrc waits for the node: release_handler's `unpack_release` (and any
//! other call) is one request that may take long on a large package; after
//! [`EVERY`] without an answer, one line on stderr says what is being waited for and for how
//! long (`beamrc: unpacking 0.2.0 … 4 s`), every [`EVERY`] until the answer comes. Printed
//! whether stderr is a terminal or a log (a journal shows the same lines).
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How often a line is printed while a call is outstanding.
pub(crate) const EVERY: Duration = Duration::from_secs(3);

/// What a release_handler call is doing, for the progress line.
pub(crate) fn label(m: &str, f: &str, vsn: &str) -> String {
    let doing = match (m, f) {
        ("release_handler", "unpack_release") => "unpacking",
        ("release_handler", "check_install_release") => "checking the installation of",
        ("release_handler", "install_release") => "installing",
        ("release_handler", "make_permanent") => "making permanent",
        ("release_handler", "remove_release") => "removing",
        _ => return format!("waiting for {m}:{f}"),
    };
    format!("{doing} {vsn}")
}

/// Runs `work`; while it has not returned, `line` gets `"WHAT … N s"` every `every`.
pub(crate) fn waiting<T>(
    what: &str,
    every: Duration,
    line: impl Fn(String) + Send,
    work: impl FnOnce() -> T,
) -> T {
    let (done, wait) = channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let started = Instant::now();
            while let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(every) {
                line(format!("{what} … {} s", started.elapsed().as_secs()));
            }
        });
        let out = work();
        drop(done);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_lines() {
        assert_eq!(
            label("release_handler", "unpack_release", "0.2.0"),
            "unpacking 0.2.0"
        );
        assert_eq!(
            label("code", "root_dir", "0.2.0"),
            "waiting for code:root_dir"
        );
        let lines = std::sync::Mutex::new(Vec::new());
        let got = waiting(
            "unpacking 0.2.0",
            Duration::from_millis(5),
            |l| lines.lock().unwrap().push(l),
            || {
                std::thread::sleep(Duration::from_millis(30));
                7
            },
        );
        assert_eq!(got, 7);
        let lines = lines.into_inner().unwrap();
        assert!(!lines.is_empty());
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("unpacking 0.2.0 … ") && l.ends_with(" s"))
        );
        // a quick call prints nothing
        let quiet = std::sync::Mutex::new(0);
        waiting(
            "x",
            Duration::from_secs(60),
            |_| *quiet.lock().unwrap() += 1,
            || (),
        );
        assert_eq!(quiet.into_inner().unwrap(), 0);
    }
}
