#!/usr/bin/env bash
# Loss on the underlay (nftables in the lab namespaces; this kernel has no
# netem):
#  1. transport_udp, every third datagram to/from the server's port dropped
#     while c1 connects: its first HELLO, the first COOKIE (address proof,
#     protocol.md 11.7) and the first HELLO carrying the cookie are lost;
#     the retransmissions fetch a COOKIE again and carry it; one session,
#     no protocol error;
#  2. transport_udp, 2 % random loss in both directions on c1's link, per
#     packet (GSO trains and TSO bursts split first, see random_loss): a
#     20 MiB TCP transfer c1 -> c2 through the hub completes intact;
#  3. the same transfer over transport_tcp (TCP in TCP), for comparison.
# Each transfer's goodput is logged ("goodput udp/tcp at 2 % loss").
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init loss
lab_require_tools nft socat sha256sum
LOSS_PERCENT=${LOSS_PERCENT:-2}
lab_topology 2
ns1=$(c_ns 1)

loss_rules() {  # loss_rules EXPR: drop tunnel datagrams/segments matching EXPR in c1's namespace
  ip netns exec "$ns1" nft delete table inet vhloss 2>/dev/null
  ip netns exec "$ns1" nft -f - <<NFT || fail "nft rules in $ns1"
table inet vhloss {
  chain out { type filter hook output priority 0; meta l4proto { tcp, udp } th dport $LAB_PORT $1 counter drop; }
  chain in { type filter hook input priority 0; meta l4proto { tcp, udp } th sport $LAB_PORT $1 counter drop; }
}
NFT
}
loss_dropped() {
  DROPPED=$( { ip netns exec "$ns1" nft list table inet vhloss 2>/dev/null
               ip netns exec "$SRV_NS" nft list table inet vhloss 2>/dev/null; } |
             grep -Eo 'packets [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
}
# random_loss PERCENT: per-packet random loss in both directions on c1's
# link. A GSO train (transport_udp) or TSO burst (transport_tcp) passes the
# sender's output hook, and crosses a veth, as ONE packet: so both veth ends
# split them (gso_max_segs 1) and each direction is dropped where it
# arrives (c1's input; the server's input from c1's link).
random_loss() {
  ip -n "$ns1" link set "$P-c1" gso_max_segs 1 || fail "gso_max_segs on $P-c1"
  ip -n "$SRV_NS" link set "$P-s1" gso_max_segs 1 || fail "gso_max_segs on $P-s1"
  local ns rule
  for ns in "$ns1" "$SRV_NS"; do ip netns exec "$ns" nft delete table inet vhloss 2>/dev/null; done
  rule="meta l4proto { tcp, udp } numgen random mod 100 < $1 counter drop"
  ip netns exec "$ns1" nft -f - <<NFT || fail "nft rules in $ns1"
table inet vhloss {
  chain in { type filter hook input priority 0; th sport $LAB_PORT $rule; }
}
NFT
  ip netns exec "$SRV_NS" nft -f - <<NFT || fail "nft rules in $SRV_NS"
table inet vhloss {
  chain in { type filter hook input priority 0; iifname "$P-s1" th dport $LAB_PORT $rule; }
}
NFT
}

# --- 1. the handshake through a link that loses every third datagram -------
start_server
loss_rules "numgen inc mod 3 == 0"
start_client 1
wait_client 1 15
loss_dropped
assert_ge "$DROPPED" 3 "datagrams dropped while c1 connected (HELLO, COOKIE, HELLO with the cookie)"
ip netns exec "$ns1" nft delete table inet vhloss
lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"
stat_get "$LAB_TMP/c1.stats" transport_udp.retransmits
assert_ge "$STAT" 2 "c1 transport_udp.retransmits"
stat_get "$LAB_TMP/c1.stats" transport_udp.cookie_resends
assert_ge "$STAT" 1 "c1 transport_udp.cookie_resends (the HELLO again at once with a COOKIE's cookie)"
srv_stat transport_udp.cookies_sent
assert_ge "$STAT" 2 "server transport_udp.cookies_sent (the first one lost)"
stat_get "$LAB_TMP/srv.stats" transport_udp.sessions_opened
assert_eq "$STAT" 1 "server transport_udp.sessions_opened"
stat_get "$LAB_TMP/srv.stats" host.protocol_errors 0
assert_eq "$STAT" 0 "server host.protocol_errors"
lab_ping "$ns1" 10.10.0.1 5

# --- 2./3. 20 MiB with random loss, over each transport ----------------------
transfer() {  # transfer NAME: 20 MiB c1 -> c2 through the tunnel, checked; logs the goodput
  local name=$1
  lab_transfer "$ns1" "$(c_ns 2)" "${CLIENT_ADDR[2]}" 20 120 "$name"
  loss_dropped
  log "goodput $name at $LOSS_PERCENT % loss: $(awk -v s="$TRANSFER_SECS" 'BEGIN { printf "%.1f Mbit/s (%.2f s)", 20 * 8 * 1.048576 / s, s }'), $DROPPED tunnel packets dropped on c1's link"
  assert_ge "$DROPPED" 10 "$name: tunnel packets dropped on c1's link"
}

start_client 2
wait_client 2
random_loss "$LOSS_PERCENT"
transfer udp
lab_assert_transport_used
ip netns exec "$ns1" nft delete table inet vhloss
ip netns exec "$SRV_NS" nft delete table inet vhloss

log "the same over transport_tcp"
lab_stop "${CLIENT_PID[1]}"
lab_stop "${CLIENT_PID[2]}"
lab_stop "$SRV_PID"
LAB_TRANSPORT=tcp
SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server.manifest
CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client.manifest
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
random_loss "$LOSS_PERCENT"
transfer tcp
