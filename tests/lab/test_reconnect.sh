#!/usr/bin/env bash
# Disconnect and reconnect:
#  - c1 leaves (SIGTERM, exit 0, TUN gone); the server's active sessions drop
#    to 1 and c1's address is free again: 252 load sessions (+ c2) fill the
#    pool exactly, one of them getting c1's old address;
#  - c1 reconnects, gets an address, reaches the hub and c2;
#  - when everyone has left, the whole pool (253) is available again, twice.
source "$(dirname "$0")/lib.sh"
lab_init reconnect
[ -x "$VH_LOADCLIENT" ] || fail "vh_loadclient not built at $VH_LOADCLIENT"
lab_topology 3
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
old1=${CLIENT_ADDR[1]}
srv_stat host.sessions_active
assert_eq "$STAT" 2 "host.sessions_active with c1 and c2"

# load NAME SESSIONS WELCOMES REJECTS: a vh_loadclient run from c3's namespace
# that opens, checks and closes its sessions.
load() {
  ip netns exec "$(c_ns 3)" timeout 60 "$VH_LOADCLIENT" --server "$(srv_underlay 3)" --port "$LAB_PORT" \
    --key-file "$KEY" --sessions "$2" --expect-welcome "$3" --expect-reject "$4" --timeout 30 \
    >"$LAB_TMP/$1.log" 2>&1
  local rc=$?
  grep -E '^(summary|reject|error)' "$LAB_TMP/$1.log" | sed 's/^/    /'
  [ "$rc" = 0 ] || fail "load client run $1 (rc $rc)"
}

# --- c1 leaves -----------------------------------------------------------
log "SIGTERM to client 1 (pid ${CLIENT_PID[1]})"
kill -TERM "${CLIENT_PID[1]}"
lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client 1 did not exit on SIGTERM"
assert_eq "$LAB_EXIT_RC" 0 "client 1 exit status after SIGTERM"
ip -n "$(c_ns 1)" link show dev "$P-t1" >/dev/null 2>&1 && fail "TUN $P-t1 still exists after client 1 exited"
log "ok: TUN $P-t1 removed"
wait_srv_stat host.sessions_active 1 10
stat_get "$LAB_TMP/srv.stats" router_hub.released
assert_eq "$STAT" 1 "server router_hub.released after c1 left"

# c1's address is free: c2 + 252 load sessions = the full pool, 1 more is refused.
load fill1 253 252 1
grep -qx "welcome $old1" "$LAB_TMP/fill1.log" || fail "c1's old address $old1 was not handed out again"
log "ok: c1's old address $old1 was released and assigned to a new session"
wait_srv_stat host.sessions_active 1 10

# --- c1 comes back -------------------------------------------------------
start_client 1
wait_client 1
lab_ping "$(c_ns 1)" 10.10.0.1 5
lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 5
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5
srv_stat host.sessions_active
assert_eq "$STAT" 2 "host.sessions_active after c1 reconnected"
srv_stat host.sessions_opened
assert_eq "$STAT" $((2 + 253 + 1)) "host.sessions_opened (c1, c2, 253 load sessions, c1 again)"

# --- everyone leaves: the whole pool is free, again and again ------------
for i in 1 2; do
  kill -TERM "${CLIENT_PID[$i]}"
  lab_wait_exit "${CLIENT_PID[$i]}" 10 || fail "client $i did not exit on SIGTERM"
  assert_eq "$LAB_EXIT_RC" 0 "client $i exit status"
done
wait_srv_stat host.sessions_active 0 10
for round in 1 2; do
  load "whole$round" 254 253 1
  grep '^welcome ' "$LAB_TMP/whole$round.log" | cut -d' ' -f2 | sort -u >"$LAB_TMP/got.txt"
  assert_eq "$(wc -l <"$LAB_TMP/got.txt")" 253 "distinct addresses in round $round"
  wait_srv_stat host.sessions_active 0 10
done
