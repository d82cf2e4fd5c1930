#!/usr/bin/env bash
# Benchmark: beamrc vs the original script on a real release, side by side in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
target=x86_64-unknown-linux-musl
if rustup target list --installed 2>/dev/null | grep -q $target; then
  cargo build --release --locked -q --target $target
  BEAMRC="$PWD/target/$target/release/beamrc"
else
  RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked -q --target x86_64-unknown-linux-gnu
  BEAMRC="$PWD/target/x86_64-unknown-linux-gnu/release/beamrc"
fi
cargo build --release --locked -q --example bench
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export ERL_EPMD_PORT=$port
epmd -port "$port" & epmd_pid=$!
cleanup() {
  [ -n "${rel:-}" ] && "$rel/bin/benchapp" stop >/dev/null 2>&1 || true
  kill "$epmd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
( cd "$work" && mix new benchapp --sup >/dev/null && cd benchapp && MIX_ENV=prod mix release --quiet >/dev/null )
rel="$work/benchapp/_build/prod/rel/benchapp"
"$BEAMRC" install "$rel" >/dev/null
chmod 400 "$rel/releases/COOKIE"
file "$BEAMRC" | sed 's/^/binary: /'
"$rel/bin/benchapp" daemon
for _ in $(seq 1 100); do "$rel/bin/benchapp" ping >/dev/null 2>&1 && break; sleep 0.1; done
target/release/examples/bench "$rel" benchapp "$BEAMRC"
