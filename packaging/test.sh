#!/usr/bin/env bash
# Builds the Debian packages in a scratch build directory and checks them:
# contents (dpkg-deb -c), conffiles, dependencies, lintian (no errors; when
# installed), the unpacked tree runs (vpnhost --version, plugins, check), the
# unit passes `systemd-analyze verify`, and an example plugin builds against
# the unpacked vpnhost-dev and loads into the unpacked host. Nothing is
# installed on this machine.
#   bash packaging/test.sh [BUILD_DIR]     (default /tmp/vpnhost-pkg)
# ctest runs it as "packaging: deb" with BUILD_DIR = <build dir>-pkg, a
# sibling of the main build: with ccache, CCACHE_BASEDIR=<source dir> and
# CCACHE_NOHASHDIR=1 (scripts/test.sh sets them for the main build too)
# its compiler calls are the main build's, so they come from the cache.
# Logs: BUILD_DIR/log/. Under CI, lintian and systemd-analyze must exist.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-/tmp/vpnhost-pkg}
x=$build/unpacked
logs=$build/log
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
need() {  # need TOOL: present, or (outside CI) skip that check
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "${CI:-}" ] && fail "$1 is not installed (CI is set: every check must run; scripts/install-deps.sh installs it)"
  echo "($1 not installed: that check is skipped)"
  return 1
}
mkdir -p "$logs"
t0=$SECONDS

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src" -B "$build" -G Ninja -DVPNHOST_PACKAGE=ON -DVPNHOST_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr "${launcher[@]}" >"$logs/configure.log" 2>&1 ||
  { tail -n 20 "$logs/configure.log"; fail "configure"; }
ninja -C "$build" -j2 >"$logs/build.log" 2>&1 || { tail -n 30 "$logs/build.log"; fail "build"; }
ok "build: $(grep -c 'Building CXX' "$logs/build.log" || true) compiler calls in $((SECONDS - t0)) s"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >"$logs/cpack.log" 2>&1) || { cat "$logs/cpack.log"; fail "cpack -G DEB"; }
version=$(sed -n 's/^project(vpnhost VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
main=$build/vpnhost_${version}-1_${arch}.deb
dev=$build/vpnhost-dev_${version}-1_${arch}.deb
[ -f "$main" ] && [ -f "$dev" ] || fail "expected $main and $dev; cpack made: $(ls "$build"/*.deb)"
ok "cpack -G DEB: $(basename "$main"), $(basename "$dev")"

contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's#^\./#/#'; }
has() {  # has DEB PATH...
  local deb=$1 p
  shift
  for p in "$@"; do contents "$deb" | grep -qx "$p" || fail "$(basename "$deb") lacks $p"; done
}
lacks() {  # lacks DEB REGEX
  if contents "$1" | grep -Eq "$2"; then fail "$(basename "$1") has $(contents "$1" | grep -E "$2" | head -n 3)"; fi
}
has "$main" /usr/bin/vpnhost /usr/lib/vpnhost/plugins/transport_tcp.so /usr/lib/vpnhost/plugins/cipher_xor.so \
  /usr/lib/vpnhost/plugins/cipher_noise.so /usr/lib/vpnhost/plugins/device_tun.so /usr/lib/vpnhost/plugins/router_hub.so \
  /usr/lib/vpnhost/plugins/router_client.so /usr/lib/vpnhost/plugins/responder_icmp_echo.so \
  /etc/vpnhost/server.manifest /etc/vpnhost/client.manifest /lib/systemd/system/vpnhost@.service \
  /usr/share/man/man8/vpnhost.8.gz /usr/share/bash-completion/completions/vpnhost \
  /usr/share/doc/vpnhost/copyright /usr/share/doc/vpnhost/changelog.Debian.gz /usr/share/doc/vpnhost/operations.md \
  /usr/share/vpnhost/scripts/vpnhost-resolv /usr/lib/sysusers.d/vpnhost.conf
lacks "$main" '^/usr/include|/cmake/|sdk-examples'
has "$dev" /usr/include/vpnsdk/sdk.hpp "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/cmake/vpnsdk/vpnsdkConfig.cmake" \
  /usr/share/vpnhost/sdk-examples/README.md /usr/share/doc/vpnhost-dev/copyright
lacks "$dev" '^/usr/bin|^/etc|\.so$'
ok "contents: host, plugins, manifests, unit, man page, completion, docs in vpnhost; the SDK in vpnhost-dev only"

