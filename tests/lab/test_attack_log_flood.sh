#!/usr/bin/env bash
# Issue 15, item 4: unauthenticated input must not flood the server's log.
# Secure UDP manifests (cipher_noise; test_attack_log_flood_xor.sh runs the
# stock ones), the server at the default level, info.
#
# Mallory (client 2's namespace) floods for FLOOD_SECONDS (5 s), all at once:
#   noise: initiations from keys not in authorized_clients (real Noise_IK
#          messages, a pool of 64) and replays of alice's own initiation
#          (captured on the server's veth while she connected), both from
#          forged sources (172.31.128.0/17), 1000/s each; initiation-sized
#          garbage HANDSHAKEs from forged sources, 500/s; garbage datagrams
#          from his own address (64 ports), 1000/s;
#   xor:   valid HELLOs and HELLOs of a wrong protocol version from forged
#          sources, 1000/s each; garbage HELLOs (wrong key: no magic) from
#          forged sources, 500/s; garbage datagrams from his own address,
#          1000/s.
# The server's log may grow by at most MAX_LINES_PER_SECOND (20) lines a
# second of the flood and the 2 s after it (wc -l before and after); today
# it writes an info line for every unknown-key and replayed initiation (about
# 1 100 a second) and for every forged HELLO that gets an address. Alice's
# pings during the flood all come back.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
ATTACK_CIPHER=${ATTACK_CIPHER:-noise}
lab_init "attack_log_flood_$ATTACK_CIPHER"
source "$(dirname "$0")/noise_lib.sh"
source "$(dirname "$0")/attack_lib.sh"

FLOOD_SECONDS=5
AFTER_SECONDS=2
MAX_LINES_PER_SECOND=20
attack_topology 2
# shellcheck disable=SC2034  # lib.sh's start_server uses it
LAB_LOG_LEVEL=info  # the default level of the stock manifests
ns1=$(c_ns 1) ns2=$(c_ns 2)
srv=$(srv_underlay 2)
ATTACK_PY=$LAB_SOURCE_DIR/tests/lab/attack.py

attack_server
if [ "$ATTACK_CIPHER" = noise ]; then
  # Alice connects while mallory watches the server's side of her link: he
  # keeps her first HANDSHAKE datagram (her initiation) for replays.
  lab_bg "$SRV_NS" "$LAB_TMP/capture.log" python3 "$ATTACK_PY" capture-index "$P-s1" "$LAB_PORT" \
    --client "$(c_underlay 1)" --timeout 20 --save-init "$LAB_TMP/alice-init.bin"
  cap=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/capture.log" 'capturing on' 10 "$cap"
fi
attack_client 1
wait_client 1 20
lab_ping "$ns1" 10.10.0.1 5
if [ "$ATTACK_CIPHER" = noise ]; then
  lab_wait_exit "$cap" 20 || fail "the capture did not finish: $(cat "$LAB_TMP/capture.log")"
  grep -q '^saved initiation' "$LAB_TMP/capture.log" || fail "no initiation of alice captured: $(cat "$LAB_TMP/capture.log")"
  log "mallory: $(grep '^saved initiation' "$LAB_TMP/capture.log")"
fi

flood() {  # flood NAME ATTACK.PY FLOOD ARGS...: one of the parallel floods
  local name=$1
  shift
  lab_bg "$ns2" "$LAB_TMP/flood-$name.log" python3 "$ATTACK_PY" flood "$srv" "$LAB_PORT" --duration "$FLOOD_SECONDS" "$@"
  FLOODS+=("$LAB_LAST_PID")
  FLOOD_NAMES+=("$name")
}

sleep 1  # alice's start-up lines are written
lines0=$(wc -l <"$LAB_TMP/srv.log")
attack_unproven_bytes
in0=$UNPROVEN_IN
FLOODS=() FLOOD_NAMES=()
t0=$SECONDS
if [ "$ATTACK_CIPHER" = noise ]; then
  flood unknown-key --type handshake --index 0 --noise-version "$NOISE_VERSION" --body noise-init:unknown --pool 64 --server-pub "${PUB[server]}" \
    --spoof-range "$FORGED_RANGE" --rate 1000
  flood replayed --body "datagram:$LAB_TMP/alice-init.bin" --spoof-range "$FORGED_RANGE" --rate 1000
  flood garbage-initiation --type handshake --index 0 --body "random:$INIT_SIZE" --spoof-range "$FORGED_RANGE" --rate 500
else
  flood hello --type hello --index 0 --body hello-xor --xor-key "$KEY" --spoof-range "$FORGED_RANGE" --rate 1000
  flood wrong-version --type hello --index 0 --body hello-xor-v:2 --xor-key "$KEY" --spoof-range "$FORGED_RANGE" --rate 1000
  flood garbage-hello --type hello --index 0 --body random:12 --spoof-range "$FORGED_RANGE" --rate 500
fi
flood garbage --body garbage:0 --ports 64 --rate 1000
ping_start "$ns1" 10.10.0.1 80 0.05 ping-flood
for i in "${!FLOODS[@]}"; do
  lab_wait_exit "${FLOODS[$i]}" $((FLOOD_SECONDS + 20)) || fail "flood ${FLOOD_NAMES[$i]} did not stop by itself"
  log "    ${FLOOD_NAMES[$i]}: $(tail -n 1 "$LAB_TMP/flood-${FLOOD_NAMES[$i]}.log")"
done
secs=$((SECONDS - t0))
sleep "$AFTER_SECONDS"
lines1=$(wc -l <"$LAB_TMP/srv.log")
ping_result ping-flood
attack_unproven_bytes
grown=$((lines1 - lines0))
bound=$((MAX_LINES_PER_SECOND * (secs + AFTER_SECONDS)))
log "the server's log grew by $grown lines in the ${secs} s of the flood and the ${AFTER_SECONDS} s after it; the most frequent:"
sed -n "$((lines0 + 1)),${lines1}p" "$LAB_TMP/srv.log" | cut -c25- | sed -E 's/[0-9]+(\.[0-9]+){0,3}(:[0-9]+)?/N/g' |
  sort | uniq -c | sort -rn | head -n 6 | sed 's/^/    /'
check_ge $((UNPROVEN_IN - in0)) 100000 "bytes of the flood that reached the server (nft)"
check_le "$grown" "$bound" "server log lines during the flood ($MAX_LINES_PER_SECOND a second for $((secs + AFTER_SECONDS)) s)"
check_eq "$PING_LOST" 0 "alice's pings lost during the flood ($PING_SENT sent)"
session_of "$(c_underlay 1)"
check_eq "$ADDRESSED" 1 "sessions holding an address after the flood (alice only)"
attack_verdict
