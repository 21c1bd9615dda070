#!/usr/bin/env bash
# The kill switch of a route_all client with on_tunnel_down = "block" (the
# stock client-route-all.manifest, plus keep_route_to naming the gateway so
# that it is known before the first connection). The internet can answer
# the client's underlay address directly here (route back, forwarding on in
# the gateway's namespace), so a leak would get through. tcpdump on the
# client's underlay interface records everything that is not the tunnel's
# own traffic to the gateway's public address 172.31.0.1:
#  - control: without vpnhost, the client fetches directly (a leak path exists
#    and tcpdump sees it);
#  - before the first connection (no gateway running, the client retrying):
#    HTTP, ping and DNS to the internet fail, 0 packets on the underlay;
#  - with the tunnel up: the fetch goes through the gateway's NAT;
#  - during a gateway outage (the client reconnecting): they fail, 0 packets;
#  - after the client is killed with SIGKILL: the table inet vpnhostks_<dev>
#    is still there; HTTP, ping, DNS by name (resolv.conf still names the
#    pushed server 198.51.100.1: the down hook never ran) and a query
#    straight to 198.51.100.1:53 fail, 0 packets, the DNS server saw
#    nothing from the client;
#  - `vpnhost unblock <dev>` removes it and route_all's policy rules, which
#    also outlived the crash: the direct fetch works again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_kill_switch
lab_require_tools tcpdump
gw_topology 1
gw_inet_route_back
gw_start_inet
gw_file f 16
C=$(c_ns 1)
U=$(c_underlay 1)
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=1  # a router that forwards: a leak would work

fetch() {  # fetch TAG [TIMEOUT]: GET /f?TAG from the client namespace
  gw_fetch "$C" "http://$INET_ADDR/f?$1" "$LAB_TMP/f-$1.got" "${2:-3}"
}
dns_direct() {  # one A query for www.example.test straight to 198.51.100.1:53; 0 if answered
  ip netns exec "$C" timeout 5 python3 -c '
import socket, struct, sys
q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(q, (sys.argv[1], 53)); s.recvfrom(512)' "$INET_ADDR" 2>/dev/null
}
no_leak() {  # no_leak WHEN: every way out in the clear fails
  local tag=$1
  if fetch "$tag"; then fail "$2: the client fetched /f directly (seen from $(awk -v f="GET /f?$tag " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log"))"; fi
  if ip netns exec "$C" ping -n -c 3 -i 0.2 -W 1 "$INET_OTHER" >"$LAB_TMP/ping-$tag.txt" 2>&1; then
    fail "$2: the client pinged $INET_OTHER"
  fi
  if dns_direct; then fail "$2: a DNS query straight to $INET_ADDR was answered"; fi
  if out=$(ip netns exec "$C" timeout 5 getent ahostsv4 "www.example.test-$tag" 2>&1); then fail "$2: resolved: $out"; fi
  grep -q "GET /f?$tag" "$LAB_TMP/inet-http.log" && fail "$2: the web server got the request"
  log "ok: $2: HTTP, ping, DNS from $C all fail"
}
capture() {  # capture NAME: tcpdump on the client's underlay interface
  lab_bg "$C" "$LAB_TMP/tcpdump-$1.log" tcpdump -i "$P-c1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/$1.pcap"
  CAP=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/tcpdump-$1.log" "listening on" 10 "$CAP"
}
clear_packets() {  # clear_packets NAME: IPv4 packets captured that are not to/from the gateway's public address
  tcpdump -r "$LAB_TMP/$1.pcap" -n "ip and not host $GW_PUBLIC" 2>/dev/null | tee "$LAB_TMP/$1.clear" | wc -l
}

log "control: without vpnhost the client reaches the internet directly"
capture control
fetch control 5 || fail "control: no direct path from $C to $INET_ADDR: $(cat "$LAB_TMP/f-control.got.err")"
sleep 0.3
lab_stop "$CAP"
assert_ge "$(clear_packets control)" 4 "packets of the direct fetch tcpdump saw on $P-c1 (control)"
log "ok: the direct fetch works and tcpdump sees it ($(grep -c . "$LAB_TMP/control.clear") packets)"

capture leak
# The gateway is not running yet: the client keeps trying to connect.
gw_start_client 1 --set "device.keep_route_to=[\"$GW_PUBLIC\"]" --set host.on_server_bye=reconnect \
  --set host.reconnect_max=1000
