#!/usr/bin/env bash
# Configures and builds vpnhost. Usage: scripts/build.sh [DIR] [extra cmake args...]
#   scripts/build.sh                          -> build/ (RelWithDebInfo)
#   scripts/build.sh build-asan -DVPNHOST_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
shift || true
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac
export CCACHE_BASEDIR="$root"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
ninja -C "$dir" -j"$(nproc)"
