#!/usr/bin/env bash
# Benchmark: beamrc against the original scripts on real releases, side by side in one run.
#
#   1. `check`'s cost on the Mix release (absolute: it has no script counterpart; budget 50 ms)
#   2. Mix release (`mix new --sup` + `mix release`): examples/bench.rs — bin/NAME vs bin/NAME.sh
#      (version, eval, pid, rpc, ping: wall time, peak memory, start-up work, binary size)
#   3. rebar3/relx release (`rebar3 new release` + `rebar3 as prod release`): examples/bench_relx.rs
#      — bin/NAME vs relx's kept bin/NAME.sh (ping, pid, rpc, help)
#   3b. hot upgrade of a deployed rebar3/relx release 0.1.0 -> 0.1.1 (relup by `rebar3 relup`):
#      examples/bench_upgrade.rs — beamrc's local overhead (everything but the node's calls;
#      target 20 ms) for a first install from the package and between installed versions
#   4. `beamrc pack` of the Mix release: examples/bench_pack.rs — size vs `tar czf`, pack time,
#      first run, warm `version` vs the installed release
#
# Each part prints its ratios; a missed target is reported and makes the exit status 1, but
# the later parts still run. Everything runs against a private epmd on a random port.
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
cargo build --release --locked -q --example bench --example bench_relx --example bench_upgrade --example bench_pack
examples="${CARGO_TARGET_DIR:-$PWD/target}/release/examples"
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export ERL_EPMD_PORT=$port
epmd -port "$port" & epmd_pid=$!
rel="" relx="" upg=""
cleanup() {
  [ -n "$upg" ] && PIPE_DIR="$upg/tmp/pipes/" "$upg/bin/upgapp" stop >/dev/null 2>&1 || true
  [ -n "$rel" ] && "$rel/bin/benchapp" stop >/dev/null 2>&1 || true
  [ -n "$relx" ] && PIPE_DIR="$relx/tmp/pipes/" "$relx/bin/erlapp" stop >/dev/null 2>&1 || true
  kill "$epmd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
status=0

echo "==> machine: $(nproc) cores, $(uname -srm), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "    OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().'), $(elixir --version | grep -o 'Elixir [0-9.]*'), $(rebar3 version | cut -d' ' -f1-2)"
file "$BEAMRC" | sed 's/^/    binary: /'
echo "    binary size: $(stat -c %s "$BEAMRC") bytes"

echo "==> building the releases (in $work)"
( cd "$work" && mix new benchapp --sup >/dev/null && cd benchapp && MIX_ENV=prod mix release --quiet >/dev/null )
rel="$work/benchapp/_build/prod/rel/benchapp"
"$BEAMRC" install "$rel" >/dev/null
chmod 400 "$rel/releases/COOKIE"
( cd "$work" && rebar3 new release erlapp >/dev/null && cd erlapp && rebar3 as prod release >/dev/null )
relx_built="$work/erlapp/_build/prod/rel/erlapp"
"$BEAMRC" install "$relx_built" >/dev/null

echo
echo "==> check (Mix release, no VM started; 20 runs)"
n=20
TIMEFORMAT='%R %U %S'
times=$( { time (for _ in $(seq $n); do "$rel/bin/benchapp" check >/dev/null 2>&1; done) ; } 2>&1 ) || {
  echo "  check failed:"; "$rel/bin/benchapp" check || true; status=1; }
read -r real user sys <<<"$times"
awk -v r="$real" -v u="$user" -v s="$sys" -v n=$n 'BEGIN {
  w = r / n * 1000; c = (u + s) / n * 1000
  printf "  bin/NAME check: %.1f ms wall, %.1f ms CPU per run (budget 50 ms) %s\n", w, c, (w <= 50 ? "ok" : "MISSED")
  exit (w <= 50 ? 0 : 1) }' || status=1

echo
echo "==> Mix release: bin/benchapp (beamrc) vs bin/benchapp.sh (the Elixir script)"
"$rel/bin/benchapp" daemon
for _ in $(seq 1 100); do "$rel/bin/benchapp" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$examples/bench" "$rel" benchapp "$BEAMRC" || status=1
"$rel/bin/benchapp" stop >/dev/null

echo
echo "==> rebar3/relx release: bin/erlapp (beamrc) vs bin/erlapp.sh (relx's script)"
relx=$relx_built
"$examples/bench_relx" "$relx" erlapp || status=1
relx=""

echo
echo "==> hot upgrade (rebar3/relx release upgapp 0.1.0 -> 0.1.1, deployed outside _build)"
( cd "$work" && rebar3 new release upgapp >/dev/null && cd upgapp \
  && sed -i 's/{mode, dev},//' rebar.config \
  && sed -i 's/-sname upgapp$/-sname upgapp@localhost/' config/vm.args \
  && rebar3 as prod tar >/dev/null \
  && sed -i 's/{upgapp, "0.1.0"}/{upgapp, "0.1.1"}/' rebar.config \
  && rebar3 as prod release >/dev/null \
  && rebar3 as prod relup -n upgapp -v 0.1.1 -u 0.1.0 >/dev/null \
  && rebar3 as prod tar -n upgapp -v 0.1.1 >/dev/null )
upg="$work/upgdeploy"
mkdir -p "$upg"
tar -xzf "$work/upgapp/_build/prod/rel/upgapp/upgapp-0.1.0.tar.gz" -C "$upg"
cp "$work/upgapp/_build/prod/rel/upgapp/upgapp-0.1.1.tar.gz" "$upg/releases/"
echo "    package: $(stat -c %s "$upg/releases/upgapp-0.1.1.tar.gz") bytes, $(tar -tzf "$upg/releases/upgapp-0.1.1.tar.gz" | wc -l) entries"
"$BEAMRC" install "$upg" >/dev/null
"$examples/bench_upgrade" "$upg" upgapp 0.1.0 0.1.1 || status=1
upg=""

echo
echo "==> beamrc pack (Mix release)"
"$examples/bench_pack" "$BEAMRC" "$rel" || status=1

exit $status
