//! Integration tests against real releases built by `mix release`.
mod dist_client;
