#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test
# (unit + network-namespace lab tests) in a normal build and again in an
# AddressSanitizer+UBSan build. Needs root for the lab tests; under CI=true
# a lab test that cannot run fails instead of skipping.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)

bash scripts/install-deps.sh
# The "packaging: deb" test builds again in build-pkg: with the same ccache
# settings as here (build.sh sets CCACHE_BASEDIR) its compiler calls hit the
# cache instead of compiling everything twice.
export CCACHE_NOHASHDIR=1

echo "=== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "=== tests (RelWithDebInfo)"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600)

echo "=== build (ASan+UBSan)"
bash scripts/build.sh build-asan -DVPNHOST_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "=== tests (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The SDK packaging tests (install + out-of-tree builds) and the Debian
# package test ran above; they test packaging, not memory safety, and are
# the slowest: not twice.
(cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 900 -E '^lab: sdk_|^packaging: ')
bash scripts/fuzz.sh

leftover=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^vh' || true)
if [ -n "$leftover" ]; then
  echo "test.sh: network namespaces left behind: $leftover" >&2
  exit 1
fi
echo "=== all tests passed (normal and sanitizer builds)"
