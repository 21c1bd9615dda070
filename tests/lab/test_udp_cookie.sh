#!/usr/bin/env bash
# transport_udp's address proof against HELLO floods, stock UDP manifests
# (cipher_xor, whose key the attacker is given: the worst case, every HELLO
# is valid):
#  1. from one address (c3, 172.31.3.2) across 512 source ports, for 4 s
#     (at most 1 000 000 datagrams), HELLOs in every format a client may use,
#     none echoing a cookie; 1 s into it a legitimate client (c1) starts and
#     must be connected within 2 s;
#  2. 3 000 HELLOs with forged sources through a raw socket (100 addresses
#     in 172.31.3.0/24 that nobody holds, and c2's address 172.31.2.2 from
#     ports c2 never used).
# Then: the server opened no session but c1's (transport_udp.sessions_opened,
# host.sessions_active), no address went to the flood (c1 got 10.10.0.2,
# a second client afterwards 10.10.0.3, at once), c1's pings all come back,
# and the server sent no more bytes to the flooding and the forged addresses
# than it received from them (nftables counters in the server namespace).
# On code without the proof the flood opens sessions, fills the pool and the
# WELCOMEs are 1.75x the HELLOs: every one of these checks fails.
source "$(dirname "$0")/lib.sh"
lab_init udp_cookie
lab_require_tools nft
LAB_TRANSPORT=udp  # (after lab_init: the name stays udp_cookie)
SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server-udp.manifest
CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client-udp.manifest
FLOOD="python3 $LAB_SOURCE_DIR/tests/lab/udp_flood.py"
lab_topology 3
# Forged sources arrive on the attacker's link: no reverse-path filter here
# (this namespace's own setting).
ip netns exec "$SRV_NS" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf."$P-s3".rp_filter=0

# Counters for what comes from the attackers' addresses and what goes back.
ip netns exec "$SRV_NS" nft -f - <<NFT || fail "nft rules in $SRV_NS"
table inet vhcookie {
  chain in {
    type filter hook input priority 0; policy accept;
    ip saddr 172.31.3.0/24 udp dport $LAB_PORT counter name from_attack
    ip saddr 172.31.2.2 udp dport $LAB_PORT counter name from_c2
  }
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr 172.31.3.0/24 udp sport $LAB_PORT counter name to_attack
    ip daddr 172.31.2.2 udp sport $LAB_PORT counter name to_c2
  }
  counter from_attack {}
  counter from_c2 {}
  counter to_attack {}
  counter to_c2 {}
}
NFT
nft_counter() {  # nft_counter NAME -> "PACKETS BYTES"
  ip netns exec "$SRV_NS" nft list counter inet vhcookie "$1" | awk '/packets/ { print $2, $4 }'
}

start_server
srv_stat transport_udp.sessions_opened
assert_eq "$STAT" 0 "sessions before the flood"

# 1. The port flood, and a legitimate client in the middle of it.
lab_bg "$(c_ns 3)" "$LAB_TMP/flood.log" $FLOOD ports "$KEY" "$(srv_underlay 3)" "$LAB_PORT" 512 1000000 4
flood_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/flood.log" '^flooding' 10 "$flood_pid"
# The client comes in the middle of the flood (it runs 4 s): once 10 000 of
# its HELLOs have reached the server's namespace.
end=$((SECONDS + 10))
while :; do
  read -r got _ <<<"$(nft_counter from_attack)"
  [ "$got" -ge 10000 ] && break
  [ "$SECONDS" -ge "$end" ] && fail "only $got flood datagrams reached the server in 10 s"
  sleep 0.1
done
log "the flood is on: $got datagrams in so far"
t0=$EPOCHREALTIME
start_client 1
wait_client 1 10
t1=$EPOCHREALTIME
during=yes
lab_alive "$flood_pid" || during=no  # checked below: the client must connect while the flood runs
connect_ms=$(python3 -c "print(int((float('$t1') - float('$t0')) * 1000))")
log "client 1 connected in $connect_ms ms during the flood"
lab_wait_exit "$flood_pid" 20 || fail "the flood did not stop by itself"
cat "$LAB_TMP/flood.log" | sed 's/^/    /'
sent=$(grep -Eo '^sent [0-9]+' "$LAB_TMP/flood.log" | cut -d' ' -f2)
[ -n "$sent" ] || fail "the flood did not report what it sent"
assert_ge "$sent" 2000 "datagrams of the port flood"

