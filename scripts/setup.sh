#!/usr/bin/env bash
# Installs what building, the demo and the tests need: Debian's Erlang/OTP, Elixir and
# rebar3, and the musl target for the static build. Idempotent; quiet when all is there.
set -euo pipefail
need=()
for pkg in erlang-nox erlang-dev elixir rebar3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
command -v unshare >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -q x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 || echo "setup: musl target unavailable; static builds will use glibc +crt-static"
fi
