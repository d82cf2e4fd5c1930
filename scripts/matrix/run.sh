#!/usr/bin/env bash
# Runs a host-built program (the integration-test executable) inside a matrix root, with that
# root's Erlang/OTP, Elixir and rebar3 on PATH:
#   scripts/matrix/run.sh [--no-hosts] ROOT_DIR PROGRAM [ARGS...]
#
# * Isolation: the run happens in its own mount and PID namespaces (`unshare --mount --pid`).
#   Every mount below is private to the run and vanishes with it, and when the run ends every
#   process still in it (a daemon a test left behind) is killed, even if this script is killed.
# * Mounts: the root onto itself (inside the chroot `/` is then a mount point, which the tests'
#   own `unshare --mount-proc` needs), proc (of the run's PID namespace), /dev, /dev/pts
#   (run_erl needs ptys), and the checkout and the cargo target dir at their host paths, so
#   compile-time paths such as CARGO_BIN_EXE_beamrc resolve inside the root.
# * Files: the root's /tmp is emptied before and after the run; fixtures are built by the
#   root's Elixir into a cache inside the root (/var/cache/beamrc-fixtures), on the same mount
#   as /tmp so the tests' hard-linked copies work. The host's /etc/hosts is copied in for the
#   run and removed afterwards; with --no-hosts the root has none (as debootstrap leaves it).
# * One run per root at a time (a lock in the root).
set -euo pipefail
usage="usage: scripts/matrix/run.sh [--no-hosts] ROOT_DIR PROGRAM [ARGS...]"
if [ "${1:-}" = --inner ]; then
  shift
  inner=1
else
  inner=""
fi
hosts=1
if [ "${1:-}" = --no-hosts ]; then hosts=""; shift; fi
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
root=$(readlink -f "$1")
shift
[ -d "$root/.beamrc-matrix" ] || {
  echo "ERROR: $root is not a matrix root (scripts/matrix/root.sh SUITE builds one)" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/../.." && pwd -P)
target=$(readlink -f "${CARGO_TARGET_DIR:-$repo/target}")

if [ -z "$inner" ]; then
  exec 9>"$root/.beamrc-matrix/lock"
  # Wait a little: a finished run releases the lock only once its last process is gone.
  flock -w 60 9 || { echo "ERROR: another matrix run is using $root (waited 60 s)" >&2; exit 1; }
  # --kill-child: if unshare itself is killed, the run's PID 1 (and so the whole run) dies too.
  flags=(--inner)
  [ -z "$hosts" ] && flags+=(--no-hosts)
  exec unshare --mount --propagation private --pid --fork --kill-child \
    "$BASH" "$0" "${flags[@]}" "$root" "$@"
fi

# --- inside the run's namespaces: this shell is PID 1 ---
hosts_copied=""
in_run() {         # PIDs of the run's processes other than this shell and its subshells
  local p
  for p in "$root"/proc/[0-9]*; do
    [ -e "$p" ] || continue
    p=${p##*/}
    [ "$p" = 1 ] || [ "$p" = "$BASHPID" ] || [ "$(readlink "$root/proc/$p/exe" 2>/dev/null)" = "$BASH" ] ||
      echo "$p"
  done
  return 0
}
cleanup() {
  local status=$? pids round left=""
  trap - EXIT INT TERM
  trap '' PIPE   # a closed stdout must not stop the cleanup half-way
  if mountpoint -q "$root/proc"; then
    for round in TERM KILL; do
      pids=$(in_run)
      [ -z "$pids" ] && break
      [ "$round" = TERM ] && { echo "matrix: stopping processes left by the run: $(echo $pids)" >&2 || true; }
      # shellcheck disable=SC2086
      kill -s "$round" $pids 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(in_run)" ] && break; sleep 0.2; done
    done
    left=$(in_run)
  fi
  [ -n "$hosts_copied" ] && rm -f "$root/etc/hosts"
  # The mounts are private to this namespace and go with it; unmount anyway, innermost first.
  umount -R "$root" 2>/dev/null || true
  # Empty the root's /tmp only once nothing is mounted in the root any more: a checkout that
  # lives under /tmp is bind-mounted at the same path, i.e. inside the root's /tmp.
  if [ -z "$left" ] && ! grep -q " $root/" /proc/self/mounts; then
    find "$root/tmp" -xdev -mindepth 1 -delete
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Before anything is mounted into it (see cleanup).
find "$root/tmp" -xdev -mindepth 1 -delete
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mkdir -p "$root/dev/pts"
mount --bind /dev/pts "$root/dev/pts"
bind_same_path() {
  local dir=$1
  case "$dir/" in "$repo/"?*) return 0;; esac   # inside the checkout: already there
  mkdir -p "$root$dir"
  mount --bind "$dir" "$root$dir"
}
mkdir -p "$target"
bind_same_path "$repo"
bind_same_path "$target"
for extra in ${BEAMRC_MATRIX_BIND:-}; do bind_same_path "$(readlink -f "$extra")"; done
if [ -n "$hosts" ]; then
  cp /etc/hosts "$root/etc/hosts"
  hosts_copied=1
else
  rm -f "$root/etc/hosts"
fi

# Only what the tests need crosses into the root.
env_pass=(PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 HOME=/root TMPDIR=/tmp
  USER=root TERM=dumb
  "BEAMRC_FIXTURE_CACHE=${BEAMRC_MATRIX_FIXTURE_CACHE:-/var/cache/beamrc-fixtures}"
  # The root has no Rust toolchain: tests that ask cargo for an example get the host's build.
  "CARGO=$repo/scripts/matrix/cargo-in-root")
for var in BEAMRC_TEST_BIN RUST_BACKTRACE RUST_TEST_THREADS CARGO_TARGET_DIR; do
  if [ -n "${!var:-}" ]; then env_pass+=("$var=${!var}"); fi
done
status=0
chroot "$root" /usr/bin/env -i "${env_pass[@]}" /bin/sh -c 'cd "$1" && shift && exec "$@"' \
  sh "$repo" "$@" </dev/null || status=$?
exit "$status"
