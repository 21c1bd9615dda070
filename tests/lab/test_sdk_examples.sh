#!/usr/bin/env bash
# The SDK as a product (no root needed): `cmake --install` into a temporary
# prefix gives the host, the stock plugins, the manifests, the headers and
# the CMake package and the examples; the package refuses an incompatible
# SDK version; both examples, as installed (share/vpnhost/sdk-examples),
# build out of tree against the prefix and pass their own tests
# (which include "the installed vpnhost loads it"); and plugins built with a
# deliberately different ABI tag are refused with one line naming both sides.
source "$(dirname "$0")/lib.sh"
LAB_NAME=sdk_examples

lab_require_tools cmake ninja c++ sha256sum
[ -x "$VPNHOST" ] || fail "vpnhost binary not found at $VPNHOST (set VPNHOST or build first)"

LAB_TMP=$(mktemp -d "/tmp/vh-sdk-examples.XXXXXX")
trap 'rc=$?; [ "$rc" != 0 ] && lab_dump_logs; [ -z "${LAB_KEEP_TMP:-}" ] && rm -rf "$LAB_TMP"; exit $rc' EXIT
PREFIX=$LAB_TMP/prefix
# The examples as installed (share/vpnhost/sdk-examples): what an author
# with only the installed tree copies.
SDK_EXAMPLES=$PREFIX/share/vpnhost/sdk-examples
unset VPNHOST_PLUGIN_PATH

# Out-of-tree builds reuse ccache when there is one; CCACHE_BASEDIR makes the
# temporary paths relative, so a later run hits the cache.
CMAKE_EXTRA=()
if command -v ccache >/dev/null 2>&1; then
  CMAKE_EXTRA+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$LAB_TMP
fi

# configure_and_build NAME SRC BUILD [TARGET] [CMAKE ARGS...]: logs to NAME.log.
configure_and_build() {
  local name=$1 src=$2 build=$3 target=${4:-}
  shift 4
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" "${CMAKE_EXTRA[@]}" "$@" \
    >"$LAB_TMP/$name.log" 2>&1 || fail "$name: cmake configure failed"
  # shellcheck disable=SC2086
  ninja -C "$build" -j2 $target >>"$LAB_TMP/$name.log" 2>&1 || fail "$name: build failed"
}

# sdk_check_fresh_build PREFIX: `cmake --install` copies the SDK headers from
# the source tree but the binaries from the last build. If the headers
# changed since, the installed host was built from other headers than the
# installed SDK and refuses every plugin built against it ("was built with
# ... sdk-<hash>"). Say so plainly instead of failing later.
sdk_check_fresh_build() {
  local prefix=$1 want id
  want=$(grep -o 'VPNSDK_INTERFACE_HASH=\\"[0-9a-f]*\\"' "$prefix/lib/cmake/vpnsdk/vpnsdkTargets.cmake" 2>/dev/null |
    head -n 1 | grep -o '[0-9a-f]\{6,\}')
  [ -n "$want" ] || return 0  # no fingerprint in this SDK: nothing to compare
  # The host's own id: as cipher_xor's when it loads, else from the refusal.
  id=$("$prefix/bin/vpnhost" plugins cipher_xor 2>&1 |
    sed -n -e 's/^ *built with: SDK ABI [0-9.]*, //p' -e "s/.* but this host with '\([^']*\)'.*/\1/p" | head -n 1)
  case $id in
    *"sdk-$want"*) return 0 ;;
    *) fail "stale build: the installed SDK headers have fingerprint sdk-$want but the installed host was built with '$id'; rebuild (ninja -C $LAB_BUILD_DIR) before running this test" ;;
  esac
}

