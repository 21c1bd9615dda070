#!/usr/bin/env bash
# Sessions that ask for replies and never read them cannot starve the others
# (issue 15, item 3). Before: the one shared packet pool (8192 buffers) held
# every queued reply, a session could queue 512, so 17 such sessions took
# all buffers and every session lost all traffic, KEEPALIVEs included, with
# no single queue ever full (no stall detected). Now (docs/limits.md,
# "Packet buffers"):
#  - a real client c1 pings the hub throughout (every 0.2 s, 75 replies);
#  - pool_hog.py (namespace c2) opens 20 sessions with SO_RCVBUF 4 KiB that
#    never read after WELCOME and flood the hub with 1200-byte echo requests;
#  - the pool comes under pressure (transport_tcp.share_drops moves) but
#    never runs out (transport_tcp.pool_exhausted = drop.pool_exhausted = 0);
#  - a new client c3 connects during the flood within 5 s;
#  - c1 loses no ping;
#  - every hog is ended as stalled after stall_timeout (3 s here;
#    transport_tcp.stalled; those full at their fair share also in
#    transport_tcp.stalled_over_share), c1 and c3 stay.
# On the code before the fix this fails: c1's pings are lost while the
# pool is exhausted (and c3 gets no WELCOME).
source "$(dirname "$0")/lib.sh"
: "${LAB_TIME_LIMIT:=120}"
lab_init pool_starvation
HOGS=20
FLOOD_SECONDS=25
STALL_TIMEOUT=3
LAB_LOG_LEVEL=info  # 20 flooding sessions: keep the server log small

lab_topology 3
start_server --set "transport.stall_timeout=$STALL_TIMEOUT"
start_client 1
wait_client 1

lab_bg "$(c_ns 1)" "$LAB_TMP/c1-ping.log" ping -n -i 0.2 -c 75 -w 40 10.10.0.1
ping_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/c1-ping.log" "icmp_seq=1 " 5 "$ping_pid"

lab_bg "$(c_ns 2)" "$LAB_TMP/hog.log" python3 "$LAB_SOURCE_DIR/tests/lab/pool_hog.py" "$(srv_underlay 2)" \
  "$LAB_PORT" "$KEY" "$HOGS" "$FLOOD_SECONDS"
hog_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/hog.log" "^flooding $HOGS$" 30 "$hog_pid"
log "$HOGS sessions welcomed; they stop reading and flood the hub with echo requests"

# The flood has filled the server's queues once the pool is under pressure
# (fixed code: share_drops) or exhausted (the code before: pool_exhausted).
end=$((SECONDS + 15))
while :; do
  srv_stats
  stat_get "$LAB_TMP/srv.stats" transport_tcp.share_drops 0
  share=$STAT
  stat_get "$LAB_TMP/srv.stats" transport_tcp.pool_exhausted 0
  exhausted=$STAT
  [ "$share" -gt 0 ] || [ "$exhausted" -gt 0 ] && break
  [ "$SECONDS" -ge "$end" ] && fail "the flood did not fill the server's queues in 15 s (share_drops 0, pool_exhausted 0)"
  sleep 0.2
done
log "queues full: transport_tcp.share_drops $share, transport_tcp.pool_exhausted $exhausted"

# A new client during the flood (checked after c1's ping, which comes first).
c3_start=$SECONDS
start_client 3
c3_ok=
while [ $((SECONDS - c3_start)) -lt 5 ]; do
  grep -Eq 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[3]}" 2>/dev/null && { c3_ok=1; break; }
  sleep 0.1
done

lab_wait_exit "$ping_pid" 45 || fail "c1's ping did not end"
tail -n 2 "$LAB_TMP/c1-ping.log" | sed 's/^/    /'
sent=$(grep -Eo '^[0-9]+ packets transmitted' "$LAB_TMP/c1-ping.log" | cut -d' ' -f1)
got=$(grep -Eo ', [0-9]+ received' "$LAB_TMP/c1-ping.log" | tr -dc 0-9)
[ -n "$sent" ] && [ -n "$got" ] || fail "no ping statistics from c1"
[ "$sent" = "$got" ] || fail "c1 lost pings while $HOGS sessions flooded without reading: $sent sent, $got received"
assert_ge "$got" 75 "c1 echo replies"
log "ok: c1 lost no ping ($got of $sent)"

[ -n "$c3_ok" ] || fail "client c3 got no address within 5 s during the flood: $(tail -n 3 "${CLIENT_LOG[3]}")"
wait_client 3 1
log "ok: c3 connected during the flood"

srv_stats
stat_get "$LAB_TMP/srv.stats" transport_tcp.pool_exhausted 0
assert_eq "$STAT" 0 "server transport_tcp.pool_exhausted (frames lost for want of a buffer)"
stat_get "$LAB_TMP/srv.stats" drop.pool_exhausted 0
assert_eq "$STAT" 0 "server drop.pool_exhausted"
stat_get "$LAB_TMP/srv.stats" transport_tcp.share_drops
assert_ge "$STAT" 1 "server transport_tcp.share_drops"

# Every hog is ended as stalled; c1 and c3 remain. (A hog whose queue got to
# max_queue_frames before the pool came under pressure stalls there; the
# others stall at their fair share: stalled_over_share.)
end=$((SECONDS + 20))
while :; do
  srv_stat transport_tcp.stalled 0
  [ "$STAT" -ge "$HOGS" ] && break
  [ "$SECONDS" -ge "$end" ] && fail "only $STAT of $HOGS flooding sessions were ended as stalled within 20 s"
  sleep 0.2
done
stalled=$STAT
stat_get "$LAB_TMP/srv.stats" transport_tcp.stalled_over_share
log "ok: transport_tcp.stalled = $stalled, of them at their fair share (stalled_over_share): $STAT"
assert_ge "$STAT" 1 "server transport_tcp.stalled_over_share"
wait_srv_stat host.sessions_active 2 10
lab_wait_exit "$hog_pid" 30 || fail "pool_hog.py did not end"
grep '^summary' "$LAB_TMP/hog.log" | sed 's/^/    /'
grep -q "^summary sessions=$HOGS welcome=$HOGS lost=$HOGS " "$LAB_TMP/hog.log" ||
  fail "pool_hog summary: $(grep '^summary' "$LAB_TMP/hog.log")"
lab_ping "$(c_ns 1)" 10.10.0.1 5
lab_ping "$(c_ns 3)" 10.10.0.1 5

