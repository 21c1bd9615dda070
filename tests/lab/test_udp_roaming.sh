#!/usr/bin/env bash
# Roaming over transport_udp (docs/udp.md "Roaming"):
#  1. cipher_noise: alice (c1) sends 20 MiB through the hub to bob (c2)
#     over a rate-capped link (tbf, so the transfer lasts a few seconds);
#     a quarter of the way in her underlay address changes (172.31.1.2 is
#     replaced by 172.31.1.3). Her connected socket's sends fail, her
#     transport carries on from a new socket (same session), and the server
#     follows her once a frame from the new address authenticates: the
#     transfer completes intact, the server's `vpnhost status --json` shows
#     her session (same id) at 172.31.1.3, no second session was opened.
#  2. cipher_xor (authenticates nobody): the same address change; her
#     frames from the new address are dropped and counted
#     (drop.roaming_unauthenticated), her session stays where it was.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init udp_roaming
lab_require_tools socat sha256sum tc
source "$(dirname "$0")/noise_lib.sh"
lab_topology 2
ns1=$(c_ns 1)
dev1=$P-c1
SOCK=$LAB_TMP/srv.sock

# move_alice FROM TO: replace alice's underlay address FROM by TO (same
# subnet; promote_secondaries keeps the subnet route when FROM goes).
move_alice() {
  ip netns exec "$ns1" sysctl -qw "net.ipv4.conf.$dev1.promote_secondaries=1" || fail "sysctl in $ns1"
  ip -n "$ns1" addr add "$2/24" dev "$dev1" || fail "add $2 in $ns1"
  ip -n "$ns1" addr del "$1/24" dev "$dev1" || fail "delete $1 in $ns1"
  ip -n "$ns1" -4 -o addr show dev "$dev1" | grep -q "inet $2/24" || fail "$dev1 lost $2 too"
  log "alice's underlay address: $1 -> $2"
}
status_json() {
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$1" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
}
# session_peer FILE ADDR: PEER = the underlay endpoint of the session with
# tunnel address ADDR in status FILE, SID = its id.
session_peer() {
  read -r SID PEER < <(python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["sessions"]:
    if s["address"] == sys.argv[2]: print(s["id"], s["peer"])
' "$1" "$2")
  [ -n "$PEER" ] || fail "status shows no session with tunnel address $2: $(cat "$1")"
}

# --- 1. cipher_noise: the transfer survives the move ------------------------
noise_authorize alice=10.10.0.10 bob=10.10.0.20
noise_start_server --set "host.control_socket=$SOCK"
noise_start_client 1 alice
noise_start_client 2 bob
wait_client 1
wait_client 2
lab_ping "$ns1" 10.10.0.1 3
status_json "$LAB_TMP/before.json"
session_peer "$LAB_TMP/before.json" 10.10.0.10
sid_before=$SID
[[ "$PEER" == 172.31.1.2:* ]] || fail "alice's session is at $PEER, not 172.31.1.2"
log "alice: session $SID at $PEER"

# A rate cap on alice's link makes the 20 MiB take ~4 s, so the move lands
# in the middle of it.
ip netns exec "$ns1" tc qdisc add dev "$dev1" root tbf rate 40mbit burst 32kb latency 100ms ||
  fail "tbf on $dev1"
lab_payload 20
lab_recv_start "$(c_ns 2)" 120
recv_pid=$RECV_PID
log "sending 20 MiB alice -> bob (10.10.0.20:9000)"
lab_bg "$ns1" "$LAB_TMP/socat-send.log" timeout 120 socat -u "OPEN:$LAB_TMP/send.bin" TCP:10.10.0.20:9000
send_pid=$LAB_LAST_PID
end=$((SECONDS + 60))
until [ "$(stat -c %s "$LAB_TMP/recv.bin" 2>/dev/null || echo 0)" -ge $((5 * 1024 * 1024)) ]; do
  lab_alive "$recv_pid" || fail "the receiver ended before 5 MiB arrived: $(cat "$LAB_TMP/socat-recv.log")"
  [ "$SECONDS" -ge "$end" ] && fail "5 MiB did not arrive within 60 s"
  sleep 0.05
done
moved_at=$(stat -c %s "$LAB_TMP/recv.bin")
move_alice 172.31.1.2 172.31.1.3
lab_alive "$recv_pid" || fail "the transfer ended before the move: the test proves nothing"
log "moved after $((moved_at / 1024)) KiB of 20480 KiB had arrived"
lab_wait_exit "$send_pid" 90 || fail "socat sender did not finish"
assert_eq "$LAB_EXIT_RC" 0 "socat sender exit status"
lab_wait_exit "$recv_pid" 30 || fail "socat receiver did not finish"
assert_eq "$LAB_EXIT_RC" 0 "socat receiver exit status"
lab_check_received 20
log "ok: 20 MiB arrived intact across the move"

status_json "$LAB_TMP/after.json"
session_peer "$LAB_TMP/after.json" 10.10.0.10
assert_eq "$SID" "$sid_before" "alice's session id after the move"
[[ "$PEER" == 172.31.1.3:* ]] || fail "status shows alice's session at $PEER, not at her new address 172.31.1.3"
log "ok: status --json shows session $SID at $PEER"
grep -Eq "session $SID roamed from 172\.31\.1\.2:[0-9]+ to 172\.31\.1\.3:[0-9]+" "$LAB_TMP/srv.log" ||
  fail "the server did not log 'session $SID roamed from 172.31.1.2:... to 172.31.1.3:...'"
srv_stats
for c in host.roams transport_udp.paths_adopted; do
  stat_get "$LAB_TMP/srv.stats" "$c" 0
  assert_ge "$STAT" 1 "server $c"
done
stat_get "$LAB_TMP/srv.stats" transport_udp.sessions_opened
assert_eq "$STAT" 2 "server transport_udp.sessions_opened (alice and bob, no new session)"
lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"
stat_get "$LAB_TMP/c1.stats" transport_udp.source_rebinds 0
assert_ge "$STAT" 1 "alice's transport_udp.source_rebinds"
grep -q "lost connection\|reconnecting" "${CLIENT_LOG[1]}" && fail "alice's client lost its session"
lab_ping "$ns1" 10.10.0.1 5
log "ok: alice roamed with cipher_noise"

lab_stop "${CLIENT_PID[1]}"
lab_stop "${CLIENT_PID[2]}"
lab_stop "$SRV_PID"
ip netns exec "$ns1" tc qdisc del dev "$dev1" root

# --- 2. cipher_xor: roaming is off ------------------------------------------
start_server --set "host.control_socket=$SOCK"
start_client 1
wait_client 1
xor_addr=${CLIENT_ADDR[1]}
lab_ping "$ns1" 10.10.0.1 3
status_json "$LAB_TMP/xor-before.json"
session_peer "$LAB_TMP/xor-before.json" "$xor_addr"
xor_sid=$SID xor_peer=$PEER
[[ "$PEER" == 172.31.1.3:* ]] || fail "alice's xor session is at $PEER, not 172.31.1.3"
move_alice 172.31.1.3 172.31.1.4
# Her pings now leave from the new address (after one failed send and a new
# socket): the server drops them instead of following her.
ip netns exec "$ns1" ping -n -c 5 -i 0.2 -W 1 10.10.0.1 >"$LAB_TMP/xor-ping.log" 2>&1 &&
  fail "pings came back through a session that should not have moved: $(tail -n 2 "$LAB_TMP/xor-ping.log")"
end=$((SECONDS + 10))
while :; do
  srv_stat drop.roaming_unauthenticated 0
  [ "$STAT" -ge 1 ] && break
  [ "$SECONDS" -ge "$end" ] && fail "server drop.roaming_unauthenticated still 0 10 s after the move"
  sleep 0.2
done
log "ok: server dropped $STAT frame(s) from alice's new address (drop.roaming_unauthenticated)"
stat_get "$LAB_TMP/srv.stats" transport_udp.path_candidates 0
assert_ge "$STAT" 1 "server transport_udp.path_candidates"
stat_get "$LAB_TMP/srv.stats" transport_udp.paths_adopted 0
assert_eq "$STAT" 0 "server transport_udp.paths_adopted with cipher_xor"
stat_get "$LAB_TMP/srv.stats" host.roams 0
assert_eq "$STAT" 0 "server host.roams with cipher_xor"
status_json "$LAB_TMP/xor-after.json"
session_peer "$LAB_TMP/xor-after.json" "$xor_addr"
assert_eq "$SID $PEER" "$xor_sid $xor_peer" "alice's xor session (id, endpoint) after the move"
log "ok: with cipher_xor the session stays at $PEER"
