//! Bounded fuzz drivers (stable toolchain, run by `cargo test`).
