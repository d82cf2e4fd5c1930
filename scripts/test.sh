#!/usr/bin/env bash
# All tests: formatting, lints, unit tests and the integration tests against real releases.
# Integration tests need Erlang/OTP and Elixir (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in erl elixir mix epmd; do
  command -v "$tool" >/dev/null || { echo "ERROR: $tool not found: run scripts/setup.sh (apt-get install erlang-nox erlang-dev elixir rebar3)" >&2; exit 1; }
done
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked -- --test-threads="${BEAMRC_TEST_THREADS:-2}"
