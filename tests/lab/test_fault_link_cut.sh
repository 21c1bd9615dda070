#!/usr/bin/env bash
# Fault: c1's underlay is cut (an nftables table inside c1's namespace drops
# everything to and from the server's underlay address), then restored.
# Server: session_timeout = 3 s, keepalive = 1 s (WELCOME hands both to the
# clients). c2 is the control and pings the hub the whole time.
#  - the server frees c1's session after the silence timeout: never before
#    session_timeout - keepalive = 2 s (c1's last keepalive may be 1 s old
#    when the cut comes), and within FREE_BOUND_S; host.sessions_active
#    drops to 1, router_hub.released +1, drop.session_timeout +1;
#  - c1 notices by its own timeout (the server's 3 s), keeps its TUN device
#    (same ifindex) and tries to reconnect; at least one try fails while
#    the link is cut (connect_timeout = 2 s on the client);
#  - c2 loses no ping meanwhile;
#  - the link returns: c1 is assigned an address again within
#    connect_timeout + reconnect_max + 2 s (handshake on a busy machine) and
#    pings the hub and c2, and c2 pings c1.
source "$(dirname "$0")/lib.sh"
: "${LAB_TIME_LIMIT:=90}"  # the guard ends (and cleans up) the run after 90 s
lab_init fault_link_cut
lab_require_tools nft

SESSION_TIMEOUT=3
KEEPALIVE=1
CONNECT_TIMEOUT=2
RECONNECT_MAX_MS=2000
FREE_BOUND_S=8  # session_timeout + the server's 1 s tick + slack for a busy machine
RETURN_BOUND_MS=$((CONNECT_TIMEOUT * 1000 + RECONNECT_MAX_MS + 2000))
TABLE=${P}_cut  # nft names allow no '-': vh<pid>_cut, in c1's namespace only

now_ms() { date +%s%3N; }
nft_c1() { ip netns exec "$(c_ns 1)" nft "$@"; }

lab_topology 2
start_server --set "host.session_timeout=$SESSION_TIMEOUT" --set "host.keepalive=$KEEPALIVE"
for i in 1 2; do
  start_client "$i" --set host.reconnect_min=200 --set "host.reconnect_max=$RECONNECT_MAX_MS" \
    --set "transport.connect_timeout=$CONNECT_TIMEOUT"
done
wait_client 1
wait_client 2
lab_ifindex "$(c_ns 1)" "$P-t1"
ifx1=$IFINDEX
lab_ping_wait "$(c_ns 1)" 10.10.0.1 3
lab_ping_wait "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
srv_stat host.sessions_active
assert_eq "$STAT" 2 "server host.sessions_active before the cut"
stat_get "$LAB_TMP/srv.stats" router_hub.released 0
released0=$STAT
stat_get "$LAB_TMP/srv.stats" drop.session_timeout 0
timeouts0=$STAT

# The control: c2 pings the hub every 0.1 s (at most 60 s) through it all.
lab_bg "$(c_ns 2)" "$LAB_TMP/c2-ping.log" ping -n -c 600 -i 0.1 -W 2 10.10.0.1
ping_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/c2-ping.log" "icmp_seq=1 " 5 "$ping_pid"

# --- cut -------------------------------------------------------------------
srv=$(srv_underlay 1)
log "cutting c1's underlay: nft table inet $TABLE in $(c_ns 1) drops all to/from $srv"
nft_c1 -f - <<NFT || fail "cannot add nft table $TABLE in $(c_ns 1)"
table inet $TABLE {
  chain in { type filter hook input priority 0; policy accept; ip saddr $srv counter drop; }
  chain out { type filter hook output priority 0; policy accept; ip daddr $srv counter drop; }
}
NFT
t_cut=$(now_ms)
ip netns exec "$(c_ns 1)" ping -n -c 1 -W 1 "$srv" >/dev/null 2>&1 && fail "the underlay still works after the cut"
log "ok: c1 cannot reach $srv any more"

# The server frees c1's session after the timeout.
end=$((SECONDS + FREE_BOUND_S + 2))
while :; do
  srv_stat host.sessions_active
  [ "$STAT" = 1 ] && break
  [ "$SECONDS" -ge "$end" ] && fail "server host.sessions_active still $STAT $FREE_BOUND_S s after the cut"
  sleep 0.1
done
freed_ms=$(($(now_ms) - t_cut))
log "server freed c1's session $freed_ms ms after the cut (expected $(((SESSION_TIMEOUT - KEEPALIVE) * 1000))..$((FREE_BOUND_S * 1000)) ms)"
[ "$freed_ms" -ge $(((SESSION_TIMEOUT - KEEPALIVE) * 1000)) ] ||
  fail "the server freed c1 after $freed_ms ms: before its silence could reach session_timeout ${SESSION_TIMEOUT} s"