wait_for_log "${CLIENT_LOG[1]}" "kill switch on: nftables table inet vpnhostks_${P}_t1" 10 "${CLIENT_PID[1]}"
ip netns exec "$C" nft list table inet "vpnhostks_${P}_t1" >"$LAB_TMP/ks.txt" 2>&1 || fail "no kill switch table: $(cat "$LAB_TMP/ks.txt")"
grep -q "policy drop" "$LAB_TMP/ks.txt" || fail "kill switch without policy drop: $(cat "$LAB_TMP/ks.txt")"
wait_for_log "${CLIENT_LOG[1]}" "cannot connect to" 10 "${CLIENT_PID[1]}"
no_leak before "before the first connection"

gw_start_server
wait_client 1 20
fetch up 10 || fail "the client cannot fetch through the tunnel: $(cat "$LAB_TMP/f-up.got.err")"
assert_eq "$(awk -v f="GET /f?up " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log")" "$GW_OUT_ADDR" "source the web server saw (tunnel up)"
log "ok: with the tunnel up the fetch goes through the gateway"

log "gateway outage: SIGTERM, the client reconnects"
lab_stop "$SRV_PID"
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.ip_forward=1
wait_for_log "${CLIENT_LOG[1]}" "reconnecting in" 10 "${CLIENT_PID[1]}"
no_leak outage "during the outage"

log "the gateway comes back, then the client is killed with SIGKILL"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-1.log"
gw_start_server
wait_for_log "${CLIENT_LOG[1]}" "TUN $P-t1 (kept|reconfigured)" 20 "${CLIENT_PID[1]}"
grep -q "nameserver $INET_ADDR" "/etc/netns/$C/resolv.conf" || fail "the pushed DNS server is not in the resolver file"
kill -KILL "${CLIENT_PID[1]}"
lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client still running after SIGKILL"
ip netns exec "$C" nft list table inet "vpnhostks_${P}_t1" >/dev/null 2>&1 || fail "the kill switch went with the crashed client"
grep -q "nameserver $INET_ADDR" "/etc/netns/$C/resolv.conf" || fail "expected the crashed client's resolver file to remain"
assert_eq "$(ip -n "$C" -4 rule show | grep -c 'proto 118')" 2 "IPv4 policy rules the crashed client left"
no_leak crash "after SIGKILL"

sleep 0.3
lab_stop "$CAP"
n=$(clear_packets leak)
[ "$n" = 0 ] && log "ok: tcpdump on $P-c1: 0 packets in the clear before the first connection, during the outage and after the crash"
[ "$n" = 0 ] || { head -n 20 "$LAB_TMP/leak.clear"; fail "$n packet(s) in the clear on $P-c1"; }
assert_ge "$(tcpdump -r "$LAB_TMP/leak.pcap" -n "host $GW_PUBLIC" 2>/dev/null | wc -l)" 10 "tunnel packets to $GW_PUBLIC captured (the capture worked)"
if grep -q "^$U " "$LAB_TMP/dns-queries.txt" 2>/dev/null; then fail "the DNS server got a query from $U: $(cat "$LAB_TMP/dns-queries.txt")"; fi
log "ok: the DNS server got nothing from the client's underlay address"

log "vpnhost unblock ${P}-t1"
ip netns exec "$C" "$VPNHOST" unblock "$P-t1" >"$LAB_TMP/unblock.txt" 2>&1 || fail "vpnhost unblock failed: $(cat "$LAB_TMP/unblock.txt")"
grep -q "kill switch of $P-t1 removed" "$LAB_TMP/unblock.txt" || fail "vpnhost unblock said: $(cat "$LAB_TMP/unblock.txt")"
grep -q "policy routing of route_all removed (5 rule(s) and 1 route(s)" "$LAB_TMP/unblock.txt" ||
  fail "vpnhost unblock did not remove the rules: $(cat "$LAB_TMP/unblock.txt")"
assert_eq "$( { ip -n "$C" -4 rule show; ip -n "$C" -6 rule show; } | grep -c 'proto 118')" 0 "policy rules after unblock"
ip netns exec "$C" nft list table inet "vpnhostks_${P}_t1" >/dev/null 2>&1 && fail "the kill switch is still there after unblock"
fetch unblocked 5 || fail "after unblock the direct fetch fails: $(cat "$LAB_TMP/f-unblocked.got.err")"
assert_eq "$(awk -v f="GET /f?unblocked " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log")" "$U" "source the web server saw after unblock"
out=$(ip netns exec "$C" "$VPNHOST" unblock "$P-t1" 2>&1) || fail "a second unblock failed: $out"
grep -q "no kill switch" <<<"$out" || fail "a second unblock said: $out"
log "ok: unblock removed it and traffic goes directly again"