# 2. Forged sources.
lab_bg "$(c_ns 3)" "$LAB_TMP/spoof.log" $FLOOD spoof "$KEY" "$(srv_underlay 3)" "$LAB_PORT" 3000 \
  $(for h in $(seq 100 199); do printf '172.31.3.%s ' "$h"; done) 172.31.2.2
spoof_pid=$LAB_LAST_PID
lab_wait_exit "$spoof_pid" 30 || fail "the forged-source flood did not stop by itself"
assert_eq "$LAB_EXIT_RC" 0 "the forged-source flood's exit status"
sed 's/^/    /' "$LAB_TMP/spoof.log"

# What it cost: nothing but COOKIE datagrams.
srv_stats
for c in sessions_opened sessions_refused cookies_sent cookies_valid cookie_requests_small cookie_replies_dropped \
  bad_datagrams; do
  stat_get "$LAB_TMP/srv.stats" "transport_udp.$c" -
  log "  server transport_udp.$c = $STAT"
done
stat_get "$LAB_TMP/srv.stats" transport_udp.sessions_opened
assert_eq "$STAT" 1 "sessions the server opened (c1's only)"
stat_get "$LAB_TMP/srv.stats" host.sessions_active
assert_eq "$STAT" 1 "active sessions after the floods"
stat_get "$LAB_TMP/srv.stats" transport_udp.cookies_sent
assert_ge "$STAT" 1000 "COOKIE datagrams sent"
stat_get "$LAB_TMP/srv.stats" transport_udp.cookie_requests_small
assert_ge "$STAT" 1000 "16-byte HELLOs (smaller than a COOKIE) dropped unanswered"
assert_eq "${CLIENT_ADDR[1]}" 10.10.0.2 "c1's address (the first of the pool: the flood took none)"
[ "$during" = yes ] || fail "client 1 connected only after the flood was over ($connect_ms ms)"
[ "$connect_ms" -lt 2000 ] || fail "client 1 took $connect_ms ms to connect during the flood (limit 2000)"

read -r in_p in_b <<<"$(nft_counter from_attack)"
read -r out_p out_b <<<"$(nft_counter to_attack)"
read -r c2in_p c2in_b <<<"$(nft_counter from_c2)"
read -r c2out_p c2out_b <<<"$(nft_counter to_c2)"
log "from 172.31.3.0/24: $in_p datagrams, $in_b bytes; back: $out_p datagrams, $out_b bytes"
log "forged as 172.31.2.2: $c2in_p datagrams, $c2in_b bytes; back: $c2out_p datagrams, $c2out_b bytes"
assert_ge "$in_p" "$sent" "datagrams from the attacker's link seen by the server"
[ "$out_b" -le "$in_b" ] || fail "the server sent $out_b bytes to the flood's addresses for $in_b received"
[ "$c2out_b" -le "$c2in_b" ] || fail "the server sent $c2out_b bytes to 172.31.2.2 for $c2in_b forged ones"
ratio=$(python3 -c "print('%.3f' % ($out_b / $in_b))")
log "ok: bytes answered per byte received from unproven addresses: $ratio (IP level)"

# The established client was never disturbed, and nothing of the pool is gone.
lab_ping "$(c_ns 1)" 10.10.0.1 10
t0=$EPOCHREALTIME
start_client 2
wait_client 2 10
t1=$EPOCHREALTIME
assert_eq "${CLIENT_ADDR[2]}" 10.10.0.3 "c2's address (the next one: the flood took none)"
log "ok: client 2 connected in $(python3 -c "print(int((float('$t1') - float('$t0')) * 1000))") ms after the floods"
lab_ping "$(c_ns 2)" 10.10.0.1 5
log "PASS: the floods opened no session and took no address; client 1 connected in $connect_ms ms during it"
