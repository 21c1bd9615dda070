#!/usr/bin/env bash
# UDP datagrams (distinct contents and sizes, one larger than the tunnel MTU
# so it travels as IP fragments) from c1 to c2 through the hub, sent with
# socat, arrive intact and from c1's tunnel address.
source "$(dirname "$0")/lib.sh"
lab_init udp_between_clients
lab_require_tools socat
lab_topology 2
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2

lab_bg "$(c_ns 2)" "$LAB_TMP/udp-recv.log" $LABTOOL udp-recv 7000 "$LAB_TMP/received.txt" 60
recv_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/udp-recv.log" "listening on 7000" 10 "$recv_pid"

: >"$LAB_TMP/expected.txt"
n=0
for size in 1 17 512 1200 1372 4000; do
  n=$((n + 1))
  f=$LAB_TMP/dgram$n.bin
  { printf 'datagram-%d-' "$n"; head -c "$size" /dev/urandom; } | head -c "$size" >"$f"
  echo "${CLIENT_ADDR[1]} $($LABTOOL digest "$f")" >>"$LAB_TMP/expected.txt"
  ip netns exec "$(c_ns 1)" timeout 10 socat -u "OPEN:$f" "UDP-SENDTO:${CLIENT_ADDR[2]}:7000" ||
    fail "socat send of datagram $n"
  log "sent datagram $n ($size bytes)"
done

end=$((SECONDS + 10))
while [ "$(wc -l <"$LAB_TMP/received.txt")" -lt "$n" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
echo "received:"; sed 's/^/    /' "$LAB_TMP/received.txt"
assert_eq "$(wc -l <"$LAB_TMP/received.txt")" "$n" "datagrams received"
got=$(cut -d' ' -f1-3 "$LAB_TMP/received.txt" | sort)
want=$(sort "$LAB_TMP/expected.txt")
[ "$got" = "$want" ] || fail "datagrams differ: expected
$want
got
$got"
log "ok: all $n datagrams arrived intact (length + sha256) from ${CLIENT_ADDR[1]}"
