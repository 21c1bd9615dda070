#!/usr/bin/env bash
# Containment: a responder plugin that throws (fixture_crashy_responder, on
# 361-byte packets) ends only the session the packet came from. The server
# keeps running, counts host.plugin_exceptions, names the plugin in its log,
# the other client keeps pinging, and the client whose session ended
# reconnects by itself.
source "$(dirname "$0")/lib.sh"
lab_init containment
fixtures=$LAB_BUILD_DIR/tests/plugins
[ -f "$fixtures/fixture_crashy_responder.so" ] || fail "fixture plugin not built in $fixtures"
lab_topology 2

SERVER_MANIFEST=$LAB_TMP/server-crashy.manifest
{
  printf '[host]\nplugin_path = ["%s"]\n\n' "$fixtures"
  sed -n '/^\[transport\]/,$p' "$LAB_SOURCE_DIR/manifests/server.manifest" | sed '/^\[\[responder\]\]/,$d'
  printf '[[responder]]\nplugin = "fixture_crashy_responder"\n\n[[responder]]\nplugin = "responder_icmp_echo"\n'
} >"$SERVER_MANIFEST"
"$VPNHOST" check "$SERVER_MANIFEST" --set "cipher.key_file=$KEY" >"$LAB_TMP/check.log" 2>&1 ||
  fail "manifest does not check: $(cat "$LAB_TMP/check.log")"

start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
lab_ping "$(c_ns 1)" 10.10.0.1 3
lab_ping "$(c_ns 2)" 10.10.0.1 3

log "client 1 sends the packet the responder chokes on"
ip netns exec "$(c_ns 1)" ping -n -c 1 -W 1 -s 333 10.10.0.1 >/dev/null 2>&1 && fail "the poisoned ping got a reply"
wait_for_log "${CLIENT_LOG[1]}" "lost connection to server" 10 "${CLIENT_PID[1]}"

lab_alive "$SRV_PID" || fail "the server died"
grep -q "\[fixture_crashy_responder\] threw in handle: deliberate failure" "$LAB_TMP/srv.log" ||
  fail "server log does not name the plugin that threw"
wait_srv_stat host.plugin_exceptions 1 5
lab_ping "$(c_ns 2)" 10.10.0.1 10

# Client 1 comes back by itself (reconnect with backoff) and works again.
log "client 1 reconnects"
end=$((SECONDS + 15))
until [ "$(grep -c 'assigned 10\.10\.0\.' "${CLIENT_LOG[1]}")" -ge 2 ]; do
  [ "$SECONDS" -ge "$end" ] && fail "client 1 did not reconnect within 15 s"
  lab_alive "${CLIENT_PID[1]}" || fail "client 1 exited instead of reconnecting"
  sleep 0.1
done
lab_ping "$(c_ns 1)" 10.10.0.1 5
wait_srv_stat host.sessions_active 2 5
srv_stat host.sessions_opened
assert_eq "$STAT" 3 "server host.sessions_opened (two clients + one reconnect)"
log "ok: only client 1's session ended; the server and client 2 carried on; client 1 came back"
