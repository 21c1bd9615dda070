#!/usr/bin/env bash
# Two route-all clients behind the gateway at once, each with its own
# connection:
#  - both download a different 4 MiB file at the same time; each gets
#    exactly its own file (sha256), the web server saw both requests from the
#    gateway's outward address;
#  - at the same time each pings the internet host 20 times, all answered;
#  - the clients still reach each other through the hub (10.10.0.x);
#  - the gateway's per-session counters show each session carried its own
#    download (tx_bytes >= 4 MiB on both) to its own underlay peer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_two_clients
gw_topology 2
gw_start_inet
gw_file one 4096
gw_file two 4096

gw_start_server
gw_start_client 1
gw_start_client 2
wait_client 1
wait_client 2
[ "${CLIENT_ADDR[1]}" != "${CLIENT_ADDR[2]}" ] || fail "both clients got ${CLIENT_ADDR[1]}"

log "both clients download their own 4 MiB file and ping $INET_ADDR at the same time"
gw_fetch "$(c_ns 1)" "http://$INET_ADDR/one" "$LAB_TMP/one.got" 30 &
f1=$!
gw_fetch "$(c_ns 2)" "http://$INET_ADDR/two" "$LAB_TMP/two.got" 30 &
f2=$!
ip netns exec "$(c_ns 1)" ping -n -c 20 -i 0.05 -W 2 "$INET_ADDR" >"$LAB_TMP/ping1.txt" 2>&1 &
p1=$!
ip netns exec "$(c_ns 2)" ping -n -c 20 -i 0.05 -W 2 "$INET_ADDR" >"$LAB_TMP/ping2.txt" 2>&1 &
p2=$!
wait "$f1" || fail "client 1's download failed: $(cat "$LAB_TMP/one.got.err")"
wait "$f2" || fail "client 2's download failed: $(cat "$LAB_TMP/two.got.err")"
wait "$p1" || fail "client 1's ping failed: $(tail -n 2 "$LAB_TMP/ping1.txt")"
wait "$p2" || fail "client 2's ping failed: $(tail -n 2 "$LAB_TMP/ping2.txt")"
for i in 1 2; do
  grep -q " 20 received, 0% packet loss" "$LAB_TMP/ping$i.txt" || fail "client $i lost pings: $(tail -n 2 "$LAB_TMP/ping$i.txt")"
done
log "ok: 20/20 pings answered on each client"
cmp -s "$LAB_TMP/www/one" "$LAB_TMP/one.got" || fail "client 1 did not get exactly /one"
cmp -s "$LAB_TMP/www/two" "$LAB_TMP/two.got" || fail "client 2 did not get exactly /two"
log "ok: client 1 got /one ($(sha256sum <"$LAB_TMP/one.got" | cut -c1-12)...), client 2 got /two ($(sha256sum <"$LAB_TMP/two.got" | cut -c1-12)...)"
assert_eq "$(gw_http_sources one)" "${GW_OUT_ADDR}x1 " "source the web server saw for /one"
assert_eq "$(gw_http_sources two)" "${GW_OUT_ADDR}x1 " "source the web server saw for /two"

lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 3

srv_stats
for i in 1 2; do
  sid=$(awk -v a="${CLIENT_ADDR[$i]}" '$1 ~ /^session\.[0-9]+\.address$/ && $2 == a { split($1, p, "."); print p[2] }' "$LAB_TMP/srv.stats")
  [ -n "$sid" ] || fail "no session with address ${CLIENT_ADDR[$i]} in the server's stats"
  stat_get "$LAB_TMP/srv.stats" "session.$sid.tx_bytes"
  assert_ge "$STAT" $((4096 * 1024)) "bytes the gateway sent to client $i (session $sid)"
  stat_get "$LAB_TMP/srv.stats" "session.$sid.peer"
  case "$STAT" in "$(c_underlay "$i")":*) ;; *) fail "session $sid of ${CLIENT_ADDR[$i]} has peer $STAT, expected $(c_underlay "$i"):*" ;; esac
done
log "ok: each client's session carried its own download"
