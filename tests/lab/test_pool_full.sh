#!/usr/bin/env bash
# Address pool exhaustion (10.10.0.2-254 = 253 client addresses):
#  - a real TUN client c1 connects first and keeps pinging the hub throughout;
#  - vh_loadclient (namespace c2) opens 253 sessions at once: exactly 252 get
#    WELCOME with distinct addresses that, with c1's, cover the whole pool,
#    and exactly 1 gets REJECT "address pool full";
#  - a real client started while the pool is full (c3) exits non-zero saying
#    "address pool full";
#  - c1's pings never lose a packet.
source "$(dirname "$0")/lib.sh"
lab_init pool_full
[ -x "$VH_LOADCLIENT" ] || fail "vh_loadclient not built at $VH_LOADCLIENT"
LAB_LOG_LEVEL=info  # 253 sessions: keep the server log small
lab_topology 4
start_server
start_client 1
wait_client 1
c1=${CLIENT_ADDR[1]}

# c1 pings the hub (every 0.1 s, at most 60 s) while the pool fills up and the
# late client is refused; we stop it with SIGINT once that is over.
lab_bg "$(c_ns 1)" "$LAB_TMP/c1-ping.log" ping -n -c 600 -i 0.1 -W 2 10.10.0.1
ping_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/c1-ping.log" "icmp_seq=1 " 5 "$ping_pid"

mkfifo "$LAB_TMP/load.in"
exec 7<>"$LAB_TMP/load.in"  # we hold the write end: the load client holds until we close it
LAB_STDIN=$LAB_TMP/load.in lab_bg "$(c_ns 2)" "$LAB_TMP/load.log" "$VH_LOADCLIENT" --server "$(srv_underlay 2)" \
  --port "$LAB_PORT" --key-file "$KEY" --sessions 253 --expect-welcome 252 --expect-reject 1 --ping --hold --timeout 30
load_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/load.log" "^holding" 40 "$load_pid"
grep '^summary' "$LAB_TMP/load.log" | sed 's/^/    /'
grep -q '^summary sessions=253 welcome=252 reject=1 error=0 ping_ok=252$' "$LAB_TMP/load.log" ||
  fail "load client summary: $(grep -v '^welcome\|^ping-ok' "$LAB_TMP/load.log")"
assert_eq "$(grep -c '^reject address pool full$' "$LAB_TMP/load.log")" 1 "REJECTs saying 'address pool full'"
{ grep '^welcome ' "$LAB_TMP/load.log" | cut -d' ' -f2; echo "$c1"; } | sort -u >"$LAB_TMP/assigned.txt"
for ((h = 2; h <= 254; h++)); do echo "10.10.0.$h"; done | sort >"$LAB_TMP/pool.txt"
assert_eq "$(wc -l <"$LAB_TMP/assigned.txt")" 253 "distinct addresses (252 load sessions + c1)"
cmp -s "$LAB_TMP/assigned.txt" "$LAB_TMP/pool.txt" || fail "assigned addresses are not exactly 10.10.0.2-254:
$(diff "$LAB_TMP/pool.txt" "$LAB_TMP/assigned.txt" | head)"
log "ok: c1 + 252 load sessions hold exactly 10.10.0.2-10.10.0.254"

srv_stat host.sessions_active
assert_eq "$STAT" 253 "server host.sessions_active with the pool full"

# A real client now: refused, says why. A full pool is a transient reason:
# by default the client retries with backoff; with reconnect = false it
# exits non-zero at once (status 2: transient rejection).
start_client 3 --set host.reconnect=false
lab_wait_exit "${CLIENT_PID[3]}" 20 || fail "client c3 still running 20 s into a full pool"
assert_eq "$LAB_EXIT_RC" 2 "client c3 exit status (rejected, reconnect off)"
grep -q "rejected by server: address pool full" "${CLIENT_LOG[3]}" || fail "client c3 did not print 'address pool full'"
log "ok: client c3 refused (exit $LAB_EXIT_RC): $(grep -m1 'address pool full' "${CLIENT_LOG[3]}")"
start_client 4 --set host.reconnect_min=200 --set host.reconnect_max=400
wait_for_log "${CLIENT_LOG[4]}" "reconnecting in .* rejected: address pool full" 10 "${CLIENT_PID[4]}"
grep -q "rejected by server: address pool full" "${CLIENT_LOG[4]}" || fail "client c4 did not print 'address pool full'"
lab_stop "${CLIENT_PID[4]}"
log "ok: client c4 (reconnect on) retries a full pool with backoff"
lab_alive "$ping_pid" || fail "c1's ping ended before the pool test did: it no longer proves c1 was served throughout"
srv_stat host.sessions_active
assert_eq "$STAT" 253 "server host.sessions_active after c3 was refused"
stat_get "$LAB_TMP/srv.stats" router_hub.assigned
assert_eq "$STAT" 253 "server router_hub.assigned"
stat_get "$LAB_TMP/srv.stats" router_hub.pool_full
assert_ge "$STAT" 3 "server router_hub.pool_full (the 253rd load session, c3, and c4 at least once)"

# c1 kept pinging the whole time: let it go on for one more second, stop it,
# and check every request got its reply (but the one possibly in flight when
# SIGINT came), with no gap in the sequence.
replies() { grep -c 'icmp_seq=' "$LAB_TMP/c1-ping.log"; }
want=$(($(replies) + 10))
end=$((SECONDS + 10))
while [ "$(replies)" -lt "$want" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
kill -INT "$ping_pid"
lab_wait_exit "$ping_pid" 10 || fail "c1's ping did not stop on SIGINT"
tail -n 2 "$LAB_TMP/c1-ping.log" | sed 's/^/    /'
sent=$(grep -Eo '^[0-9]+ packets transmitted' "$LAB_TMP/c1-ping.log" | cut -d' ' -f1)
got=$(grep -Eo ', [0-9]+ received' "$LAB_TMP/c1-ping.log" | tr -dc 0-9)
[ -n "$sent" ] && [ -n "$got" ] || fail "no ping statistics from c1"
assert_ge "$got" 11 "c1 echo replies from before the load client until after c3 was refused"
[ $((sent - got)) -le 1 ] || fail "c1 lost pings while the pool filled: $sent sent, $got received"
seqs=$(grep -Eo 'icmp_seq=[0-9]+' "$LAB_TMP/c1-ping.log" | cut -d= -f2 | tr '\n' ' ')
assert_eq "$seqs" "$(seq -s ' ' 1 "$got") " "c1's replies, in sequence without gaps"

# Release the load sessions: the pool empties again except for c1.
exec 7>&-
lab_wait_exit "$load_pid" 20 || fail "load client did not exit after stdin EOF"
assert_eq "$LAB_EXIT_RC" 0 "load client exit status"
grep '^released' "$LAB_TMP/load.log" | sed 's/^/    /'
wait_srv_stat host.sessions_active 1 10
