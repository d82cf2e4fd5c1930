//! Integration tests against real releases built by `mix release` during the run.
mod config;
mod differential;
mod dist_client;
mod e2e;
mod env_sh;
mod fixtures_smoke;
mod lifecycle;
mod native_rpc;
mod process_init;
mod relx_differential;
mod relx_e2e;
mod relx_fixtures;
mod relx_mix_hooks;
mod relx_upgrade;
mod service;
mod support;
mod switches;
