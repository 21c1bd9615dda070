#!/usr/bin/env bash
# What route_all does while the tunnel is down (the gateway is gone and the
# clients are reconnecting): client 1 has on_tunnel_down = "block" (the
# default), client 2 "fallback". The internet can answer the clients'
# underlay addresses directly here (route back, forwarding on in the
# gateway's namespace), so a leak would get through.
#  - with the tunnel up both fetch through the gateway's NAT;
#  - gateway SIGTERM (both clients told to stay: on_server_bye = reconnect):
#    client 2 logs "tunnel down", its rules to table 10010 go,
#    its fetch now goes directly (the web server sees 172.31.2.2); client 1
#    keeps its routes on the tunnel and its fetch fails: nothing leaks;
#  - gateway back: both reconnect, client 2's rules come back, both fetch
#    through the NAT again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_tunnel_down
gw_topology 2
gw_inet_route_back
gw_start_inet
gw_file f 64

fetch_from() {  # fetch_from I TAG: client I fetches /f; records the source the server saw
  gw_fetch "$(c_ns "$1")" "http://$INET_ADDR/f?$2" "$LAB_TMP/f-$2.got" "${3:-10}" || return 1
  cmp -s "$LAB_TMP/www/f" "$LAB_TMP/f-$2.got" || fail "client $1 got a different /f"
  SEEN=$(awk -v f="GET /f?$2 " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log")
}

gw_start_server
gw_start_client 1 --set host.on_server_bye=reconnect --set host.reconnect_max=1500
gw_start_client 2 --set host.on_server_bye=reconnect --set host.reconnect_max=1500 --set device.on_tunnel_down=fallback
wait_client 1
wait_client 2
for i in 1 2; do
  fetch_from "$i" "up$i" || fail "client $i cannot fetch with the tunnel up"
  assert_eq "$SEEN" "$GW_OUT_ADDR" "source the web server saw for client $i (tunnel up)"
done

log "gateway stops (SIGTERM); the clients stay and reconnect"
lab_stop "$SRV_PID"
assert_eq "$LAB_EXIT_RC" 0 "gateway exit status"
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=1  # a router that still forwards: a leak would work
wait_for_log "${CLIENT_LOG[2]}" "tunnel down: routes through the tunnel removed" 5 "${CLIENT_PID[2]}"
wait_for_log "${CLIENT_LOG[1]}" "reconnecting in" 5 "${CLIENT_PID[1]}"
r1=$(gw_route_get "$(c_ns 1)" "$INET_ADDR")
r2=$(gw_route_get "$(c_ns 2)" "$INET_ADDR")
grep -q "dev $P-t1 " <<<"$r1" || fail "block: client 1's route left the tunnel: $r1"
grep -q "via 172.31.2.1 dev $P-c2" <<<"$r2" || fail "fallback: client 2 still routes into the tunnel: $r2"
grep -q "lookup 10010" <<<"$(ip -n "$(c_ns 2)" rule show; ip -n "$(c_ns 2)" -6 rule show)" &&
  fail "fallback: client 2 still has rules to its table"
grep -q "lookup 10010" <<<"$(ip -n "$(c_ns 1)" rule show)" || fail "block: client 1's rule to its table went"
log "ok: block keeps $r1"
log "ok: fallback went back to $r2 (no rule to table 10010)"
fetch_from 2 down2 || fail "fallback: client 2 cannot fetch directly: $(cat "$LAB_TMP/f-down2.got.err")"
assert_eq "$SEEN" "$(c_underlay 2)" "source the web server saw for client 2 (fallback, tunnel down)"
if fetch_from 1 down1 3; then fail "block: client 1 fetched around the tunnel (seen from $SEEN)"; fi
grep -q "GET /f?down1" "$LAB_TMP/inet-http.log" && fail "block: the web server got client 1's request"
log "ok: block: client 1's fetch failed, nothing reached the internet"
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=0

log "gateway back"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-1.log"
gw_start_server
wait_for_log "${CLIENT_LOG[2]}" "TUN $P-t2 (kept|reconfigured)" 10 "${CLIENT_PID[2]}"
wait_for_log "${CLIENT_LOG[1]}" "TUN $P-t1 (kept|reconfigured)" 10 "${CLIENT_PID[1]}"
r2=$(gw_route_get "$(c_ns 2)" "$INET_ADDR")
grep -q "dev $P-t2 " <<<"$r2" || fail "fallback: client 2's routes did not come back: $r2"
assert_eq "$(ip -n "$(c_ns 2)" rule show | grep -c "lookup 10010")" 1 "client 2's IPv4 rules to table 10010 after the reconnect"
for i in 1 2; do
  fetch_from "$i" "again$i" || fail "client $i cannot fetch after the reconnect: $(cat "$LAB_TMP/f-again$i.got.err")"
  assert_eq "$SEEN" "$GW_OUT_ADDR" "source the web server saw for client $i (tunnel back)"
done
