//! Integration tests against real releases built by `mix release`.
mod process_init;
