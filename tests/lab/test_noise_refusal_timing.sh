#!/usr/bin/env bash
# Refusals of cipher_noise look the same, on the wire and in time (issue 15
# item 5). Over TCP with the secure manifests, two initiations on fresh
# connections:
#  - the real initiation of an authorized client (alice), captured on the
#    underlay and replayed after her session was established;
#  - an initiation from a key the server does not know (mallory).
# Each must be closed at once (< 1 s) without one byte from the server, and
# the two times must be close (|a - b| < 0.3 s): a replay must not keep the
# connection open longer than an unknown key does, which would tell an
# observer that the captured key is still authorized. (Before the fix the
# replay was held open until handshake_timeout, 5 s.) Each is measured 3
# times; alice's session is not disturbed.
source "$(dirname "$0")/lib.sh"
lab_init noise_refusal_timing
lab_require_tools python3 tcpdump
python3 -c "import cryptography" 2>/dev/null || lab_skip "python3-cryptography not installed"
source "$(dirname "$0")/noise_lib.sh"
CRAFT="python3 $LAB_SOURCE_DIR/tests/lab/noise_craft.py"

lab_topology 2
noise_authorize alice
noise_key mallory
noise_start_server

# Capture alice's first initiation on her underlay link.
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump.log" tcpdump -i "$P-s1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/c1.pcap" \
  "tcp dst port $LAB_PORT"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump.log" "listening on" 10 "$cap"
noise_start_client 1 alice
wait_client 1
lab_ping "$(c_ns 1)" 10.10.0.1 3
lab_stop "$cap"
replay=$($CRAFT tcp-initiation "$LAB_TMP/c1.pcap" "$LAB_PORT") || fail "no initiation of alice's in the capture"
log "captured alice's initiation: $(( ${#replay} / 2 )) bytes"
srv_stat cipher_noise.handshakes_completed
assert_eq "$STAT" 1 "server cipher_noise.handshakes_completed (alice)"

measure() {  # measure NAME HEX: appends "seconds bytes" to $LAB_TMP/NAME.times
  local out
  out=$(ip netns exec "$(c_ns 2)" $CRAFT tcp-refusal "$(srv_underlay 2)" "$LAB_PORT" "$2") ||
    fail "tcp-refusal ($1) failed: $out"
  log "$1: closed after ${out% *} s, ${out#* } byte(s) from the server"
  echo "$out" >>"$LAB_TMP/$1.times"
}
for i in 1 2 3; do
  measure replay "$replay"
  unknown=$($CRAFT initiation "$LAB_TMP/mallory.key" "${PUB[server]}") || fail "cannot craft mallory's initiation"
  measure unknown "$unknown"
done

python3 - "$LAB_TMP/replay.times" "$LAB_TMP/unknown.times" <<'PY' || fail "the refusals differ"
import sys
r = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
u = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
print("    replay:  ", r)
print("    unknown: ", u)
assert all(b == 0 for _, b in r + u), "the server sent bytes to a refused initiation"
assert max(t for t, _ in r) < 1.0, "a replayed initiation was held open %.3f s" % max(t for t, _ in r)
assert max(t for t, _ in u) < 1.0, "an unknown key was held open %.3f s" % max(t for t, _ in u)
mr = sorted(t for t, _ in r)[1]
mu = sorted(t for t, _ in u)[1]
assert abs(mr - mu) < 0.3, "median times differ: replay %.3f s, unknown %.3f s" % (mr, mu)
PY
srv_stat cipher_noise.replayed_initiation
assert_eq "$STAT" 3 "server cipher_noise.replayed_initiation"
srv_stat cipher_noise.unknown_client
assert_eq "$STAT" 3 "server cipher_noise.unknown_client"
srv_stat cipher_noise.sessions_replaced 0
assert_eq "$STAT" 0 "server cipher_noise.sessions_replaced"
lab_ping "$(c_ns 1)" 10.10.0.1 5
log "ok: a replayed initiation and an unknown key are both closed at once, with no byte sent"
