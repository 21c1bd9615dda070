#!/usr/bin/env bash
# TunnelVision / TunnelCrack on a connected route_all client: routes that a
# hostile DHCP server (option 121) or router advertisement would add -
# 198.51.100.0/25 via the underlay gateway, 2001:db8:ffff::/64 via the
# router's link-local address (an RA's route information option), and the
# client's own on-link 2001:db8:1::/64 (an RA's prefix) - are more specific
# than any route to the tunnel in the main table. device_tun's policy
# routing looks up its own table (a default route through the TUN, and
# IPv6 unreachable) before the main table, so they do not matter:
#  - 12 pings to 198.51.100.1 go through the tunnel: tcpdump on the client's
#    underlay interface sees 0 of them in the clear, tcpdump on the hub's
#    TUN sees all 12, and the replies come back (through the gateway's NAT);
#  - IPv6 pings to both /64s leave nothing on the underlay (block_ipv6);
#    link-local IPv6 still works;
#  - traffic outside the hostile /25 goes through the tunnel as before;
#  - the rules and the table are the documented ones, and a clean exit
#    leaves the namespace's routes, rules and nftables exactly as before.
# All of it twice: without the kill switch (kill_switch = false: routing
# alone must hold) and with it (the default with on_tunnel_down = "block").
# The internet routes back to the client's underlay address and the gateway
# forwards, so a packet that leaked in the clear would be answered too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_tunnelvision
lab_require_tools tcpdump
gw_topology 1
gw_inet_route_back
gw_start_inet
gw_file f 16
C=$(c_ns 1)
TABLE=10010  # device_tun's defaults: route_table, route_rule_priority
PRIO=10000
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=1
gw_ipv6_underlay
ip -n "$SRV_NS" -6 addr add fe80::1/64 dev "$P-s1" nodad || fail "link-local address in $SRV_NS"
gw_snapshot "$C" "$LAB_TMP/c1.before"

hostile_routes() {
  ip -n "$C" route add 198.51.100.0/25 via "$(srv_underlay 1)" dev "$P-c1" || fail "hostile IPv4 route"
  ip -n "$C" -6 route add 2001:db8:ffff::/64 via fe80::1 dev "$P-c1" proto ra || fail "hostile IPv6 route"
  log "hostile routes in main: $(ip -n "$C" route show 198.51.100.0/25) / $(ip -n "$C" -6 route show 2001:db8:ffff::/64)"
}
hostile_routes_gone() {
  ip -n "$C" route del 198.51.100.0/25 2>/dev/null
  ip -n "$C" -6 route del 2001:db8:ffff::/64 2>/dev/null
}
ECHO6="icmp6 and ip6[40] == 128 and (dst net 2001:db8:ffff::/64 or dst net 2001:db8:1::/64)"

# attack TAG: the hostile routes, the pings, the evidence.
attack() {
  local tag=$1 cap_c cap_g n
  hostile_routes
  gw_capture "$tag-c1" "$C" "$P-c1"
  cap_c=$CAP
  gw_capture "$tag-gw" "$SRV_NS" "$P-gw"
  cap_g=$CAP
  ip netns exec "$C" ping -n -c 12 -i 0.1 -W 2 "$INET_ADDR" >"$LAB_TMP/ping4-$tag.txt" 2>&1
  ip netns exec "$C" ping -6 -n -c 6 -i 0.1 -W 1 2001:db8:ffff::1 >"$LAB_TMP/ping6-$tag.txt" 2>&1
  ip netns exec "$C" ping -6 -n -c 6 -i 0.1 -W 1 2001:db8:1::1 >"$LAB_TMP/ping6-onlink-$tag.txt" 2>&1
  # A ping to the server's own address, which stays on the underlay: once
  # tcpdump has written it, it has written everything sent before it.
  ip netns exec "$C" ping -n -c 1 -W 2 "$GW_PUBLIC" >/dev/null 2>&1 || fail "$tag: the server's address does not answer"
  gw_pcap_wait "$tag-c1" "icmp and dst host $GW_PUBLIC" 1

  n=$(gw_pcap_count "$tag-c1" "ip and dst net 198.51.100.0/24")
  assert_eq "$n" 0 "$tag: IPv4 packets to 198.51.100.0/24 in the clear on $P-c1"
  assert_eq "$(gw_pcap_count "$tag-c1" "$ECHO6")" 0 "$tag: IPv6 echo requests to the hostile /64s in the clear on $P-c1"
  gw_pcap_wait "$tag-gw" "icmp[icmptype] == icmp-echo and dst host $INET_ADDR" 12
  log "ok: $tag: the hub's TUN $P-gw carried all 12 echo requests to $INET_ADDR"
  grep -q "12 received" "$LAB_TMP/ping4-$tag.txt" || fail "$tag: pings through the tunnel not answered: $(tail -n 2 "$LAB_TMP/ping4-$tag.txt")"
  grep -Eiq " 0 received|unreachable|no route to host" "$LAB_TMP/ping6-$tag.txt" || fail "$tag: IPv6 pings answered: $(tail -n 2 "$LAB_TMP/ping6-$tag.txt")"
  grep -Eiq " 0 received|unreachable|no route to host" "$LAB_TMP/ping6-onlink-$tag.txt" ||
    fail "$tag: IPv6 pings to the on-link /64 answered: $(tail -n 2 "$LAB_TMP/ping6-onlink-$tag.txt")"
  gw_fetch "$C" "http://$INET_OTHER/f" "$LAB_TMP/f-$tag.got" 10 || fail "$tag: traffic outside the hostile route fails"
  lab_stop "$cap_c"
  lab_stop "$cap_g"
  log "ok: $tag: the hostile routes took nothing out of the tunnel (IPv4 through it, IPv6 blocked)"
}

