#!/usr/bin/env bash
# The gateway's forward rule keeps every interface but the tunnel from
# opening connections to the clients (not only the masquerade interface):
#  - client 1 is a route_all client of the gateway; namespace c2 is *not* a
#    VPN client but a host on another of the gateway's underlay links
#    ($P-s2), with a route 10.10.0.0/24 via the gateway;
#  - the internet namespace (behind the masquerade interface $P-out) too
#    gets a route 10.10.0.0/24 via the gateway;
#  - from both, pings to client 1's tunnel address and a TCP connect to a
#    listener on it go unanswered, and tcpdump on client 1's TUN sees 0 of
#    those packets arrive;
#  - client 1 itself still fetches from the internet (replies come back in:
#    established), and the gateway's forward chain is the one documented.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_inbound
lab_require_tools tcpdump
gw_topology 2
gw_start_inet
gw_file f 64
C=$(c_ns 1)
X=$(c_ns 2)

gw_start_server
gw_start_client 1
wait_client 1
A=${CLIENT_ADDR[1]}
gw_fetch "$C" "http://$INET_ADDR/f" "$LAB_TMP/f.got" 10 || fail "client 1 cannot fetch through the gateway"
cmp -s "$LAB_TMP/www/f" "$LAB_TMP/f.got" || fail "client 1 got a different /f"
log "ok: client 1 ($A) fetches through the gateway"

ip -n "$X" route add 10.10.0.0/24 via "$(srv_underlay 2)" || fail "route to the tunnel network in $X"
ip -n "$INET_NS" route add 10.10.0.0/24 via "$GW_OUT_ADDR" || fail "route to the tunnel network in $INET_NS"
lab_bg "$C" "$LAB_TMP/listener.log" timeout 60 python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2222)); s.listen(8); print("listening", flush=True)
while True:
    c, a = s.accept(); print("accepted", a[0], flush=True); c.close()' "$A"
wait_for_log "$LAB_TMP/listener.log" listening 10 "$LAB_LAST_PID"

lab_bg "$C" "$LAB_TMP/tcpdump-tun.log" tcpdump -i "$P-t1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/tun.pcap"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump-tun.log" "listening on" 10 "$cap"

probe() {  # probe NS WHAT: 5 pings and one TCP connect to $A:2222 from NS must fail
  if ip netns exec "$1" ping -n -c 5 -i 0.2 -W 1 "$A" >"$LAB_TMP/ping-$1.txt" 2>&1; then
    fail "$2 pinged client 1's tunnel address $A: $(tail -n 2 "$LAB_TMP/ping-$1.txt")"
  fi
  grep -q " 0 received" "$LAB_TMP/ping-$1.txt" || fail "$2: some pings to $A were answered: $(tail -n 2 "$LAB_TMP/ping-$1.txt")"
  if ip netns exec "$1" timeout 5 python3 -c '
import socket, sys
socket.create_connection((sys.argv[1], 2222), timeout=2).close()' "$A" 2>/dev/null; then
    fail "$2 opened a TCP connection to client 1 ($A:2222)"
  fi
  log "ok: $2 cannot ping $A nor connect to $A:2222"
}
probe "$X" "a host on the gateway's underlay link $P-s2"
probe "$INET_NS" "the internet (behind the masquerade interface $P-out)"
sleep 0.5
lab_stop "$cap"

grep -q accepted "$LAB_TMP/listener.log" && fail "client 1's listener accepted a connection from outside: $(cat "$LAB_TMP/listener.log")"
n=$(tcpdump -r "$LAB_TMP/tun.pcap" -n "not src net 10.10.0.0/24 and dst host $A" 2>/dev/null | wc -l)
assert_eq "$n" 0 "packets from outside the tunnel network that reached client 1's TUN"
log "ok: tcpdump on $P-t1: 0 packets from outside reached client 1"

ip netns exec "$SRV_NS" nft list chain inet "vpnhost_${P}_gw" forward >"$LAB_TMP/fwd.txt" 2>&1 || fail "no forward chain: $(cat "$LAB_TMP/fwd.txt")"
grep -q "iifname != \"$P-gw\" oifname \"$P-gw\" drop" "$LAB_TMP/fwd.txt" || fail "forward chain without the drop rule: $(cat "$LAB_TMP/fwd.txt")"

gw_fetch "$C" "http://$INET_ADDR/f" "$LAB_TMP/f2.got" 10 || fail "client 1 cannot fetch after the probes"
log "ok: client 1 still fetches through the gateway"
