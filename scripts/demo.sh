#!/usr/bin/env bash
# The demo: build beamrc, build a real Elixir release, install beamrc into it, start it as
# a daemon, talk to it, stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building beamrc"
cargo build --release --locked -q
BEAMRC="$PWD/target/release/beamrc"

work=$(mktemp -d)
# A private epmd, so the demo neither needs nor leaves one on the default port.
export ERL_EPMD_PORT=$((20000 + RANDOM % 20000))
epmd -port "$ERL_EPMD_PORT" & epmd_pid=$!
trap 'kill "$epmd_pid" 2>/dev/null; rm -rf "$work"' EXIT
echo "==> building a release with mix (in $work)"
( cd "$work" && mix new hello --sup >/dev/null
  cd hello
  cat > lib/hello.ex <<'EX'
defmodule Hello do
  def greet(who), do: IO.puts("hello, #{who}! (from #{node()})")
end
EX
  MIX_ENV=prod mix release --quiet >/dev/null )
rel="$work/hello/_build/prod/rel/hello"

echo "==> beamrc install"
"$BEAMRC" install "$rel"
chmod 400 "$rel/releases/COOKIE"   # Mix writes it world-readable; beamrc warns about that
cd "$rel"
step() { echo; echo "\$ $*"; "$@"; }
step bin/hello version
step bin/hello eval 'IO.puts("1 + 1 = #{1 + 1}")'
step bin/hello daemon
for _ in $(seq 1 100); do bin/hello ping >/dev/null 2>&1 && break; sleep 0.1; done
step bin/hello ping
step bin/hello status
step bin/hello rpc 'Hello.greet("world")'
step bin/hello pid
echo; echo "==> the same pid through the original script (boots a hidden VM):"
step bin/hello.sh pid
step bin/hello restart
step bin/hello stop
step bin/hello status || echo "(exit $? : not running)"
echo; echo "demo done"
