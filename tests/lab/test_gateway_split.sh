#!/usr/bin/env bash
# Split tunnel: a client with routes = ["198.51.100.0/24"] (client.manifest's
# device, no route_all) sends only that network through the tunnel.
#  - the internet can answer the clients' underlay addresses directly here
#    (a route back to 172.31.0.0/16 in $P-inet);
#  - a fetch from 198.51.100.1 goes through the tunnel: the web server sees
#    the gateway's outward address, and the client's TUN carried it;
#  - a fetch from 203.0.113.1 (outside the listed routes) goes around the
#    tunnel: the web server sees the client's own underlay address 172.31.1.2,
#    and not one packet of it appears on the client's TUN device;
#  - no underlay host route is needed (the gateway's address is not covered).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_split
gw_topology 1
gw_inet_route_back
gw_start_inet
gw_file inside 256
gw_file outside 256
C=$(c_ns 1)

gw_start_server
gw_start_client 1 --set device.route_all=false --set "device.routes=[\"198.51.100.0/24\"]"
wait_client 1
grep -q "split tunnel through $P-t1: 1 route(s)" "${CLIENT_LOG[1]}" || fail "client did not log its split-tunnel route"
grep -q "underlay route kept" "${CLIENT_LOG[1]}" && fail "an underlay route was kept although nothing covers the gateway's address"
routes=$(ip -n "$C" -4 route show)
echo "$routes" | sed 's/^/    /'
grep -q "^198.51.100.0/24 dev $P-t1 proto static scope link src ${CLIENT_ADDR[1]}" <<<"$routes" || fail "split route missing"
grep -q "/1 dev" <<<"$routes" && fail "route_all routes present on a split-tunnel client"
r=$(gw_route_get "$C" "$INET_OTHER")
grep -q "via 172.31.1.1 dev $P-c1" <<<"$r" || fail "$INET_OTHER is not routed around the tunnel: $r"
log "ok: only 198.51.100.0/24 goes into $P-t1; $INET_OTHER: $r"

tx0=$(gw_tun_packets "$C" "$P-t1" tx)
gw_fetch "$C" "http://$INET_ADDR/inside" "$LAB_TMP/inside.got" || fail "fetch of /inside failed: $(cat "$LAB_TMP/inside.got.err")"
cmp -s "$LAB_TMP/www/inside" "$LAB_TMP/inside.got" || fail "/inside differs"
tx1=$(gw_tun_packets "$C" "$P-t1" tx)
assert_ge "$((tx1 - tx0))" 20 "TUN packets for the fetch from $INET_ADDR (inside the routes)"
assert_eq "$(gw_http_sources inside)" "${GW_OUT_ADDR}x1 " "source the web server saw for /inside"

rx1=$(gw_tun_packets "$C" "$P-t1" rx)
gw_fetch "$C" "http://$INET_OTHER/outside" "$LAB_TMP/outside.got" || fail "fetch of /outside failed: $(cat "$LAB_TMP/outside.got.err")"
cmp -s "$LAB_TMP/www/outside" "$LAB_TMP/outside.got" || fail "/outside differs"
tx2=$(gw_tun_packets "$C" "$P-t1" tx)
rx2=$(gw_tun_packets "$C" "$P-t1" rx)
assert_eq "$((tx2 - tx1))/$((rx2 - rx1))" "0/0" "TUN packets out/in for the fetch from $INET_OTHER (outside the routes)"
assert_eq "$(gw_http_sources outside)" "$(c_underlay 1)x1 " "source the web server saw for /outside"