[ "$freed_ms" -le $((FREE_BOUND_S * 1000)) ] || fail "the server took $freed_ms ms to free c1 (bound ${FREE_BOUND_S} s)"
stat_get "$LAB_TMP/srv.stats" router_hub.released
assert_eq $((STAT - released0)) 1 "server router_hub.released since the cut"
stat_get "$LAB_TMP/srv.stats" drop.session_timeout 0
assert_eq $((STAT - timeouts0)) 1 "server drop.session_timeout since the cut"
grep -Eq "session [0-9]+ \(${CLIENT_ADDR[1]//./\\.}\) silent for $SESSION_TIMEOUT s: dropped" "$LAB_TMP/srv.log" ||
  fail "server log does not say c1's session (${CLIENT_ADDR[1]}) was dropped for silence"
log "ok: server log: $(grep -Eo "session [0-9]+ \(${CLIENT_ADDR[1]//./\\.}\) silent for .*" "$LAB_TMP/srv.log" | head -n 1)"

# The client notices by its own timeout and keeps trying.
wait_for_log "${CLIENT_LOG[1]}" "silent for $SESSION_TIMEOUT s: dropped" 10 "${CLIENT_PID[1]}"
wait_for_log "${CLIENT_LOG[1]}" 'reconnecting in [0-9.]+ s \(attempt 1\): idle timeout' 5 "${CLIENT_PID[1]}"
wait_for_log "${CLIENT_LOG[1]}" "cannot connect to $srv:$LAB_PORT: timed out after $CONNECT_TIMEOUT s" \
  $((CONNECT_TIMEOUT + 5)) "${CLIENT_PID[1]}"
log "ok: client 1 timed out the silent session itself and is retrying: $(grep -c 'reconnecting in' "${CLIENT_LOG[1]}") tries so far"
lab_assert_link_up "$(c_ns 1)" "$P-t1" "client 1 while cut off"
lab_ifindex "$(c_ns 1)" "$P-t1"
assert_eq "$IFINDEX" "$ifx1" "client 1 TUN ifindex while cut off"
assert_eq "$(client_assigned_count 1)" 1 "client 1 assignments while cut off"
lab_alive "$SRV_PID" || fail "the server died"

# --- restore ---------------------------------------------------------------
dropped=$(nft_c1 list table inet "$TABLE" | grep -Eo 'packets [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
nft_c1 delete table inet "$TABLE" || fail "cannot delete nft table $TABLE"
t_restore=$(now_ms)
grep -q "$TABLE" <<<"$(nft_c1 list tables)" && fail "nft table $TABLE still there"
log "link restored (the table had dropped $dropped packets)"
assert_ge "$dropped" 1 "packets the cut dropped"
while [ "$(client_assigned_count 1)" -lt 2 ]; do
  lab_alive "${CLIENT_PID[1]}" || fail "client 1 exited while reconnecting"
  [ $(($(now_ms) - t_restore)) -gt $((RETURN_BOUND_MS + 5000)) ] && fail "client 1 did not reconnect within $((RETURN_BOUND_MS + 5000)) ms of the restore"
  sleep 0.05
done
back_ms=$(($(now_ms) - t_restore))
log "client 1 assigned again $back_ms ms after the restore (bound $RETURN_BOUND_MS ms)"
[ "$back_ms" -le "$RETURN_BOUND_MS" ] ||
  fail "client 1 took $back_ms ms to come back: more than connect_timeout + reconnect_max + 2 s"
wait_client_assigned 1 2 5
lab_ifindex "$(c_ns 1)" "$P-t1"
assert_eq "$IFINDEX" "$ifx1" "client 1 TUN ifindex after the reconnect (the device was kept)"
lab_ping_wait "$(c_ns 1)" 10.10.0.1 5
lab_ping_wait "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
lab_ping_wait "$(c_ns 2)" "${CLIENT_ADDR[1]}" 3
srv_stat host.sessions_active
assert_eq "$STAT" 2 "server host.sessions_active after the reconnect"
srv_stat router_hub.assigned
assigned=$STAT
stat_get "$LAB_TMP/srv.stats" router_hub.released
assert_eq $((assigned - STAT)) 2 "server router_hub.assigned - released (c1 and c2)"

# The control never lost a ping (but one possibly in flight at SIGINT).
kill -INT "$ping_pid"
lab_wait_exit "$ping_pid" 10 || fail "c2's ping did not stop on SIGINT"
tail -n 2 "$LAB_TMP/c2-ping.log" | sed 's/^/    /'
sent=$(grep -Eo '^[0-9]+ packets transmitted' "$LAB_TMP/c2-ping.log" | cut -d' ' -f1)
got=$(grep -Eo ', [0-9]+ received' "$LAB_TMP/c2-ping.log" | tr -dc 0-9)
[ -n "$sent" ] && [ -n "$got" ] || fail "no ping statistics from c2"
assert_ge "$got" 30 "c2 echo replies across the cut"
[ $((sent - got)) -le 1 ] || fail "c2 lost pings while c1 was cut off: $sent sent, $got received"
