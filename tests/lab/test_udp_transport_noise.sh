#!/usr/bin/env bash
# The secure manifests over UDP (secure-server-udp / secure-client-udp:
# cipher_noise + transport_udp), two authorized clients:
#  - alice (fixed address) and bob (pool) get their addresses and reach the
#    hub and each other;
#  - bob's handshake survives loss: in bob's namespace nftables drops every
#    third datagram to and from the server's port while bob connects, so
#    his first Noise initiation, the server's first response and his first
#    HELLO are lost; transport_udp retransmits and the server answers the
#    duplicate initiation with its response again; bob gets one session,
#    with no protocol error and no second handshake on the server;
#  - the underlay carries UDP datagrams without the tunnel's plaintext;
#  - bob reconnects (new source port, new session) and keeps his address.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init noise
lab_require_tools nft tcpdump
source "$(dirname "$0")/noise_lib.sh"

lab_topology 2
noise_authorize alice=10.10.0.10 bob
noise_start_server
noise_start_client 1 alice
wait_client 1
assert_eq "${CLIENT_ADDR[1]}" 10.10.0.10 "alice's address (fixed)"

# --- bob connects through a link that loses every third datagram ------------
ns2=$(c_ns 2)
ip netns exec "$ns2" nft -f - <<NFT || fail "nft rules in $ns2"
table inet vhloss {
  chain out { type filter hook output priority 0; udp dport $LAB_PORT numgen inc mod 3 == 0 counter drop; }
  chain in { type filter hook input priority 0; udp sport $LAB_PORT numgen inc mod 3 == 0 counter drop; }
}
NFT
log "nftables in $ns2: every third datagram to and from udp port $LAB_PORT dropped"
noise_start_client 2 bob
wait_client 2 20
dropped=$(ip netns exec "$ns2" nft list table inet vhloss | grep -Eo 'packets [0-9]+' | awk '{ s += $2 } END { print s }')
ip netns exec "$ns2" nft delete table inet vhloss || fail "cannot remove the loss rules"
assert_ge "$dropped" 3 "datagrams dropped while bob connected (initiation, response, HELLO)"
[ "${CLIENT_ADDR[2]##*.}" -ge 100 ] || fail "bob's address ${CLIENT_ADDR[2]} is not from the pool"
lab_stats "${CLIENT_PID[2]}" "$LAB_TMP/c2.stats"
stat_get "$LAB_TMP/c2.stats" transport_udp.retransmits
assert_ge "$STAT" 2 "bob's transport_udp.retransmits"
srv_stat transport_udp.replies_resent
assert_ge "$STAT" 1 "server transport_udp.replies_resent (the response, for bob's repeated initiation)"
stat_get "$LAB_TMP/srv.stats" cipher_noise.handshakes_completed
assert_eq "$STAT" 2 "server cipher_noise.handshakes_completed (alice, bob: one each)"
stat_get "$LAB_TMP/srv.stats" transport_udp.sessions_opened
assert_eq "$STAT" 2 "server transport_udp.sessions_opened"
stat_get "$LAB_TMP/srv.stats" host.protocol_errors 0
assert_eq "$STAT" 0 "server host.protocol_errors"
stat_get "$LAB_TMP/srv.stats" cipher_noise.replayed_initiation 0
assert_eq "$STAT" 0 "server cipher_noise.replayed_initiation (copies never reached the cipher)"

# --- traffic, captured on alice's underlay link -----------------------------
pat=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump.log" tcpdump -i "$P-s1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/under.pcap"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump.log" "listening on" 10 "$cap"
for i in 1 2; do lab_ping "$(c_ns "$i")" 10.10.0.1 20 -p "$pat" -s 200; done
lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 5 -p "$pat"
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5 -p "$pat"
sleep 0.5
lab_stop "$cap"
assert_ge "$(tcpdump -r "$LAB_TMP/under.pcap" -n "udp port $LAB_PORT" 2>/dev/null | wc -l)" 50 "UDP datagrams on alice's underlay"
assert_eq "$(tcpdump -r "$LAB_TMP/under.pcap" -n "tcp" 2>/dev/null | wc -l)" 0 "TCP packets on alice's underlay"
assert_eq "$($LABTOOL count "$LAB_TMP/under.pcap" "$pat")" 0 "ping pattern occurrences on the underlay"

# --- bob reconnects: new source port, new session, the same address --------
bob_addr=${CLIENT_ADDR[2]}
lab_stop "${CLIENT_PID[2]}"
wait_srv_stat cipher_noise.client.bob.sessions 0 10   # his BYE ended the old session at once
noise_start_client 2 bob
wait_client 2
assert_eq "${CLIENT_ADDR[2]}" "$bob_addr" "bob's address after reconnecting"
lab_ping "$(c_ns 2)" 10.10.0.1 5
srv_stat cipher_noise.client.bob.sessions
assert_eq "$STAT" 1 "server cipher_noise.client.bob.sessions"
srv_stat cipher_noise.bad_tag
assert_eq "$STAT" 0 "server cipher_noise.bad_tag"
lab_assert_transport_used
