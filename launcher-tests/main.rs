//! Integration tests against real releases built by `mix release`.

mod fixtures_smoke;
mod support;
