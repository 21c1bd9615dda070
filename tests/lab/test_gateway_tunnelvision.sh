#!/usr/bin/env bash
# TunnelVision / TunnelCrack on a route_all client: a more specific route
# that a hostile DHCP server (option 121) or router advertisement would add
# - 198.51.100.0/25 via the underlay gateway, and for IPv6
# 2001:db8:ffff::/64 via the underlay router - beats the /1 routes and
# block_ipv6's unreachable /1s. The internet routes back to the client's
# underlay address, so a leak would be answered.
#  - control (kill_switch = false, the routes only): the attack works in this
#    lab: pings to 198.51.100.1 and 2001:db8:ffff::1 leave on the underlay
#    in the clear (tcpdump counts them);
#  - with the kill switch (the default with on_tunnel_down = "block"):
#    the same routes, the same pings: tcpdump on the client's underlay sees
#    0 packets to either network; the traffic is dropped, not leaked
#    (traffic outside the hostile /25 still goes through the tunnel).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_tunnelvision
lab_require_tools tcpdump
gw_topology 1
gw_inet_route_back
gw_start_inet
gw_file f 16
C=$(c_ns 1)
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=1
ip -n "$C" -6 addr add 2001:db8:1::2/64 dev "$P-c1" nodad || fail "IPv6 address in $C"
ip -n "$SRV_NS" -6 addr add 2001:db8:1::1/64 dev "$P-s1" nodad || fail "IPv6 address in $SRV_NS"
ip -n "$C" -6 route add default via 2001:db8:1::1 dev "$P-c1" || fail "IPv6 default route in $C"

capture() {
  lab_bg "$C" "$LAB_TMP/tcpdump-$1.log" tcpdump -i "$P-c1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/$1.pcap"
  CAP=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/tcpdump-$1.log" "listening on" 10 "$CAP"
}
hostile_routes() {
  ip -n "$C" route add 198.51.100.0/25 via "$(srv_underlay 1)" dev "$P-c1" || fail "hostile IPv4 route"
  ip -n "$C" -6 route add 2001:db8:ffff::/64 via 2001:db8:1::1 dev "$P-c1" || fail "hostile IPv6 route"
  log "hostile routes: $(gw_route_get "$C" "$INET_ADDR") / $(gw_route_get6 "$C" 2001:db8:ffff::1)"
}
hostile_routes_gone() {
  ip -n "$C" route del 198.51.100.0/25 2>/dev/null
  ip -n "$C" -6 route del 2001:db8:ffff::/64 2>/dev/null
}
pings() {
  ip netns exec "$C" ping -n -c 12 -i 0.1 -W 1 "$INET_ADDR" >"$LAB_TMP/ping4-$1.txt" 2>&1
  ip netns exec "$C" ping -6 -n -c 6 -i 0.1 -W 1 2001:db8:ffff::1 >"$LAB_TMP/ping6-$1.txt" 2>&1
  true
}
clear4() { tcpdump -r "$LAB_TMP/$1.pcap" -n "ip and dst net 198.51.100.0/24" 2>/dev/null | wc -l; }
clear6() { tcpdump -r "$LAB_TMP/$1.pcap" -n "ip6 and dst net 2001:db8:ffff::/48" 2>/dev/null | wc -l; }

gw_start_server

log "control: kill_switch = false, routes only"
gw_start_client 1 --set device.kill_switch=false
wait_client 1
hostile_routes
capture control
pings control
sleep 0.3
lab_stop "$CAP"
assert_ge "$(clear4 control)" 12 "IPv4 packets to 198.51.100.0/24 in the clear on $P-c1 (control: the attack works here)"
assert_ge "$(clear6 control)" 6 "IPv6 packets to 2001:db8:ffff::/64 in the clear on $P-c1 (control)"
lab_stop "${CLIENT_PID[1]}"
hostile_routes_gone

log "with the kill switch (on_tunnel_down = block, the default)"
gw_start_client 1
wait_client 1
wait_for_log "${CLIENT_LOG[1]}" "kill switch on" 5 "${CLIENT_PID[1]}"
hostile_routes
capture guarded
pings guarded
gw_fetch "$C" "http://$INET_OTHER/f" "$LAB_TMP/f.got" 10 || fail "traffic outside the hostile route no longer goes through the tunnel"
sleep 0.3
lab_stop "$CAP"
grep -q " 0 received" "$LAB_TMP/ping4-guarded.txt" || fail "IPv4 pings were answered: $(tail -n 2 "$LAB_TMP/ping4-guarded.txt")"
assert_eq "$(clear4 guarded)" 0 "IPv4 packets to 198.51.100.0/24 in the clear on $P-c1"
assert_eq "$(clear6 guarded)" 0 "IPv6 packets to 2001:db8:ffff::/64 in the clear on $P-c1"
log "ok: tcpdump on $P-c1: 0 packets in the clear through the hostile routes (IPv4 and IPv6)"
