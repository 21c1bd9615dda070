#!/usr/bin/env bash
# Fault: the server dies (kill -9) under three connected clients and comes
# back (same manifest, same port).
#  - every client notices ("lost connection to server") and keeps retrying
#    with backoff; its TUN device stays up with the same ifindex while it
#    waits (packets into it are dropped and counted as drop.not_connected);
#  - once the new server listens, every client is assigned an address again
#    within the backoff bound: the clients run with reconnect_min = 200 ms
#    and reconnect_max = 2000 ms, and the server stays down until each has
#    reached the cap, so each client's next try comes at most 2000 ms after
#    the server listens; the handshake (TCP connect + HELLO/WELCOME, one
#    round trip each) gets HANDSHAKE_MS on top on a busy machine:
#    bound = RECONNECT_MAX_MS + HANDSHAKE_MS = 4000 ms after "listening";
#  - then all three ping the hub and each other, still through the same
#    TUN devices (same ifindex as before the kill).
source "$(dirname "$0")/lib.sh"
: "${LAB_TIME_LIMIT:=90}"  # the guard ends (and cleans up) the run after 90 s
lab_init fault_server_kill

RECONNECT_MIN_MS=200
RECONNECT_MAX_MS=2000
HANDSHAKE_MS=2000
BOUND_MS=$((RECONNECT_MAX_MS + HANDSHAKE_MS))
# Attempt k waits min * 2^(k-1) capped at max: attempt 5 is the first at the cap (200, 400, 800, 1600, 2000).
CAP_ATTEMPT=5

now_ms() { date +%s%3N; }

lab_topology 3
start_server
declare -A IFX=()
for i in 1 2 3; do
  start_client "$i" --set "host.reconnect_min=$RECONNECT_MIN_MS" --set "host.reconnect_max=$RECONNECT_MAX_MS"
done
for i in 1 2 3; do
  wait_client "$i"
  lab_ifindex "$(c_ns "$i")" "$P-t$i"
  IFX[$i]=$IFINDEX
  log "client $i: TUN $P-t$i ifindex ${IFX[$i]}"
done
lab_ping_wait "$(c_ns 1)" 10.10.0.1 3
lab_ping_wait "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
srv_stat host.sessions_active
assert_eq "$STAT" 3 "server host.sessions_active before the kill"

# --- kill -9 ---------------------------------------------------------------
log "kill -9 the server (pid $SRV_PID)"
# (stderr muted: bash would print a job notice "Killed ..." for it)
{ kill -KILL "$SRV_PID"; lab_wait_exit "$SRV_PID" 10; } 2>/dev/null || fail "the server survived SIGKILL"
assert_eq "$LAB_EXIT_RC" 137 "server exit status (SIGKILL)"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-killed.log"
for i in 1 2 3; do
  wait_for_log "${CLIENT_LOG[$i]}" 'lost connection to server' 10 "${CLIENT_PID[$i]}"
done
log "ok: all three clients noticed the lost connection"

# While the server is down: the clients retry until their backoff reaches the
# cap; their TUN devices stay, up, with the same ifindex.
for i in 1 2 3; do
  wait_for_log "${CLIENT_LOG[$i]}" "reconnecting in [0-9.]+ s \(attempt $CAP_ATTEMPT\)" 15 "${CLIENT_PID[$i]}"
done
log "ok: every client reached attempt $CAP_ATTEMPT (backoff at its ${RECONNECT_MAX_MS} ms cap)"
grep -Eo 'reconnecting in [0-9.]+ s \(attempt [0-9]+\)' "${CLIENT_LOG[1]}" | sed 's/^/    c1: /'
for i in 1 2 3; do
  lab_assert_link_up "$(c_ns "$i")" "$P-t$i" "client $i while the server is down"
  lab_ifindex "$(c_ns "$i")" "$P-t$i"
  assert_eq "$IFINDEX" "${IFX[$i]}" "client $i TUN ifindex while the server is down"
  # A wait drawn from [half, full] of a step never exceeds the cap.
  over=$(grep -Eo 'reconnecting in [0-9.]+ s' "${CLIENT_LOG[$i]}" |
    awk -v max="$RECONNECT_MAX_MS" '{ if ($3 * 1000 > max) print $3 }')
  [ -z "$over" ] || fail "client $i waited longer than reconnect_max ${RECONNECT_MAX_MS} ms: $over s"
done
# Packets into the tunnel while disconnected are dropped and counted.
ip netns exec "$(c_ns 1)" ping -n -c 3 -i 0.1 -W 1 10.10.0.1 >/dev/null 2>&1 &&
  fail "c1 got an echo reply with the server dead"
lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"
stat_get "$LAB_TMP/c1.stats" drop.not_connected 0
assert_ge "$STAT" 3 "client 1 drop.not_connected while the server is down"
lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"
stat_get "$LAB_TMP/c1.stats" host.reconnects 0
assert_ge "$STAT" "$CAP_ATTEMPT" "client 1 host.reconnects"

# --- the server comes back -------------------------------------------------
start_server
t_listen=$(now_ms)
declare -A DONE_MS=()
while :; do
  left=0
  for i in 1 2 3; do
    [ -n "${DONE_MS[$i]:-}" ] && continue
    if [ "$(client_assigned_count "$i")" -ge 2 ]; then
      DONE_MS[$i]=$(($(now_ms) - t_listen))
    else
      left=$((left + 1))
      lab_alive "${CLIENT_PID[$i]}" || fail "client $i exited while reconnecting"
    fi
  done
  [ "$left" = 0 ] && break
  if [ $(($(now_ms) - t_listen)) -gt $((BOUND_MS + 5000)) ]; then
    for i in 1 2 3; do echo "    client $i: assigned again after ${DONE_MS[$i]:-never} ms"; done
    fail "not every client reconnected within $((BOUND_MS + 5000)) ms of the restart"
  fi
  sleep 0.05
done
for i in 1 2 3; do
  log "client $i assigned again ${DONE_MS[$i]} ms after the new server listened (bound $BOUND_MS ms)"
  [ "${DONE_MS[$i]}" -le "$BOUND_MS" ] ||
    fail "client $i took ${DONE_MS[$i]} ms to reconnect: more than reconnect_max $RECONNECT_MAX_MS ms + handshake $HANDSHAKE_MS ms"
done
for i in 1 2 3; do
  wait_client_assigned "$i" 2 5
  lab_ifindex "$(c_ns "$i")" "$P-t$i"
  assert_eq "$IFINDEX" "${IFX[$i]}" "client $i TUN ifindex after the reconnect (the device was kept)"
  lab_assert_link_up "$(c_ns "$i")" "$P-t$i" "client $i after the reconnect"
  lab_alive "${CLIENT_PID[$i]}" || fail "client $i is gone"
done

# Everyone reaches the hub and each other again.
for i in 1 2 3; do lab_ping_wait "$(c_ns "$i")" 10.10.0.1 5; done
lab_ping_wait "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
lab_ping_wait "$(c_ns 2)" "${CLIENT_ADDR[3]}" 3
lab_ping_wait "$(c_ns 3)" "${CLIENT_ADDR[1]}" 3
srv_stat host.sessions_active
assert_eq "$STAT" 3 "new server host.sessions_active"
stat_get "$LAB_TMP/srv.stats" router_hub.assigned
assert_eq "$STAT" 3 "new server router_hub.assigned"
stat_get "$LAB_TMP/srv.stats" host.sessions_opened
assert_eq "$STAT" 3 "new server host.sessions_opened (one per client, no extra tries)"
