#!/usr/bin/env bash
# Installs what building, the demo and the tests need on Debian 12, and only what is missing:
# Debian's Erlang/OTP, Elixir and rebar3, a C toolchain for linking, util-linux (unshare),
# debootstrap when the version matrix needs chroots (scripts/test.sh passes BEAMRC_MATRIX; the
# default here is `host`, for the demo and the bench), Rust
# (rustup, if there is no cargo) with rustfmt and clippy, and the musl target for the static
# build. One `apt-get update` at most; quiet when everything is there. Never prompts.
set -euo pipefail
matrix=${BEAMRC_MATRIX:-host}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for pkg in erlang-nox erlang-dev elixir rebar3; do
  installed "$pkg" || need+=("$pkg")
done
command -v unshare >/dev/null || need+=(util-linux)
command -v cc >/dev/null || need+=(gcc libc6-dev)
[ "$matrix" = host ] || command -v debootstrap >/dev/null || need+=(debootstrap)
if ! command -v cargo >/dev/null && ! [ -x "$HOME/.cargo/bin/cargo" ]; then
  command -v curl >/dev/null || need+=(curl ca-certificates)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Rust: Debian 12's cargo is too old for this crate (edition 2024, rust-version 1.85), so a
# machine without cargo gets rustup's minimal profile.
if ! command -v cargo >/dev/null && ! [ -x "$HOME/.cargo/bin/cargo" ]; then
  echo "setup: installing Rust with rustup (minimal profile)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
    sh -s -- -y -q --profile minimal --no-modify-path >/dev/null
fi
if command -v rustup >/dev/null || [ -x "$HOME/.cargo/bin/rustup" ]; then
  rustup=$(command -v rustup || echo "$HOME/.cargo/bin/rustup")
  for component in rustfmt clippy; do
    "$rustup" component list --installed 2>/dev/null | grep -q "^$component" ||
      "$rustup" component add "$component" >/dev/null 2>&1 ||
      echo "setup: WARNING: could not add the $component component"
  done
  "$rustup" target list --installed | grep -q x86_64-unknown-linux-musl ||
    "$rustup" target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
    echo "setup: WARNING: musl target unavailable; static builds will use glibc +crt-static"
fi
