//! Integration tests against real releases built by `mix release` during the run.
mod check;
mod config;
mod differential;
mod dist_client;
mod e2e;
mod env_sh;
mod errors;
mod fixtures_smoke;
mod lifecycle;
mod native_rpc;
mod process_init;
mod service;
mod support;
mod switches;
mod upgrade;
