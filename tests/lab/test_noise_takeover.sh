#!/usr/bin/env bash
# No one but the client itself can end or take over its cipher_noise session
# (issue 15 item 1, cipher side), over UDP with the secure manifests and a
# psk (IKpsk2). alice pings the hub without pause (300 pings, 50 ms apart)
# while, one after the other:
#  (a) bob's key (authorized, with the right psk) sends initiations that
#      carry alice's session index, from bob's own address: 5 of protocol v2
#      (with mac1) and 5 of v1 (109 bytes, what servers before mac1 took);
#  (b) a key the server does not know (mallory, who has the psk: all
#      clients share it, e.g. a client removed from authorized_clients)
#      does the same;
#  (c) a real vpnhost client with alice's static key but another psk
#      connects (IKpsk2 cannot check the psk at the initiation: the server
#      answers, the thief cannot read the answer, and it never sends a
#      frame that opens).
# After each: alice's session (vpnhost status --json: the one session named
# alice) keeps its id and endpoint, sessions_replaced stays 0, and at the
# end not one of her pings was lost. (Before the fix, (a) and (b) ended her
# session at once and (c) replaced it.)
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init noise_takeover
lab_require_tools python3 tcpdump
python3 -c "import cryptography" 2>/dev/null || lab_skip "python3-cryptography not installed"
source "$(dirname "$0")/noise_lib.sh"
CRAFT="python3 $LAB_SOURCE_DIR/tests/lab/noise_craft.py"

lab_topology 3
noise_authorize alice bob
noise_key mallory
noise_key psk
noise_key wrongpsk
SOCK=$LAB_TMP/srv.sock
noise_start_server --set "cipher.psk_file=$LAB_TMP/psk.key" --set "host.control_socket=$SOCK"
noise_start_client 1 alice --set "cipher.psk_file=$LAB_TMP/psk.key"
wait_client 1

# alice's session index, off the wire (every server datagram carries it).
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump.log" tcpdump -i "$P-s1" -n -U --immediate-mode -Z root -s 0 -c 4 \
  -w "$LAB_TMP/c1.pcap" "udp src port $LAB_PORT"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump.log" "listening on" 10 "$cap"
lab_ping "$(c_ns 1)" 10.10.0.1 4
lab_wait_exit "$cap" 10 || fail "tcpdump did not see 4 datagrams to alice"
index=$($CRAFT index "$LAB_TMP/c1.pcap" "$LAB_PORT") || fail "no session index in the capture"
log "alice's session index: $index"

alice_session() {  # alice_session: ALICE = "id endpoint" of the one session named alice
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$LAB_TMP/status.json" ||
    fail "vpnhost status --json failed"
  ALICE=$(python3 - "$LAB_TMP/status.json" <<'PY'
import json, sys
s = [x for x in json.load(open(sys.argv[1]))["sessions"] if x["name"] == "alice"]
print(" ".join("%s %s %s" % (x["id"], x["peer"], x["state"]) for x in s))
PY
) || fail "cannot read status.json"
}
alice_session
before=$ALICE
[ "$(wc -w <<<"$before")" = 3 ] || fail "expected one session of alice, got: '$before'"
log "alice's session: $before"
check_alice() {  # check_alice WHAT
  alice_session
  [ "$ALICE" = "$before" ] || fail "after $1, alice's session is '$ALICE', was '$before'"
  srv_stat cipher_noise.sessions_replaced 0
  assert_eq "$STAT" 0 "server cipher_noise.sessions_replaced after $1"
  log "ok: after $1 alice's session is still $ALICE"
}
# dropped_total: STAT = initiations dropped on an established session, by
# the cipher (ignored_on_session) or, with the core's path rule, before it.
dropped_total() {
  srv_stats
  stat_get "$LAB_TMP/srv.stats" cipher_noise.ignored_on_session 0
  local a=$STAT
  stat_get "$LAB_TMP/srv.stats" drop.handshake_from_new_path 0
  STAT=$((a + STAT))
}
wait_dropped() {  # wait_dropped N: until N initiations were dropped or alice's session changed (bounded, 5 s)
  local end=$((SECONDS + 5))
  until dropped_total && [ "$STAT" -ge "$1" ]; do
    alice_session
    [ "$ALICE" = "$before" ] || return 0  # check_alice says what happened
    [ "$SECONDS" -ge "$end" ] && fail "only $STAT initiations dropped on alice's session, expected $1"
    sleep 0.1
  done
}

log "alice pings 10.10.0.1: 300 pings, 50 ms apart, during the attacks"
lab_bg "$(c_ns 1)" "$LAB_TMP/ping.log" ping -n -i 0.05 -c 300 -w 40 10.10.0.1
ping_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/ping.log" "icmp_seq=3 " 10 "$ping_pid"

attack() {  # attack WHAT KEY [PSKFILE]: 5 v2 and 5 v1 initiations with alice's index from c2
  local what=$1 key=$2 psk=${3:--} f=$LAB_TMP/$2.init
  $CRAFT initiation "$LAB_TMP/$key.key" "${PUB[server]}" "$psk" v2 5 >"$f" || fail "cannot craft initiations"
  $CRAFT initiation "$LAB_TMP/$key.key" "${PUB[server]}" "$psk" v1 5 >>"$f" || fail "cannot craft initiations"
  ip netns exec "$(c_ns 2)" $CRAFT send-udp "$(srv_underlay 2)" "$LAB_PORT" "$index" "@$f" >/dev/null || fail "send-udp"
  log "$what: sent 10 initiations with alice's index from $(c_underlay 2)"
}

# (a) another authorized client's key.
attack "(a) bob's key" bob "$LAB_TMP/psk.key"
wait_dropped 10
lab_alive "$ping_pid" || fail "alice's ping ended early: $(tail -n 3 "$LAB_TMP/ping.log")"
check_alice "(a) bob's key on alice's index"

# (b) an unknown key.
attack "(b) an unknown key" mallory "$LAB_TMP/psk.key"
wait_dropped 20
check_alice "(b) an unknown key on alice's index"

# (c) alice's static key with another psk, a real client from c3.
noise_start_client 3 alice --set "cipher.psk_file=$LAB_TMP/wrongpsk.key" --set host.reconnect=false \
  --set host.handshake_timeout=3
lab_wait_exit "${CLIENT_PID[3]}" 15 || fail "the client with the wrong psk is still running after 15 s"
[ "$LAB_EXIT_RC" != 0 ] || fail "the client with the wrong psk exited with status 0"
grep -q "psk_file differs" "${CLIENT_LOG[3]}" || fail "the wrong-psk client does not say why: $(grep -E 'error|warn' "${CLIENT_LOG[3]}" | head -n 3)"
if grep -q "assigned 10\.10" "${CLIENT_LOG[3]}"; then fail "the wrong-psk client got an address"; fi
check_alice "(c) alice's key with a wrong psk"
lab_alive "$ping_pid" || fail "alice's ping ended before the attacks did (too slow a machine?): $(tail -n 2 "$LAB_TMP/ping.log")"

lab_wait_exit "$ping_pid" 40 || fail "alice's ping did not finish"
tail -n 2 "$LAB_TMP/ping.log" | sed 's/^/    /'
grep -q "300 packets transmitted, 300 received" "$LAB_TMP/ping.log" ||
  fail "alice lost pings during the attacks: $(grep transmitted "$LAB_TMP/ping.log")"
srv_stat cipher_noise.client.alice.sessions
assert_eq "$STAT" 1 "server cipher_noise.client.alice.sessions"
check_alice "the attacks (at the end)"
log "ok: alice's session survived (a), (b) and (c) without losing a ping"
