//! `start` under a service manager or as a container's PID 1: the init supervisor when
//! beamrc is PID 1 (or `BEAMRC_INIT=1`), and systemd readiness (`READY=1` once the node has
//! booted, `STOPPING=1` when it goes down) when `NOTIFY_SOCKET` is set. Otherwise `start`
//! simply execs, and the launcher's PID is the VM's.
use super::node;
use crate::dist::{self, ClientConfig};
use crate::plan::{Start, Watch};
use crate::process::user::Credentials;
use crate::process::{init, notify};
use crate::{Error, Result};
use std::ffi::OsString;
use std::time::Duration;

/// Before anything is written: `BEAMRC_USER` resolved (names, ids, root).
pub(crate) fn preflight(start: &Start) -> Result<Option<Credentials>> {
    start
        .user
        .as_ref()
        .map(crate::process::user::resolve)
        .transpose()
}

/// Carries out a `start` plan: supervise (init mode) or exec, with readiness reporting.
pub(crate) fn start(start: Start, credentials: Option<Credentials>) -> Result<i32> {
    let readiness = start.notify.map(|n| Readiness::new(n.socket, n.watch));
    if let Some(s) = &start.supervise {
        tracing::debug!(
            "init mode ({}): supervising the VM (shutdown timeout {:?})",
            s.why,
            s.shutdown_timeout
        );
        let stopping = readiness.as_ref().map(|r| r.socket.clone());
        let opts = init::InitOptions {
            shutdown_timeout: s.shutdown_timeout,
            stop_delay: s.stop_delay,
            credentials,
            on_spawn: readiness
                .map(|r| Box::new(move |pid| r.run(pid)) as Box<dyn FnOnce(u32) + Send>),
            on_stop_signal: stopping.map(|s| {
                Box::new(move || {
                    let _ = notify::notify(&s, "STOPPING=1");
                }) as Box<dyn Fn() + Send + Sync>
            }),
        };
        return Ok(init::supervise(&start.spec, opts));
    }
    if let Some(r) = readiness {
        // The VM will have our PID; a detached watcher reports for it.
        let me = std::process::id();
        notify::detach_watcher(&[], Box::new(move || r.run(me)))
            .map_err(|e| Error::io("cannot start the readiness watcher", e))?;
    }
    Err(crate::process::exec::exec_as(
        &start.spec,
        credentials.as_ref(),
    ))
}

/// Watches the node and tells systemd when it is ready and when it stops.
struct Readiness {
    socket: OsString,
    client: Option<ClientConfig>,
}

impl Readiness {
    fn new(socket: OsString, watch: Watch) -> Readiness {
        let client = match watch {
            Watch::Native(link) => Some(link.client_config()),
            Watch::Blind(why) => {
                crate::error::warn(format_args!(
                    "NOTIFY_SOCKET is set but beamrc cannot talk to the node ({why}): READY=1 is sent when the VM starts, not when it has booted"
                ));
                None
            }
        };
        Readiness { socket, client }
    }

    fn send(&self, message: &str) {
        if let Err(e) = notify::notify(&self.socket, message) {
            tracing::debug!("sd_notify failed: {e}");
        }
    }

    /// Runs until the node is gone: READY=1 (with MAINPID) once it answers with
    /// `init:get_status()` = `{started, started}`, STOPPING=1 when it stops.
    fn run(self, vm_pid: u32) {
        let Some(client) = &self.client else {
            self.send(&format!(
                "READY=1\nMAINPID={vm_pid}\nSTATUS=started (boot not observable)"
            ));
            return;
        };
        let alive = || crate::process::watch::pid_alive(vm_pid);
        // Boot: connect (again while the name is not registered yet), then one session
        // waits for init's started event.
        let session = loop {
            if !alive() {
                return;
            }
            if let Ok(mut s) = dist::Session::connect(client)
                && s.wait_started().is_ok()
                && matches!(node::node_ready_on(&mut s), Ok(true))
            {
                break s;
            }
            std::thread::sleep(crate::probe::events::REGISTRATION_POLL);
        };
        self.send(&format!(
            "READY=1\nMAINPID={vm_pid}\nSTATUS={} is running",
            client.target
        ));
        // Then the same connection, kept alive by ticks, is asked every 500 ms. A single
        // failed call (a busy node, a slow host) is not a stop: only a VM that says it is
        // stopping, that is gone, or that stays unreachable (three failures in a row, each
        // followed by one reconnect).
        let open = |mut s: dist::Session<'static, 'static>| {
            s.keep_alive();
            s
        };
        let mut session = Some(open(session));
        let mut failures = 0;
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let status = match session.as_mut() {
                Some(s) => s.ask("init", "get_status"),
                None => Err(dist::DistError::ConnectionClosed),
            };
            let stopping = match status {
                Ok(status) => {
                    failures = 0;
                    status
                        .as_tuple()
                        .and_then(|t| t.first())
                        .is_some_and(|s| s.is_atom("stopping"))
                }
                Err(_) => {
                    failures += 1;
                    session = dist::Session::connect(client).ok().map(open);
                    failures >= 3
                }
            };
            if stopping || !alive() {
                self.send("STOPPING=1");
                return;
            }
        }
    }
}