# ------------------------------------------------------------ install ---
log "cmake --install $LAB_BUILD_DIR --prefix $PREFIX"
cmake --install "$LAB_BUILD_DIR" --prefix "$PREFIX" >"$LAB_TMP/install.log" 2>&1 || fail "cmake --install failed"
for f in bin/vpnhost \
  lib/vpnhost/plugins/cipher_xor.so lib/vpnhost/plugins/transport_tcp.so lib/vpnhost/plugins/device_tun.so \
  lib/vpnhost/plugins/router_hub.so lib/vpnhost/plugins/router_client.so lib/vpnhost/plugins/responder_icmp_echo.so \
  include/vpnsdk/sdk.hpp include/vpnsdk/testkit/harness.hpp include/vpnsdk/testkit/rig.hpp \
  include/vpnsdk/testkit/cipher_conformance.hpp include/vpnsdk/testkit/transport_loopback.hpp \
  lib/cmake/vpnsdk/vpnsdkConfig.cmake lib/cmake/vpnsdk/vpnsdkConfigVersion.cmake \
  lib/cmake/vpnsdk/vpnsdkPlugin.cmake lib/cmake/vpnsdk/vpnsdkTargets.cmake \
  share/vpnhost/manifests/server.manifest share/vpnhost/manifests/client.manifest \
  share/vpnhost/sdk-examples/cipher_rot/CMakeLists.txt share/vpnhost/sdk-examples/transport_udp_demo/CMakeLists.txt; do
  [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
log "ok: host, stock plugins, SDK headers + testkit, CMake package, manifests and SDK examples installed"
sdk_check_fresh_build "$PREFIX"
if ls "$PREFIX"/lib/vpnhost/plugins/fixture_* >/dev/null 2>&1; then fail "test fixture plugins were installed"; fi

# The installed host finds its stock plugins next to itself.
"$PREFIX/bin/vpnhost" plugins >"$LAB_TMP/plugins.log" 2>&1 || fail "installed vpnhost plugins failed"
grep -q "^plugin search path: $PREFIX/lib/vpnhost/plugins$" "$LAB_TMP/plugins.log" ||
  fail "installed vpnhost does not search $PREFIX/lib/vpnhost/plugins: $(head -n 1 "$LAB_TMP/plugins.log")"
for p in cipher_xor transport_tcp device_tun router_hub router_client responder_icmp_echo; do
  grep -Eq "^$p +[a-z]+ +[0-9]" "$LAB_TMP/plugins.log" || fail "installed vpnhost plugins does not list $p"
done
log "ok: the installed vpnhost lists the 6 stock plugins from $PREFIX/lib/vpnhost/plugins"
"$PREFIX/bin/vpnhost" keygen "$LAB_TMP/xor.key" >"$LAB_TMP/keygen.log" 2>&1 || fail "keygen"
"$PREFIX/bin/vpnhost" check "$PREFIX/share/vpnhost/manifests/server.manifest" --set "cipher.key_file=$LAB_TMP/xor.key" \
  >"$LAB_TMP/check.log" 2>&1 || fail "installed server manifest does not check: $(cat "$LAB_TMP/check.log")"
log "ok: the installed server manifest checks with the installed plugins"

# ---------------------------------------------------- package version ---
mkdir -p "$LAB_TMP/ver"
cat >"$LAB_TMP/ver/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(version_probe CXX)
find_package(vpnsdk ${WANT} REQUIRED CONFIG)
if(NOT TARGET vpnsdk::sdk OR NOT COMMAND vpnsdk_add_plugin)
  message(FATAL_ERROR "vpnsdk::sdk or vpnsdk_add_plugin() missing")
endif()
message(STATUS "vpnsdk ${vpnsdk_VERSION} found")
EOF
sdk_version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$PREFIX/lib/cmake/vpnsdk/vpnsdkConfigVersion.cmake")
[ -n "$sdk_version" ] || fail "no PACKAGE_VERSION in vpnsdkConfigVersion.cmake"
IFS=. read -r vmaj vmin _ <<<"$sdk_version"
probe() {  # probe WANT: configure the probe project asking for that version
  rm -rf "$LAB_TMP/ver/build"
  cmake -S "$LAB_TMP/ver" -B "$LAB_TMP/ver/build" -DCMAKE_PREFIX_PATH="$PREFIX" -DWANT="$1" >"$LAB_TMP/version-$1.log" 2>&1
}
probe "$vmaj.$vmin" || fail "find_package(vpnsdk $vmaj.$vmin) failed against SDK $sdk_version"
grep -q "vpnsdk $sdk_version found" "$LAB_TMP/version-$vmaj.$vmin.log" || fail "probe did not find vpnsdk $sdk_version"
log "ok: find_package(vpnsdk $vmaj.$vmin) accepts SDK $sdk_version (target vpnsdk::sdk, vpnsdk_add_plugin())"
for want in "$vmaj.$((vmin + 1))" "$((vmaj + 1)).0"; do
  if probe "$want"; then fail "find_package(vpnsdk $want) accepted SDK $sdk_version"; fi
  tr -s ' \n' ' ' <"$LAB_TMP/version-$want.log" | grep -q "compatible with requested version \"$want\"" ||
    fail "find_package(vpnsdk $want): unexpected message: $(grep -m1 -A3 'CMake Error' "$LAB_TMP/version-$want.log")"
  log "ok: find_package(vpnsdk $want) refuses SDK $sdk_version"
done

# ------------------------------------------------ examples, out of tree ---
for ex in cipher_rot transport_udp_demo; do
  log "building the installed sdk-examples/$ex out of tree against $PREFIX"
  configure_and_build "$ex" "$SDK_EXAMPLES/$ex" "$LAB_TMP/$ex" ""
  [ -f "$LAB_TMP/$ex/$ex.so" ] || fail "$ex: no $ex.so built"
  ctest --test-dir "$LAB_TMP/$ex" --output-on-failure >"$LAB_TMP/$ex-ctest.log" 2>&1 || fail "$ex: its own tests failed"
  grep -q "100% tests passed" "$LAB_TMP/$ex-ctest.log" || fail "$ex: ctest did not pass every test"
  grep -q "$ex: vpnhost loads it .* Passed" "$LAB_TMP/$ex-ctest.log" || fail "$ex: the 'vpnhost loads it' test did not run"
  log "ok: $ex: its tests pass ($(grep -Eo '100% tests passed, 0 tests failed out of [0-9]+' "$LAB_TMP/$ex-ctest.log"))"
done

# ---------------------------------------------------- ABI tag refused ---
# host_id: the toolchain id the installed host was built with (the same as
# its stock plugins': `vpnhost plugins NAME` prints "built with: ...").
"$PREFIX/bin/vpnhost" plugins cipher_xor >"$LAB_TMP/xor-detail.log" 2>&1 || fail "vpnhost plugins cipher_xor"
host_id=$(sed -n 's/^ *built with: SDK ABI [0-9.]*, //p' "$LAB_TMP/xor-detail.log")
[ -n "$host_id" ] || fail "no 'built with:' line in vpnhost plugins cipher_xor"
read -r abi_major abi_minor < <(sed -n 's/^ *built with: SDK ABI \([0-9]*\)\.\([0-9]*\),.*/\1 \2/p' "$LAB_TMP/xor-detail.log")

mkdir -p "$LAB_TMP/abi"
cat >"$LAB_TMP/abi/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(abi_mismatch CXX)
find_package(vpnsdk 0.1 REQUIRED CONFIG)
# The example cipher, compiled as C++23: its toolchain id says so.
vpnsdk_add_plugin(cipher_rot $SDK_EXAMPLES/cipher_rot/src/cipher_rot.cpp $SDK_EXAMPLES/cipher_rot/src/rot_frame.cpp)
set_target_properties(cipher_rot PROPERTIES CXX_STANDARD 23 LIBRARY_OUTPUT_DIRECTORY \${CMAKE_BINARY_DIR}/cxx23)
# A descriptor that claims the next SDK ABI major.
vpnsdk_add_plugin(cipher_future future.cpp)
set_target_properties(cipher_future PROPERTIES LIBRARY_OUTPUT_DIRECTORY \${CMAKE_BINARY_DIR}/future)
EOF
cat >"$LAB_TMP/abi/future.cpp" <<'EOF'
#include "vpnsdk/plugin.hpp"
extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {
  static const vpnsdk::PluginDescriptor d{sizeof(vpnsdk::PluginDescriptor), VPNSDK_ABI_MAJOR + 1, 0,
      VPNSDK_TOOLCHAIN_ID, "cipher_future", vpnsdk::Stage::cipher, "9.0.0", "built for the next SDK ABI",
      nullptr, 0, nullptr, nullptr, nullptr, nullptr};
  return &d;
}
EOF
log "building two plugins with a deliberately different ABI tag"
configure_and_build abi "$LAB_TMP/abi" "$LAB_TMP/abi/build" ""

# expect_refused WHAT EXPECTED-TEXT CMD...: exit 1, one error line, containing the text.
expect_refused() {
  local what=$1 want=$2 rc errors
  shift 2
  "$@" >"$LAB_TMP/refused.log" 2>&1
  rc=$?
  assert_eq "$rc" 1 "$what: exit status"
  # A log line ("... error [vpnhost] ...") or, from vpnhost check, "FILE:LINE:COL: error: ...".
  errors=$(grep -cE ' error |: error: ' "$LAB_TMP/refused.log")
  assert_eq "$errors" 1 "$what: error lines"
  grep -qF -- "$want" "$LAB_TMP/refused.log" || fail "$what: expected '$want' in: $(cat "$LAB_TMP/refused.log")"
  log "ok: $what: $(grep -E ' error |: error: ' "$LAB_TMP/refused.log" | sed 's/.*\] //; s/.*: error: //')"
}

so23=$LAB_TMP/abi/build/cxx23/cipher_rot.so
expect_refused "vpnhost plugins cipher_rot (C++23 build)" \
  "$so23 was built with '" \
  "$PREFIX/bin/vpnhost" plugins cipher_rot --plugin-path "$LAB_TMP/abi/build/cxx23"
# Both sides named: the plugin's id (C++23) and the host's.
plugin_id=$(sed -n "s/.* was built with '\([^']*\)', but this host with '.*/\1/p" "$LAB_TMP/refused.log")
grep -qF "', but this host with '$host_id'" "$LAB_TMP/refused.log" ||
  fail "the message does not name the host's toolchain '$host_id': $(cat "$LAB_TMP/refused.log")"
[ -n "$plugin_id" ] && [ "$plugin_id" != "$host_id" ] || fail "the message names no different plugin toolchain"
case $plugin_id in *c++2023*|*c++2021*) ;; *) fail "the plugin's toolchain id '$plugin_id' does not say C++23" ;; esac
log "ok: plugin side '$plugin_id', host side '$host_id'"

sed -e "s#^\[host\]\$#[host]\nplugin_path = [\"$LAB_TMP/abi/build/cxx23\"]#" \
  -e 's/^plugin = "cipher_xor".*/plugin = "cipher_rot"/' -e '/^key_file = /d' \
  "$PREFIX/share/vpnhost/manifests/server.manifest" >"$LAB_TMP/abi/server-cxx23.manifest"
expect_refused "vpnhost check (manifest naming the C++23 build)" \
  "was built with '$plugin_id', but this host with '$host_id'" \
  "$PREFIX/bin/vpnhost" check "$LAB_TMP/abi/server-cxx23.manifest"

expect_refused "vpnhost plugins cipher_future (ABI major + 1)" \
  "$LAB_TMP/abi/build/future/cipher_future.so was built for SDK ABI $((abi_major + 1)).0, but this host has SDK ABI $abi_major.$abi_minor" \
  "$PREFIX/bin/vpnhost" plugins cipher_future --plugin-path "$LAB_TMP/abi/build/future"

log "PASS"
