#!/usr/bin/env bash
# Tunnel MTU over an underlay link of MTU 1280 (docs/mtu.md): client 1's
# veth pair (both ends) has MTU 1280, client 2's the default 1500.
#  - the TUN MTUs are what docs/mtu.md computes (c1 derived from 1280, c2
#    derived from its 1500 underlay: the stock manifests set no cap);
#  - a packet from c2 too big for c1's tunnel without DF arrives in
#    fragments the hub made (ping succeeds, ipv4.fragmented counts);
#  - a 20 MiB TCP transfer c2 -> c1 completes with a matching sha256, its
#    SYN's MSS clamped at the hub to c1's tunnel MTU - 40 (before c2's
#    kernel learns the path MTU, which would lower the MSS itself);
#  - with DF, c2 gets ICMP "fragmentation needed" with c1's tunnel MTU.
# LAB_TRANSPORT=udp runs the same over transport_udp.
source "$(dirname "$0")/lib.sh"
lab_init mtu_1280
lab_require_tools socat sha256sum
lab_topology 2
ip -n "$SRV_NS" link set "$P-s1" mtu 1280 || fail "mtu 1280 on $P-s1"
ip -n "$(c_ns 1)" link set "$P-c1" mtu 1280 || fail "mtu 1280 on $P-c1"
ip netns exec "$(c_ns 1)" ping -c 1 -W 2 -M do -s $((1280 - 28)) "$(srv_underlay 1)" >/dev/null ||
  fail "underlay: a 1280-byte DF ping from c1 to the server does not pass"

# docs/mtu.md: tunnel MTU = underlay MTU - IP 20 - (TCP 20 + 12 | UDP 8)
#              - transport framing (tcp 4 | udp 8) - cipher overhead (xor 0).
case "$LAB_TRANSPORT" in
  tcp) outer=$((20 + 32 + 4)) ;;
  udp) outer=$((20 + 8 + 8)) ;;
esac
want1=$((1280 - outer))
want2=$((1500 - outer))

start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
c1=${CLIENT_ADDR[1]}

tun_mtu() { ip -n "$(c_ns "$1")" -o link show dev "$P-t$1" | grep -Eo 'mtu [0-9]+' | cut -d' ' -f2; }
assert_eq "$(tun_mtu 1)" "$want1" "client 1 TUN MTU (underlay 1280)"
assert_eq "$(tun_mtu 2)" "$want2" "client 2 TUN MTU (underlay 1500)"
grep -q "mtu $want1)" "${CLIENT_LOG[1]}" || fail "client 1 log does not show the assigned mtu $want1"

# --- too big, no DF: the hub fragments -------------------------------------
size=$((want1 - 28 + 200))  # ICMP payload: the IP packet is want1 + 200 bytes
srv_stat ipv4.fragmented 0
frag0=$STAT
lab_ping "$(c_ns 2)" "$c1" 3 -M dont -s "$size"
srv_stat ipv4.fragmented 0
assert_ge "$STAT" $((frag0 + 3)) "server ipv4.fragmented after 3 pings of $((size + 28)) bytes without DF"

# --- 20 MiB TCP c2 -> c1 --------------------------------------------------
lab_transfer "$(c_ns 2)" "$(c_ns 1)" "$c1" 20 90
srv_stat tcp.mss_clamped 0
assert_ge "$STAT" 1 "server tcp.mss_clamped (the SYN towards c1)"

# --- too big, DF: ICMP fragmentation needed with c1's tunnel MTU ----------
lab_ping "$(c_ns 2)" "$c1" 3 -M do -s $((want1 - 28))  # exactly the tunnel MTU: passes
srv_stat icmp.frag_needed_sent 0
icmp0=$STAT
log "ping -M do -s $((want1 - 28 + 1)) $c1 from c2 (one byte too big for c1's tunnel)"
out=$(ip netns exec "$(c_ns 2)" ping -n -c 2 -i 0.3 -W 1 -M do -s $((want1 - 28 + 1)) "$c1" 2>&1)
echo "$out" | sed 's/^/    /'
grep -Eq "Frag needed and DF set \(mtu = $want1\)|mtu ?= ?$want1" <<<"$out" ||
  fail "c2 did not learn c1's tunnel MTU $want1 from an ICMP fragmentation needed"
grep -q "Frag needed and DF set (mtu = $want1)" <<<"$out" || fail "no ICMP 'Frag needed' (mtu = $want1) reached ping"
log "ok: ping saw 'Frag needed and DF set (mtu = $want1)'"
srv_stat icmp.frag_needed_sent 0
assert_ge "$STAT" $((icmp0 + 1)) "server icmp.frag_needed_sent"
stat_get "$LAB_TMP/srv.stats" drop.too_big_df 0
assert_ge "$STAT" 1 "server drop.too_big_df"
# The kernel of c2 now knows the path MTU to c1 (a route exception).
ip -n "$(c_ns 2)" route get "$c1" | grep -q "mtu $want1" ||
  fail "c2 has no path MTU $want1 for $c1: $(ip -n "$(c_ns 2)" route get "$c1")"
log "ok: c2's kernel caches path MTU $want1 for $c1"

