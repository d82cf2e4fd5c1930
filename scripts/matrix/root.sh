#!/usr/bin/env bash
# Builds (once) and caches a Debian root for the version matrix:
#   scripts/matrix/root.sh SUITE      # prints the root's directory
# The root is `debootstrap --variant=minbase SUITE` plus Debian's Erlang/OTP, Elixir and rebar3
# (and gcc, which the check tests' NIF fixtures compile with),
# cached in $BEAMRC_MATRIX_CACHE/SUITE (default /var/cache/beamrc-matrix). It is built in a
# temp dir next to it and renamed into place, so an interrupted build never leaves a root that
# looks complete. The root has no /etc/hosts (what debootstrap leaves); scripts/matrix/run.sh
# copies the host's in for the ordinary run. Needs root (debootstrap, chroot, mount).
#   scripts/matrix/root.sh --cached SUITE   # prints it if cached, else exits 1 (builds nothing)
set -euo pipefail
cached_only=""
if [ "${1:-}" = --cached ]; then cached_only=1; shift; fi
suite=${1:?usage: scripts/matrix/root.sh [--cached] SUITE}
case $suite in *[!a-z0-9-]*|'') echo "ERROR: bad suite name '$suite'" >&2; exit 2;; esac
cache=${BEAMRC_MATRIX_CACHE:-/var/cache/beamrc-matrix}
# Bump when the recipe below changes: older roots are then rebuilt.
recipe=beamrc-matrix-root-v2
root=$cache/$suite
if [ -f "$root/.beamrc-matrix/$recipe" ]; then
  echo "$root"
  exit 0
fi
[ -z "$cached_only" ] || exit 1
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$suite.XXXXXX")
chmod 755 "$tmp"   # it becomes `/` of the root: everyone must traverse it
mounted=""
cleanup() {
  status=$?
  [ -n "$mounted" ] && umount "$tmp/proc" 2>/dev/null || true
  if [ $status -ne 0 ]; then
    # Never remove a tree with something still mounted inside it.
    if grep -q " $tmp/" /proc/self/mounts; then
      echo "root.sh: mounts left under $tmp; not removing it" >&2
    else
      rm -rf "$tmp"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log=$cache/.build-$suite.log
echo "matrix: building the $suite root in $tmp (log: $log)" >&2
started=$SECONDS
# No mirror argument: debootstrap's default is the one these machines reach.
debootstrap --variant=minbase "$suite" "$tmp" >"$log" 2>&1 || {
  tail -n 20 "$log" >&2; echo "ERROR: debootstrap $suite failed (log: $log)" >&2; exit 1; }
apt_opts=(-o Acquire::Retries=3)
# sid's Release file can be past its Valid-Until date on these machines.
[ "$suite" = sid ] && apt_opts+=(-o Acquire::Check-Valid-Until=false)
mount -t proc proc "$tmp/proc"; mounted=1
in_root() { chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive HOME=/root "$@"; }
{ in_root apt-get "${apt_opts[@]}" update -qq &&
  in_root apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
    erlang-nox erlang-dev elixir rebar3 gcc libc6-dev &&
  in_root apt-get clean; } >>"$log" 2>&1 || {
  tail -n 20 "$log" >&2; echo "ERROR: installing Erlang/Elixir in the $suite root failed (log: $log)" >&2; exit 1; }
for tool in erl elixir mix rebar3 epmd unshare script runuser gcc; do
  in_root sh -c "command -v $tool" >/dev/null || { echo "ERROR: $tool missing in the $suite root" >&2; exit 1; }
done
umount "$tmp/proc"; mounted=""
rm -f "$tmp/etc/hosts"
mkdir -p "$tmp/.beamrc-matrix"
in_root sh -c 'dpkg-query -W -f="\${Package} \${Version}\n" erlang-base elixir rebar3' \
  >"$tmp/.beamrc-matrix/versions"
touch "$tmp/.beamrc-matrix/$recipe"
# A stale or half-renamed root without the marker is replaced.
if [ -e "$root" ]; then
  if grep -q " $root/" /proc/self/mounts; then
    echo "ERROR: $root has mounts; unmount them first" >&2; exit 1
  fi
  rm -rf "$root"
fi
mv -T "$tmp" "$root"
echo "matrix: $suite root ready in $((SECONDS - started)) s: $(tr '\n' ' ' <"$root/.beamrc-matrix/versions")" >&2
echo "$root"