conffiles=$(dpkg-deb -I "$main" conffiles)
for m in "$src"/manifests/*.manifest; do
  echo "$conffiles" | grep -qx "/etc/vpnhost/$(basename "$m")" || fail "conffiles lacks /etc/vpnhost/$(basename "$m")"
done
ok "conffiles: $(echo "$conffiles" | tr '\n' ' ')"
dpkg-deb -I "$main" postinst | grep -q "systemd-sysusers vpnhost.conf" || fail "postinst does not create the vpnhost user"
ok "postinst creates the system user vpnhost"
depends=$(dpkg-deb -f "$main" Depends)
for lib in libsodium23 libspdlog1.10 libtomlplusplus3 libsystemd0 libstdc++6; do
  echo "$depends" | grep -q "$lib" || fail "vpnhost Depends lacks $lib: $depends"
done
dpkg-deb -f "$dev" Depends | grep -q "vpnhost (= ${version}-1)" || fail "vpnhost-dev does not depend on vpnhost (= ${version}-1)"
ok "Depends: $depends"

if need lintian; then
  lintian "$main" "$dev" >"$logs/lintian.log" 2>&1 || true
  sed 's/^/    /' "$logs/lintian.log"
  grep -q '^E:' "$logs/lintian.log" && fail "lintian reports errors"
  ok "lintian: no errors"
fi

rm -rf "$x" && mkdir -p "$x"
dpkg-deb -x "$main" "$x"
dpkg-deb -x "$dev" "$x"
[ "$("$x/usr/bin/vpnhost" --version)" = "vpnhost $version" ] || fail "unpacked vpnhost --version"
"$x/usr/bin/vpnhost" plugins >"$logs/plugins.log" 2>&1 || { cat "$logs/plugins.log"; fail "unpacked vpnhost plugins"; }
[ "$(grep -c "file: $x/usr/lib/vpnhost/plugins/" "$logs/plugins.log")" -ge 7 ] || fail "unpacked host does not find its plugins"
key=$build/xor.key
rm -f "$key" && "$x/usr/bin/vpnhost" keygen "$key" >/dev/null 2>&1
for m in server client; do
  "$x/usr/bin/vpnhost" check "$x/etc/vpnhost/$m.manifest" --set "cipher.key_file=$key" >/dev/null 2>"$logs/check.log" ||
    { cat "$logs/check.log"; fail "vpnhost check /etc/vpnhost/$m.manifest (unpacked)"; }
done
grep -q '"/usr/share/vpnhost/scripts/vpnhost-resolv"' "$x/etc/vpnhost/client-route-all.manifest" ||
  fail "/etc/vpnhost/client-route-all.manifest does not name the installed DNS script"
ok "unpacked tree: --version, plugins (7+ found), check of /etc/vpnhost/{server,client}.manifest"

unit=$x/lib/systemd/system/vpnhost@.service
for line in Type=notify NotifyAccess=main 'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure \
  'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE'; do
  grep -qxF -- "$line" "$unit" || fail "vpnhost@.service lacks '$line'"
done
ok "unit: Type=notify, NotifyAccess=main, ExecReload, Restart=on-failure, capabilities"
if need systemd-analyze; then
  # In a private mount namespace, the unpacked /usr lies over the real one,
  # so the unit's /usr/bin/vpnhost and its man page exist for the check.
  mkdir -p "$build/units"
  cp "$x/lib/systemd/system/vpnhost@.service" "$build/units/vpnhost@server.service"
  unshare -m --propagation private bash -c '
    mount -t overlay overlay -o lowerdir="$1/usr:/usr" /usr || exit 2
    out=$(systemd-analyze verify "$2" 2>&1) || { echo "$out"; exit 1; }
    [ -z "$out" ] || { echo "$out"; exit 1; }
    # the manifest whose DNS hook lives in /usr/share/vpnhost/scripts
    /usr/bin/vpnhost check "$1/etc/vpnhost/client-route-all.manifest" --set "cipher.key_file=$3" >/dev/null' \
    verify "$x" "$build/units/vpnhost@server.service" "$key" \
    >"$logs/verify.log" 2>&1 || { cat "$logs/verify.log"; fail "systemd-analyze verify"; }
  ok "systemd-analyze verify vpnhost@.service: no complaints; /etc/vpnhost/client-route-all.manifest checks with /usr in place"
fi

# An out-of-tree plugin against the unpacked SDK, loaded by the unpacked host.
ex=$build/example
rm -rf "$ex"
cmake -S "$x/usr/share/vpnhost/sdk-examples/cipher_rot" -B "$ex" -G Ninja -DCMAKE_PREFIX_PATH="$x/usr" \
  >"$logs/example.log" 2>&1 && ninja -C "$ex" >>"$logs/example.log" 2>&1 ||
  { tail -n 30 "$logs/example.log"; fail "building the cipher_rot example against vpnhost-dev"; }
so=$(find "$ex" -name 'cipher_rot.so' | head -n 1)
[ -n "$so" ] || fail "no cipher_rot.so built"
"$x/usr/bin/vpnhost" plugins cipher_rot --plugin-path "$(dirname "$so")" >"$logs/rot.log" 2>&1 ||
  { cat "$logs/rot.log"; fail "the unpacked host cannot load cipher_rot"; }
ok "cipher_rot example built with the unpacked vpnhost-dev loads into the unpacked host"
echo "packaging: all checks passed in $((SECONDS - t0)) s"
