#!/usr/bin/env bash
# Source-address spoofing: packets from c1 that claim c2's tunnel address
# never reach c3, and the server counts them as drop.spoofed_source.
#  1. control: a legitimate datagram c2 -> c3 arrives (the listener works).
#  2. c1 sends a raw IPv4/UDP packet src=c2 dst=c3 into its TUN (IP_HDRINCL).
#  3. a raw wire-protocol session (vh_loadclient) in c1's namespace sends a
#     DATA frame with src=c2 dst=c3 straight to the server: the server's own
#     check is exercised even if the client filters its own traffic.
#  4. control: a legitimate datagram c1 -> c3 arrives afterwards.
source "$(dirname "$0")/lib.sh"
lab_init spoofing
lab_require_tools socat
[ -x "$VH_LOADCLIENT" ] || fail "vh_loadclient not built at $VH_LOADCLIENT"
lab_topology 3
start_server
for i in 1 2 3; do start_client "$i"; done
for i in 1 2 3; do wait_client "$i"; done
c1=${CLIENT_ADDR[1]} c2=${CLIENT_ADDR[2]} c3=${CLIENT_ADDR[3]}
rx=$LAB_TMP/received.txt

lab_bg "$(c_ns 3)" "$LAB_TMP/udp-recv.log" $LABTOOL udp-recv 7001 "$rx" 60
recv_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/udp-recv.log" "listening on 7001" 10 "$recv_pid"
wait_rx() {  # wait_rx N: until the receiver logged N datagrams (bounded)
  local end=$((SECONDS + 10))
  while [ "$(wc -l <"$rx")" -lt "$1" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
}

srv_stat drop.spoofed_source 0
spoof0=$STAT
log "server drop.spoofed_source before: $spoof0"

# 1. control
echo -n legit-from-c2 | ip netns exec "$(c_ns 2)" timeout 10 socat -u - "UDP-SENDTO:$c3:7001" || fail "socat c2"
wait_rx 1
grep -q "^$c2 .* legit-from-c2" "$rx" || fail "control datagram c2 -> c3 did not arrive: $(cat "$rx")"
log "ok: control datagram from $c2 reached c3"

# 2. raw packet through c1's TUN. Either c1's own router refuses a foreign
# source (drop.foreign_source on c1) or the server drops it
# (drop.spoofed_source): exactly one of them must count it.
c1_stats() { lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"; stat_get "$LAB_TMP/c1.stats" drop.foreign_source 0; }
c1_stats
foreign0=$STAT
ip netns exec "$(c_ns 1)" $LABTOOL raw-udp "$c2" "$c3" 7001 spoofed-via-tun || fail "raw send in c1"
end=$((SECONDS + 5))
while :; do
  srv_stat drop.spoofed_source 0
  spoof1=$STAT
  c1_stats
  foreign1=$STAT
  [ $((spoof1 - spoof0 + foreign1 - foreign0)) -ge 1 ] || [ "$SECONDS" -ge "$end" ] && break
  sleep 0.2
done
assert_eq $((spoof1 - spoof0 + foreign1 - foreign0)) 1 \
  "TUN-borne spoof drops (server drop.spoofed_source +$((spoof1 - spoof0)), c1 drop.foreign_source +$((foreign1 - foreign0)))"

# 3. spoofed DATA straight on the wire
ip netns exec "$(c_ns 1)" timeout 30 "$VH_LOADCLIENT" --server "$(srv_underlay 1)" --port "$LAB_PORT" \
  --key-file "$KEY" --sessions 1 --udp-to "$c3:7001" --udp-src "$c2" --udp-text spoofed-via-wire \
  >"$LAB_TMP/loadclient.log" 2>&1 || fail "vh_loadclient: $(cat "$LAB_TMP/loadclient.log")"
sed 's/^/    /' "$LAB_TMP/loadclient.log"
wait_srv_stat drop.spoofed_source $((spoof1 + 1)) 10

# 4. control
echo -n legit-from-c1 | ip netns exec "$(c_ns 1)" timeout 10 socat -u - "UDP-SENDTO:$c3:7001" || fail "socat c1"
wait_rx 2
sleep 0.5  # a spoofed datagram, had it been forwarded, would be in by now too
echo "c3 received:"; sed 's/^/    /' "$rx"
grep -q "^$c1 .* legit-from-c1" "$rx" || fail "control datagram c1 -> c3 did not arrive"
if grep -q spoofed "$rx"; then fail "a spoofed datagram reached c3"; fi
assert_eq "$(wc -l <"$rx")" 2 "datagrams c3 received (the two legitimate ones)"
