//! A private epmd per test, on a free loopback port, killed by PID on drop.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bind to port 0). Never hands out the same port twice in
/// one process, so two tests cannot be given the same port between the probe and the bind.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0 for a free port");
        let port = listener.local_addr().expect("local_addr").port();
        if port != 4369 && given.insert(port) {
            return port;
        }
    }
}

#[derive(Debug)]
pub struct Epmd {
    pub port: u16,
    child: Child,
}

impl Epmd {
    /// Spawns `epmd -port P` (foreground, no `-daemon`) and waits until it accepts connections.
    pub fn start() -> Epmd {
        super::require_erlang();
        let epmd = super::which("epmd").expect("epmd on PATH");
        let mut last_err = String::new();
        for _attempt in 0..10 {
            let port = free_port();
            let mut child = Command::new(&epmd)
                .args(["-port", &port.to_string()])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", epmd.display()));
            let deadline = Instant::now() + Duration::from_secs(5);
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_err = format!("epmd -port {port} exited early: {status}");
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    // Someone answers; make sure it is our epmd (a bind failure exits at once).
                    std::thread::sleep(Duration::from_millis(30));
                    if child.try_wait().ok().flatten().is_none() {
                        return Epmd { port, child };
                    }
                    last_err = format!("port {port} was taken by another process");
                    break;
                }
                if Instant::now() >= deadline {
                    last_err = format!("epmd -port {port} did not listen within 5 s");
                    // SAFETY: kill(2) on our own child.
                    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.wait();
        }
        panic!("could not start a private epmd: {last_err}");
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Registered node names, as printed by `epmd -port P -names` (one `name N at port P` per line).
    pub fn names(&self) -> Vec<String> {
        let out = Command::new("epmd")
            .args(["-port", &self.port.to_string(), "-names"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("epmd -names");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("name "))
            .filter_map(|l| l.split(" at port ").next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Epmd {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own un-reaped child.
        unsafe { libc::kill(self.pid(), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}