# rules_in_place TAG: the documented rules and table.
rules_in_place() {
  local r4 r6 t4 t6
  r4=$(ip -n "$C" -4 rule show)
  r6=$(ip -n "$C" -6 rule show)
  t4=$(ip -n "$C" -4 route show table "$TABLE")
  t6=$(ip -n "$C" -6 route show table "$TABLE")
  printf '%s\n' "$r4" "$t4" "$r6" "$t6" | sed 's/^/    /'
  grep -Eq "^$PRIO:\s+from all to $GW_PUBLIC lookup main proto 118" <<<"$r4" || fail "$1: no rule to the server's address"
  grep -Eq "^$((PRIO + 2)):\s+from all lookup $TABLE proto 118" <<<"$r4" || fail "$1: no IPv4 rule to table $TABLE"
  grep -Eq "^$PRIO:\s+from all to fe80::/10 lookup main proto 118" <<<"$r6" || fail "$1: no link-local rule"
  grep -Eq "^$PRIO:\s+from all to ff00::/8 lookup main proto 118" <<<"$r6" || fail "$1: no multicast rule"
  grep -Eq "^$((PRIO + 2)):\s+from all lookup $TABLE proto 118" <<<"$r6" || fail "$1: no IPv6 rule to table $TABLE"
  grep -q "^default dev $P-t1 proto 118 scope link src ${CLIENT_ADDR[1]}" <<<"$t4" || fail "$1: table $TABLE: no default route through $P-t1"
  grep -q "^unreachable default dev lo proto 118" <<<"$t6" || fail "$1: table $TABLE: no IPv6 unreachable default"
  grep -q "/1 dev" <<<"$(ip -n "$C" -4 route show)" && fail "$1: /1 routes in the main table"
  log "ok: $1: rules $PRIO (the server, link-local, multicast: main) and $((PRIO + 2)) (table $TABLE) in place"
}

gw_start_server

log "kill_switch = false: policy routing alone"
gw_start_client 1 --set device.kill_switch=false
wait_client 1
attack open
rules_in_place open
ip netns exec "$C" ping -6 -n -c 1 -W 2 "fe80::1%$P-c1" >/dev/null || fail "link-local IPv6 no longer works"
log "ok: link-local IPv6 still reaches the router"
lab_stop "${CLIENT_PID[1]}"
hostile_routes_gone
gw_same_as "$LAB_TMP/c1.before" "$C" "kill_switch = false, after SIGTERM"

log "with the kill switch (on_tunnel_down = block, the default)"
gw_start_client 1
wait_client 1
wait_for_log "${CLIENT_LOG[1]}" "kill switch on" 5 "${CLIENT_PID[1]}"
attack guarded
rules_in_place guarded
lab_stop "${CLIENT_PID[1]}"
hostile_routes_gone
gw_same_as "$LAB_TMP/c1.before" "$C" "kill switch, after SIGTERM"
