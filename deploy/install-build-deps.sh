#!/usr/bin/env bash
# Installs the Debian 12 packages Vínculo needs to build and test, skipping those already present.
# Runs apt-get directly as root, through sudo otherwise. Safe to run again: it does nothing when
# everything is installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev            # Asio C++20 coroutines need 1.81 with g++ 12 (1.74 does not compile)
  libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3
  libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev
  jq                          # bench/run.sh joins the benchmarks' JSON
  zlib1g-dev libzstd-dev
  systemd                     # systemd-analyze verify checks deploy/systemd/ (not in a bare container)
)
# For `make fuzz` (tests/fuzz/run.sh): clang, and its sanitizer and libFuzzer runtimes, which
# clang only recommends (and --no-install-recommends below would leave out).
if [ "${VINCULO_WITH_FUZZ:-0}" = 1 ]; then packages+=(clang libclang-rt-14-dev); fi
# The web dashboard's browser test (tests/web): Debian's Chromium, driven from Node.js. Node.js and
# npm come from Debian unless a Node.js is already installed (a NodeSource build carries its own npm
# and conflicts with Debian's npm package).
packages+=(chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
