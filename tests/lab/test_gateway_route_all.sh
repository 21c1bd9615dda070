#!/usr/bin/env bash
# NAT gateway, route-all client:
#  - before the VPN the client cannot reach the "internet" (no route back to it);
#  - with the gateway (gateway.manifest, masquerade out of $P-out) and a
#    route_all client (client-route-all.manifest), the client fetches a 1 MiB
#    file from 198.51.100.1 through the tunnel, intact;
#  - the web server saw the gateway's outward address 198.51.100.2, never 10.10.0.x;
#  - the client's routes: the internet through its TUN (policy rules ahead
#    of the main table, table 10010), the gateway's public address
#    172.31.0.1 still through the underlay
#    gateway 172.31.1.1 (the host route device_tun keeps), and the gateway
#    has its nftables table and ip_forward on;
#  - IPv6, which this IPv4 tunnel cannot carry, is unreachable on the client
#    while the tunnel is up (it had an IPv6 default route before), its own
#    local network (an RA's prefix) included; link-local stays.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_route_all
gw_topology 1
gw_start_inet
gw_file blob 1024
C=$(c_ns 1)

gw_ipv6_underlay
r=$(gw_route_get6 "$C" 2001:db8:ffff::1)
grep -q "via 2001:db8:1::1 dev $P-c1" <<<"$r" || fail "IPv6 default route not in use before the VPN: $r"

log "without the VPN: the internet does not answer the client's underlay address"
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=0
gw_fetch "$C" "http://$INET_ADDR/blob" "$LAB_TMP/direct" 3 && fail "the client reached $INET_ADDR without the VPN"
log "ok: no direct path from $C to $INET_ADDR"

gw_start_server
gw_start_client 1
wait_client 1
grep -q "underlay route kept: $GW_PUBLIC/32 via 172.31.1.1 dev $P-c1" "${CLIENT_LOG[1]}" ||
  fail "client did not log the underlay host route to $GW_PUBLIC"

r=$(gw_route_get "$C" "$INET_ADDR")
grep -q "dev $P-t1 " <<<"$r" || fail "route to $INET_ADDR in $C is not through $P-t1: $r"
log "ok: $C routes $INET_ADDR through the tunnel: $r"
r=$(gw_route_get "$C" 8.8.8.8)
grep -q "dev $P-t1 " <<<"$r" || fail "route to 8.8.8.8 in $C is not through $P-t1: $r"
r=$(gw_route_get "$C" "$GW_PUBLIC")
grep -q "via 172.31.1.1 dev $P-c1" <<<"$r" || fail "route to the gateway $GW_PUBLIC is not on the underlay: $r"
log "ok: $C keeps the gateway's address on the underlay: $r"
ip -n "$C" -4 route show | sed 's/^/    /'
r=$(gw_route_get6 "$C" 2001:db8:ffff::1)
grep -q "No route to host" <<<"$r" || fail "IPv6 is not blocked while route_all is on: $r"
r=$(gw_route_get6 "$C" 2001:db8:1::77)
grep -q "No route to host" <<<"$r" || fail "the client's own IPv6 network is not blocked while route_all is on: $r"
r=$(ip -n "$C" -6 route get fe80::1 oif "$P-c1" 2>&1)
grep -q "dev $P-c1" <<<"$r" || fail "link-local IPv6 became unreachable: $r"
log "ok: IPv6 but link-local is unreachable while route_all is on (no leak around the IPv4 tunnel)"

ip netns exec "$SRV_NS" nft list table inet "vpnhost_${P}_gw" >"$LAB_TMP/gw-table.txt" 2>&1 ||
  fail "no nftables table inet vpnhost_${P}_gw on the gateway: $(cat "$LAB_TMP/gw-table.txt")"
grep -q "ip saddr 10.10.0.0/24 oifname \"$P-out\" masquerade" "$LAB_TMP/gw-table.txt" ||
  fail "masquerade rule missing: $(cat "$LAB_TMP/gw-table.txt")"
assert_eq "$(ip netns exec "$SRV_NS" cat /proc/sys/net/ipv4/ip_forward)" 1 "gateway ip_forward while running"

tx0=$(gw_tun_packets "$C" "$P-t1" tx)
log "fetching http://$INET_ADDR/blob (1 MiB) from $C"
gw_fetch "$C" "http://$INET_ADDR/blob" "$LAB_TMP/blob.got" || fail "fetch through the tunnel failed: $(cat "$LAB_TMP/blob.got.err")"
cmp -s "$LAB_TMP/www/blob" "$LAB_TMP/blob.got" || fail "the fetched file differs from the served one"
log "ok: 1 MiB fetched through the tunnel, identical ($(sha256sum <"$LAB_TMP/blob.got" | cut -c1-16)...)"
tx1=$(gw_tun_packets "$C" "$P-t1" tx)
assert_ge "$((tx1 - tx0))" 100 "packets the client sent into its TUN during the fetch"

sources=$(gw_http_sources blob)
assert_eq "$sources" "${GW_OUT_ADDR}x1 " "source address(es) the web server saw for /blob"
grep -q '10\.10\.0\.' "$LAB_TMP/inet-http.log" && fail "the web server saw a tunnel address: $(cat "$LAB_TMP/inet-http.log")"
log "ok: the internet saw only the gateway's outward address"

srv_stat device_tun.packets_out
assert_ge "$STAT" 100 "gateway device_tun.packets_out (packets handed to the kernel for forwarding)"
srv_stat device_tun.packets_in
assert_ge "$STAT" 100 "gateway device_tun.packets_in (replies after NAT)"
