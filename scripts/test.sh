#!/usr/bin/env bash
# All tests, with their own set-up: installs what is missing (scripts/setup.sh), then runs
# formatting, clippy (host and musl target), the unit tests, and the integration tests
# (`cargo test --test launcher`, against real releases) on each root of the version matrix:
#
#   host    Debian 12 (this machine)   OTP 25  Elixir 1.14  rebar3 3.19
#   trixie  Debian 13 chroot           OTP 27  Elixir 1.18  rebar3 3.24
#   sid     Debian sid chroot          OTP 29  Elixir 1.20  rebar3 3.28
#
# BEAMRC_MATRIX=host|trixie|sid|all, or a comma list (`host,sid`); default all. The chroots
# need root (debootstrap, chroot, mount); they are built once and cached in
# /var/cache/beamrc-matrix/SUITE (BEAMRC_MATRIX_CACHE; delete a directory to rebuild it).
# beamrc is built static (musl) and the test executables on the host; inside a chroot they run
# with that root's erl/mix/rebar3 (scripts/matrix/run.sh). In each chroot the
# `no_etc_hosts` test also runs, with /etc/hosts removed.
# BEAMRC_TEST_THREADS (default 2) is the test threads per run.
# Every step runs even when an earlier one failed (unless it needs its output); the summary at
# the end lists each step's result and time; the exit status is 1 when any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="$HOME/.cargo/bin:$PATH"   # rustup's cargo, also when setup.sh just installed it
threads=${BEAMRC_TEST_THREADS:-2}
musl=x86_64-unknown-linux-musl

matrix=${BEAMRC_MATRIX:-all}
roots=()
IFS=, read -r -a wanted <<<"$matrix"
for r in "${wanted[@]}"; do
  case $r in
    all) roots+=(host trixie sid) ;;
    host|trixie|sid) roots+=("$r") ;;
    *) echo "ERROR: BEAMRC_MATRIX=$matrix: expected host, trixie, sid, all or a comma list of them" >&2; exit 2 ;;
  esac
done
chroots=()
for r in "${roots[@]}"; do [ "$r" = host ] || chroots+=("$r"); done
if [ ${#chroots[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: the ${chroots[*]} root(s) need root (debootstrap, chroot, mount): run as root, or BEAMRC_MATRIX=host" >&2
  exit 2
fi
setup_matrix=host
[ ${#chroots[@]} -gt 0 ] && setup_matrix=all
BEAMRC_MATRIX=$setup_matrix scripts/setup.sh

logs=$(mktemp -d /tmp/beamrc-test.XXXXXX)
builders=()        # "suite:pid" of background root builds
cleanup() {
  local b
  for b in "${builders[@]}"; do
    # Each builder is its own process group (setsid): stop it with everything it started.
    kill -TERM -- "-${b#*:}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Roots that are not cached yet are built in the background (mostly download and unpack)
# while the host compiles.
for suite in "${chroots[@]}"; do
  if ! scripts/matrix/root.sh --cached "$suite" >/dev/null; then
    setsid scripts/matrix/root.sh "$suite" >"$logs/root-$suite.log" 2>&1 &
    builders+=("$suite:$!")
  fi
done

results=()
failed=0
started_all=$SECONDS
# step NAME CMD...: runs CMD, records "NAME | ok/FAILED | seconds".
step() {
  local name=$1 t=$SECONDS status=0
  shift
  echo "==> $name"
  "$@" || status=$?
  if [ $status -eq 0 ]; then
    results+=("$name|ok|$((SECONDS - t))")
  else
    results+=("$name|FAILED (exit $status)|$((SECONDS - t))")
    failed=1
  fi
  return $status
}

step "fmt" cargo fmt --all -- --check || true
step "clippy (host)" cargo clippy --all-targets --locked -- -D warnings || true
step "clippy ($musl)" cargo clippy --all-targets --locked --target $musl -- -D warnings || true
step "unit tests (host)" cargo test --locked --lib --bins -- --test-threads="$threads" || true

build_tests() {
  cargo build --locked --target $musl --bin beamrc &&
    cargo test --locked --no-run --message-format=json >"$logs/build.json"
}
launcher=""
if step "build (static beamrc, test executables)" build_tests; then
  # The integration-test executable (target `launcher`) from cargo's JSON messages.
  launcher=$(grep '"name":"launcher","src_path"' "$logs/build.json" |
    grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n 1)
fi
beamrc_static=$(readlink -f "${CARGO_TARGET_DIR:-target}")/$musl/debug/beamrc
if [ -z "$launcher" ] || [ ! -x "$launcher" ] || [ ! -x "$beamrc_static" ]; then
  echo "ERROR: the test executable or the static beamrc was not built; no integration tests run" >&2
  failed=1
  roots=()
fi
export BEAMRC_TEST_BIN=$beamrc_static

versions() {       # versions ROOT_DIR → "OTP 27.3.4.1, Elixir 1.18.3, rebar3 3.24.0"
  local file=$1/.beamrc-matrix/versions
  if [ "$1" = / ]; then
    file=$logs/host-versions
    dpkg-query -W -f='${Package} ${Version}\n' erlang-base elixir rebar3 >"$file"
  fi
  # Debian versions such as 1:27.3.4.1+dfsg-1+deb13u4 or 1.18.3.dfsg-1 → 27.3.4.1, 1.18.3.
  local pkg label out=""
  for pkg in erlang-base elixir rebar3; do
    case $pkg in erlang-base) label=OTP ;; elixir) label=Elixir ;; *) label=rebar3 ;; esac
    out+="${out:+, }$label $(sed -nE "s/^$pkg ([0-9]+:)?([0-9.]*[0-9]).*/\2/p" "$file" | sed 's/\.$//')"
  done
  echo "$out"
}

for suite in "${roots[@]}"; do
  if [ "$suite" = host ]; then
    step "integration: host ($(versions /))" \
      "$launcher" --test-threads="$threads" || true
    continue
  fi
  left=()
  for b in "${builders[@]}"; do
    if [ "${b%%:*}" = "$suite" ]; then
      echo "==> waiting for the $suite root (built in the background; log $logs/root-$suite.log)"
      wait "${b#*:}" || true
    else
      left+=("$b")
    fi
  done
  builders=("${left[@]}")
  if ! dir=$(scripts/matrix/root.sh "$suite" 2>>"$logs/root-$suite.log"); then
    cat "$logs/root-$suite.log" >&2
    results+=("integration: $suite|FAILED (root not built)|0")
    failed=1
    continue
  fi
  step "integration: $suite ($(versions "$dir"))" \
    scripts/matrix/run.sh "$dir" "$launcher" --test-threads="$threads" || true
  step "no /etc/hosts: $suite (daemon, ping, rpc, pid)" \
    scripts/matrix/run.sh --no-hosts "$dir" "$launcher" --ignored no_etc_hosts || true
done

echo
echo "==> summary (BEAMRC_MATRIX=$matrix, total $((SECONDS - started_all)) s)"
for r in "${results[@]}"; do
  IFS='|' read -r name result secs <<<"$r"
  printf '  %-78s %-18s %5s s\n' "$name" "$result" "$secs"
done
rm -rf "$logs"
exit $failed
