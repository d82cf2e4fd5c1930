//! beamrc under systemd (NOTIFY_SOCKET readiness) and as a container's PID 1.
use crate::support::{Fixture, installed, ok, wait_until};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

fn recv(sock: &UnixDatagram, timeout: Duration) -> Option<String> {
    sock.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = [0u8; 4096];
    sock.recv(&mut buf)
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn notify_socket_gets_ready_after_boot_then_stopping() {
    let rel = installed(Fixture::Plain);
    let path = rel.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut cmd = rel.cmd(&rel.bin(), &["start"]);
    cmd.env("NOTIFY_SOCKET", &path);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let ready = recv(&sock, Duration::from_secs(60)).expect("no READY=1");
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(ready.contains(&format!("MAINPID={pid}")), "{ready}");
    // READY=1 only once the node answers
    assert_eq!(ok(&rel.run(&rel.bin(), &["ping"], &[], None)), "pong\n");
    assert_eq!(
        ok(&rel.run(&rel.bin(), &["pid"], &[], None)).trim(),
        pid.to_string()
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let stopping = recv(&sock, Duration::from_secs(30)).expect("no STOPPING=1");
    assert!(stopping.contains("STOPPING=1"), "{stopping}");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// `unshare --pid --fork --mount-proc bin/NAME start`: beamrc is PID 1 in the namespace.
struct Pid1 {
    child: std::process::Child,
}

impl Pid1 {
    fn start(rel: &crate::support::TestRelease, env: &[(&str, &str)]) -> Pid1 {
        let mut cmd = rel.cmd(
            std::path::Path::new("unshare"),
            &["--pid", "--fork", "--mount-proc"],
        );
        cmd.arg(rel.bin()).arg("start");
        cmd.envs(env.iter().copied());
        let child = cmd
            .spawn()
            .expect("unshare (util-linux) is needed, as root");
        Pid1 { child }
    }

    /// Host pid of the namespace's PID 1 (beamrc): unshare's only child.
    fn init_pid(&self) -> u32 {
        let path = format!("/proc/{0}/task/{0}/children", self.child.id());
        let mut found = None;
        wait_until(Duration::from_secs(10), "unshare's child", || {
            found = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()));
            found.is_some()
        });
        found.unwrap()
    }

    fn wait(mut self) -> Option<i32> {
        self.child.wait().unwrap().code()
    }
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        .unwrap_or(false)
}

#[test]
fn pid1_sigterm_is_graceful_and_orphans_are_reaped() {
    let rel = installed(Fixture::Plain);
    let pid1 = Pid1::start(&rel, &[]);
    let init = pid1.init_pid();
    let bin = rel.bin();
    wait_until(Duration::from_secs(60), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    // an orphan: the shell of os:cmd exits, `sleep` is reparented to PID 1 (beamrc)
    ok(&rel.run(&bin, &["rpc", ":os.cmd('sleep 0.3 &')"], &[], None));
    std::thread::sleep(Duration::from_secs(1));
    let zombies: Vec<u32> = children(init)
        .into_iter()
        .filter(|p| is_zombie(*p))
        .collect();
    assert!(zombies.is_empty(), "zombies under PID 1: {zombies:?}");
    // SAFETY: signalling a process of our own test.
    unsafe { libc::kill(init as i32, libc::SIGTERM) };
    assert_eq!(pid1.wait(), Some(0));
}

#[test]
fn pid1_exit_codes_propagate() {
    let rel = installed(Fixture::Plain);
    let bin = rel.bin();
    let pid1 = Pid1::start(&rel, &[]);
    wait_until(Duration::from_secs(60), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    let _ = rel.run(&bin, &["rpc", "System.halt(7)"], &[], None);
    assert_eq!(pid1.wait(), Some(7));

    let pid1 = Pid1::start(&rel, &[]);
    let init = pid1.init_pid();
    wait_until(Duration::from_secs(60), "the node answers", || {
        rel.run(&bin, &["ping"], &[], None).code == Some(0)
    });
    let beam = children(init)
        .into_iter()
        .find(|p| {
            crate::support::pid_exe(*p as i32).is_some_and(|e| e.to_string_lossy().contains("beam"))
        })
        .expect("the VM is PID 1's child");
    // SAFETY: killing the VM our test started.
    unsafe { libc::kill(beam as i32, libc::SIGKILL) };
    assert_eq!(pid1.wait(), Some(137));
}
