//! Process control at the edge: exec, daemon (run_erl), PID 1 supervision, systemd notify.
