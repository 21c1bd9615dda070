#!/usr/bin/env bash
# Out-of-tree plugin in a real lab, and swapping a stage by manifest only:
#  1. install vpnhost into a temporary prefix and hash the installed binary;
#  2. build sdk/examples/cipher_rot out of tree against that prefix (its
#     build directory is the plugin path; nothing is copied into the prefix);
#  3. server + 2 clients run the INSTALLED vpnhost with manifests that differ
#     from the installed stock ones only in [cipher] (cipher_rot) and
#     [host] plugin_path: pings to 10.10.0.1 and client<->client work, and
#     the traffic went through cipher_rot (its counters);
#  4. the same installed host runs again with the stock manifests
#     (cipher_xor), no build step in between: the pings work again;
#  5. and once more with [transport] swapped for the out-of-tree
#     sdk/examples/transport_udp_demo (built with cipher_rot in step 2);
#  6. the installed binary's hash is unchanged.
source "$(dirname "$0")/lib.sh"
lab_init sdk_install
lab_require_tools cmake ninja c++ sha256sum

PREFIX=$LAB_TMP/prefix
unset VPNHOST_PLUGIN_PATH

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

# ------------------------------------------------- install + build ---
log "cmake --install $LAB_BUILD_DIR --prefix $PREFIX"
cmake --install "$LAB_BUILD_DIR" --prefix "$PREFIX" >"$LAB_TMP/install.log" 2>&1 || fail "cmake --install failed"
VPNHOST=$PREFIX/bin/vpnhost  # every start below (and lib.sh's) uses the installed host
[ -x "$VPNHOST" ] || fail "no $VPNHOST after install"
hash_before=$(sha256sum "$VPNHOST" | cut -d' ' -f1)
sdk_check_fresh_build "$PREFIX"
log "installed vpnhost sha256 $hash_before"

cmake_extra=()
if command -v ccache >/dev/null 2>&1; then
  cmake_extra+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$LAB_TMP  # temporary paths become relative: later runs hit the cache
fi
build_example() {  # build_example NAME DIR: sdk/examples/NAME -> $LAB_TMP/DIR/NAME.so
  log "building sdk/examples/$1 out of tree against $PREFIX"
  cmake -S "$LAB_SOURCE_DIR/sdk/examples/$1" -B "$LAB_TMP/$2" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DBUILD_TESTING=OFF "${cmake_extra[@]}" >"$LAB_TMP/build-$1.log" 2>&1 || fail "$1: configure failed"
  ninja -C "$LAB_TMP/$2" -j2 "$1" >>"$LAB_TMP/build-$1.log" 2>&1 || fail "$1: build failed"
  [ -f "$LAB_TMP/$2/$1.so" ] || fail "no $1.so"
  [ ! -e "$PREFIX/lib/vpnhost/plugins/$1.so" ] || fail "$1.so must not be in the stock plugin directory"
}
build_example cipher_rot ex
build_example transport_udp_demo udp

# Manifests for cipher_rot: the installed stock ones with [cipher] swapped
# and the example's build directory ("ex", relative to the manifest) added
# to the plugin path.
STOCK_SERVER=$PREFIX/share/vpnhost/manifests/server.manifest
STOCK_CLIENT=$PREFIX/share/vpnhost/manifests/client.manifest
rot_manifest() {  # rot_manifest STOCK OUT
  sed -e 's/^\[host\]$/[host]\nplugin_path = ["ex"]/' \
    -e 's/^plugin = "cipher_xor".*/plugin = "cipher_rot"\nshift = 7/' \
    -e '/^key_file = /d' "$1" >"$2"
  grep -q '^plugin = "cipher_rot"$' "$2" && grep -q '^plugin_path = \["ex"\]$' "$2" && ! grep -q '^key_file' "$2" ||
    fail "could not derive $2 from $1 (the stock manifest changed shape?)"
}
ROT_SERVER=$LAB_TMP/rot-server.manifest
ROT_CLIENT=$LAB_TMP/rot-client.manifest
rot_manifest "$STOCK_SERVER" "$ROT_SERVER"
rot_manifest "$STOCK_CLIENT" "$ROT_CLIENT"
log "server manifest, stock -> cipher_rot:"
diff "$STOCK_SERVER" "$ROT_SERVER" | sed 's/^/    /'

"$VPNHOST" check "$ROT_SERVER" >"$LAB_TMP/check-rot.log" 2>&1 || fail "vpnhost check $ROT_SERVER: $(cat "$LAB_TMP/check-rot.log")"
grep -q "OK (.*cipher=cipher_rot" "$LAB_TMP/check-rot.log" || fail "check does not show cipher=cipher_rot: $(cat "$LAB_TMP/check-rot.log")"
log "ok: $(grep "OK (" "$LAB_TMP/check-rot.log")"

lab_topology 2

# --------------------------------------------- phase 1: cipher_rot ---
# lib.sh's start_server/start_client add --set cipher.key_file=..., an
# option cipher_rot does not have; these start the same way without it.
start_rot_server() {
  log "starting server (cipher_rot) in $SRV_NS"
  lab_bg "$SRV_NS" "$LAB_TMP/srv-rot.log" "$VPNHOST" --plugins "$ROT_SERVER" \
    --stats-file "$LAB_TMP/srv.stats" --log-level "$LAB_LOG_LEVEL"
  SRV_PID=$LAB_LAST_PID
  local end=$((SECONDS + 15))
  until [ -n "$(ip netns exec "$SRV_NS" ss -Hltn "sport = :$LAB_PORT" 2>/dev/null)" ]; do
    lab_alive "$SRV_PID" || fail "server exited during start-up"
    [ "$SECONDS" -ge "$end" ] && fail "server not listening on :$LAB_PORT after 15 s"
    sleep 0.1
  done
  log "server pid $SRV_PID listening on :$LAB_PORT"
}
start_rot_client() {
  local i=$1
  CLIENT_LOG[$i]=$LAB_TMP/c$i-rot.log
  CLIENT_ADDR[$i]=
  log "starting client $i (cipher_rot) in $(c_ns "$i")"
  lab_bg "$(c_ns "$i")" "${CLIENT_LOG[$i]}" "$VPNHOST" --plugins "$ROT_CLIENT" \
    --set "transport.connect=$(srv_underlay "$i")" --set "device.name=$P-t$i" \
    --stats-file "$LAB_TMP/c$i.stats" --log-level "$LAB_LOG_LEVEL"
  CLIENT_PID[$i]=$LAB_LAST_PID
}

# pings_work: both clients reach the hub and each other.
pings_work() {
  lab_ping "$(c_ns 1)" 10.10.0.1 10
  lab_ping "$(c_ns 2)" 10.10.0.1 10
  lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 5
  lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5
}

stop_all() {
  lab_stop "${CLIENT_PID[1]}"
  lab_stop "${CLIENT_PID[2]}"
  lab_stop "$SRV_PID"
  assert_eq "$LAB_EXIT_RC" 0 "$1: server exit status after SIGTERM"
}

start_rot_server
start_rot_client 1
start_rot_client 2
wait_client 1
wait_client 2
pings_work
grep -q "\[cipher_rot\] cipher_rot is a demo" "$LAB_TMP/srv-rot.log" || fail "the server log has no line from cipher_rot"
srv_stat cipher_rot.frames_opened 0
assert_ge "$STAT" 30 "server cipher_rot.frames_opened"
srv_stat cipher_rot.bad_frames 0
assert_eq "$STAT" 0 "server cipher_rot.bad_frames"
srv_stat cipher_xor.frames_opened none
assert_eq "$STAT" none "server cipher_xor.frames_opened (cipher_xor not loaded)"
stop_all "cipher_rot"

# ------------------------------- phase 2: cipher_xor, by manifest only ---
log "swapping the cipher by manifest only: the installed stock manifests (cipher_xor), same installed host"
SERVER_MANIFEST=$STOCK_SERVER
CLIENT_MANIFEST=$STOCK_CLIENT
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
pings_work
srv_stat cipher_xor.frames_opened 0
assert_ge "$STAT" 30 "server cipher_xor.frames_opened"
srv_stat cipher_rot.frames_opened none
assert_eq "$STAT" none "server cipher_rot.frames_opened (cipher_rot not loaded)"
stop_all "cipher_xor"

# ------------------- phase 3: transport_udp_demo, by manifest only ---
log "swapping the transport by manifest only: transport_udp_demo (out of tree), same installed host"
udp_manifest() {  # udp_manifest STOCK OUT: [transport] plugin swapped, its options kept
  sed -e 's/^\[host\]$/[host]\nplugin_path = ["udp"]/' \
    -e 's/^plugin = "transport_tcp".*/plugin = "transport_udp_demo"/' "$1" >"$2"
  grep -q '^plugin = "transport_udp_demo"$' "$2" && grep -q '^plugin_path = \["udp"\]$' "$2" ||
    fail "could not derive $2 from $1 (the stock manifest changed shape?)"
}
udp_manifest "$STOCK_SERVER" "$LAB_TMP/udp-server.manifest"
udp_manifest "$STOCK_CLIENT" "$LAB_TMP/udp-client.manifest"
diff "$STOCK_SERVER" "$LAB_TMP/udp-server.manifest" | sed 's/^/    /'
# lib.sh's start_server waits for a TCP listener; this one for the UDP socket.
log "starting server (transport_udp_demo) in $SRV_NS"
lab_bg "$SRV_NS" "$LAB_TMP/srv-udp.log" "$VPNHOST" --plugins "$LAB_TMP/udp-server.manifest" \
  --set "cipher.key_file=$KEY" --stats-file "$LAB_TMP/srv.stats" --log-level "$LAB_LOG_LEVEL"
SRV_PID=$LAB_LAST_PID
end=$((SECONDS + 15))
until [ -n "$(ip netns exec "$SRV_NS" ss -Hlun "sport = :$LAB_PORT" 2>/dev/null)" ]; do
  lab_alive "$SRV_PID" || fail "server exited during start-up"
  [ "$SECONDS" -ge "$end" ] && fail "server not bound to udp :$LAB_PORT after 15 s"
  sleep 0.1
done
CLIENT_MANIFEST=$LAB_TMP/udp-client.manifest
start_client 1
start_client 2
wait_client 1
wait_client 2
pings_work
srv_stat transport_udp_demo.frames_in 0
assert_ge "$STAT" 30 "server transport_udp_demo.frames_in"
srv_stat transport_udp_demo.sessions_opened 0
assert_eq "$STAT" 2 "server transport_udp_demo.sessions_opened"
srv_stat transport_tcp.frames_in none
assert_eq "$STAT" none "server transport_tcp.frames_in (transport_tcp not loaded)"
stop_all "transport_udp_demo"

hash_after=$(sha256sum "$VPNHOST" | cut -d' ' -f1)
assert_eq "$hash_after" "$hash_before" "installed vpnhost sha256 after all three runs"
