#!/usr/bin/env bash
# Issue 15, item 2: handshake floods must not lock clients out (stock UDP
# manifests, cipher_xor; test_attack_handshake_flood_noise.sh runs it with
# the secure UDP manifests, cipher_noise).
#
# Two floods from mallory's namespace (client 2), each against a freshly
# started server (new_sessions_per_second = 100, see FLOOD_RATE) with alice
# (client 1) connected:
#   (a) one IP (his own) sends HELLOs from 512 source ports, 5000 a second
#       (xor: valid HELLOs sealed with the key, which anyone who saw the wire
#       has; noise: HELLOs, which a noise server's sessions do not expect);
#   (b) forged sources, random in 172.31.128.0/17 (raw socket, IP_HDRINCL),
#       5000 a second: valid HELLOs (xor) / initiations from keys the server
#       does not know (noise, real Noise_IK messages, a pool of 64).
# While each lasts (bounded: it ends when the checks are done, 40 s at most):
#  - a new legitimate client (carol, client 3) connects 5 times, each within
#    CONNECT_BOUND_MS (2000 ms) from its start to "assigned" in its log (the
#    times are printed; without an attack it takes ~0.2 s, today under the
#    flood it never connects within the 4 s it is given);
#  - alice's pings (100, 50 ms apart) all come back;
#  - the server opens no session for the flood (host.sessions_opened rises by
#    carol's connects at most) and no address is taken (status: only alice
#    holds one afterwards);
#  - the bytes the server sends to the unproven addresses (mallory's own and
#    the forged range) are at most the bytes it received from them (nftables
#    counters in the server's namespace: no amplification).
# noise also: (c) 400 forged initiations a second with carol's own address
# as source (random ports): today they spend the per-source handshake limit
# of her address and lock her out; the same checks (no byte counts).
# Then, below the server's new-session rate (so that every datagram would be
# answered), forged-source datagrams must get answers no larger than
# themselves and no address: xor: 400 HELLOs with a wrong version (a REJECT
# is 4.12x a HELLO today) and 300 valid HELLOs (today a WELCOME each, 1.75x,
# and all 253 addresses taken); noise: 400 unknown-key initiations.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
ATTACK_CIPHER=${ATTACK_CIPHER:-xor}
lab_init "attack_handshake_flood_$ATTACK_CIPHER"
source "$(dirname "$0")/noise_lib.sh"
source "$(dirname "$0")/attack_lib.sh"

CONNECT_BOUND_MS=${CONNECT_BOUND_MS:-2000}
CONNECT_WAIT=4      # seconds a connect is given before it counts as failed
CONNECTS=5
# The floods are 50 times the server's new-session rate: 5000 datagrams a
# second against new_sessions_per_second = 100 (the default 1000 would need
# 50000/s, more than a shared 2-core machine sends and serves without the
# load itself deciding the outcome). Today a newcomer's datagram then wins a
# token once in 50 tries; at 5 times the rate (5000/s against 1000) a
# cipher_noise newcomer still got through in 0.04-3.5 s. A proven source is
# what the limit must count, so with the address proof the flood spends
# no tokens and 100/s is plenty for carol.
FLOOD_RATE=${FLOOD_RATE:-5000}
NEW_SESSIONS_PER_SECOND=100
attack_topology 3
LAB_LOG_LEVEL=info  # a flood at debug level would mostly measure the log
ns1=$(c_ns 1) ns2=$(c_ns 2)
srv=$(srv_underlay 2)
ATTACK_PY=$LAB_SOURCE_DIR/tests/lab/attack.py

fresh_server() {  # fresh_server [SERVER ARGS...]: a new server, alice connected
  [ -n "${CLIENT_PID[1]:-}" ] && lab_stop "${CLIENT_PID[1]}"
  attack_stop_server
  attack_server "$@"
  attack_client 1
  wait_client 1 20
  lab_ping "$ns1" 10.10.0.1 5
}

# flood_phase NAME [--own-ip] ATTACK.PY FLOOD ARGS...: the checks above for
# one flood. --own-ip: the forged source is carol's own address (the server
# keeps its default new_sessions_per_second, 1000, above the flood's rate, so
# that only a per-source limit could lock her out; no byte counts: her
# address is not an unproven one).
flood_phase() {
  local name=$1 opened0 opened fpid own=
  shift
  [ "$1" = --own-ip ] && { own=1; shift; }
  log "=== flood: $name"
  if [ -n "$own" ]; then
    fresh_server
  else
    fresh_server --set "transport.new_sessions_per_second=$NEW_SESSIONS_PER_SECOND"
  fi
  srv_stat host.sessions_opened
  opened0=$STAT
  attack_unproven_bytes
  local in0=$UNPROVEN_IN out0=$UNPROVEN_OUT
  lab_bg "$ns2" "$LAB_TMP/flood-$name.log" python3 "$ATTACK_PY" flood "$srv" "$LAB_PORT" --duration 40 "$@"
  fpid=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/flood-$name.log" '^flood: .*/s for' 10 "$fpid"
  sleep 1  # the flood is at full rate
  lab_alive "$fpid" || fail "the flood ended early: $(cat "$LAB_TMP/flood-$name.log")"
  ping_start "$ns1" 10.10.0.1 100 0.05 "ping-$name"
  connect_times "$CONNECTS" "$CONNECT_WAIT"
  ping_result "ping-$name"
  srv_stat host.sessions_opened
  opened=$((STAT - opened0))
  # carol's last BYE has been handled within 2 s (bounded; today the
  # flood's sessions stay far longer)
  local end=$((SECONDS + 2))
  while session_of "$(c_underlay 1)"; [ "$SESSIONS" != 1 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
  kill -TERM "$fpid" 2>/dev/null
  lab_wait_exit "$fpid" 10 || fail "the flood did not stop"
  log "    $(tail -n 1 "$LAB_TMP/flood-$name.log")"
  attack_unproven_bytes
  local rin=$((UNPROVEN_IN - in0)) rout=$((UNPROVEN_OUT - out0))
  log "$name: carol's connect times (s): $CONNECT_TIMES"
  log "$name: alice's pings: $PING_SENT sent, $PING_GOT received"
  log "$name: sessions opened during the flood: $opened (carol: $CONNECTS); sessions now: $SESSIONS, with an address: $ADDRESSED"
  log "$name: bytes from unproven addresses: $rin, answered: $rout"
  check_le "$CONNECT_MAX_MS" "$CONNECT_BOUND_MS" "$name: carol's slowest connect of $CONNECTS, ms (times: $CONNECT_TIMES)"
  check_eq "$PING_LOST" 0 "$name: alice's pings lost ($PING_SENT sent)"
  check_le "$opened" "$CONNECTS" "$name: server host.sessions_opened during the flood (carol's connects only)"
  check_eq "$ADDRESSED" 1 "$name: sessions holding an address after the flood (alice only)"
  check_eq "$SESSIONS" 1 "$name: sessions after the flood (alice only)"
  [ -n "$own" ] && return 0
  check_ge "$rin" 1 "$name: bytes received from unproven addresses (the flood arrived)"
  check_le "$rout" "$rin" "$name: bytes answered to unproven addresses (<= bytes received from them)"
}

# amp_phase NAME COUNT ATTACK.PY FLOOD ARGS...: COUNT forged datagrams at a
# rate below the server's new-session limit (so that each is answered, if
# anything is): nothing answered is larger than what asked, and no forged
# source gets a session or an address.
amp_phase() {
  local name=$1 count=$2
  shift 2
  log "=== amplification: $name"
  fresh_server
  attack_unproven_bytes
  local in0=$UNPROVEN_IN out0=$UNPROVEN_OUT
  ip netns exec "$ns2" python3 "$ATTACK_PY" flood "$srv" "$LAB_PORT" --count "$count" --duration 10 "$@" \
    >"$LAB_TMP/amp-$name.log" 2>&1 || fail "attack.py flood failed: $(cat "$LAB_TMP/amp-$name.log")"
  log "    $(tail -n 1 "$LAB_TMP/amp-$name.log")"
  sleep 0.5  # the last answers are out
  attack_unproven_bytes
  local rin=$((UNPROVEN_IN - in0)) rout=$((UNPROVEN_OUT - out0))
  session_of "$(c_underlay 1)"
  log "$name: bytes from forged sources: $rin, answered: $rout; sessions now: $SESSIONS, with an address: $ADDRESSED"
  check_ge "$rin" 1 "$name: bytes received from forged sources"
  check_le "$rout" "$rin" "$name: bytes answered to forged sources (<= bytes received from them)"
  check_eq "$ADDRESSED" 1 "$name: sessions holding an address afterwards (alice only)"
}

# Without an attack first: the same connects, for comparison.
fresh_server
connect_times "$CONNECTS" "$CONNECT_WAIT"
log "no attack: carol's connect times (s): $CONNECT_TIMES"
[ "$CONNECT_MAX_MS" -le "$CONNECT_BOUND_MS" ] ||
  fail "without any attack carol's slowest connect took $CONNECT_MAX_MS ms (> $CONNECT_BOUND_MS): the machine is too loaded to measure"

if [ "$ATTACK_CIPHER" = xor ]; then
  HELLO=(--type hello --index 0 --body hello-xor --xor-key "$KEY")
  flood_phase hello-512-ports "${HELLO[@]}" --ports 512 --rate "$FLOOD_RATE"
  flood_phase forged-hello "${HELLO[@]}" --spoof-range "$FORGED_RANGE" --rate "$FLOOD_RATE"
  amp_phase forged-hello-wrong-version 400 --type hello --index 0 --body hello-xor-v:2 --xor-key "$KEY" \
    --spoof-range "$FORGED_RANGE" --rate 200
  amp_phase forged-hello-300 300 "${HELLO[@]}" --spoof-range "$FORGED_RANGE" --rate 300
else
  flood_phase hello-512-ports --type hello --index 0 --body random:12 --ports 512 --rate "$FLOOD_RATE"
  flood_phase forged-initiation --type handshake --index 0 --noise-version "$NOISE_VERSION" --body noise-init:unknown --pool 64 \
    --server-pub "${PUB[server]}" --spoof-range "$FORGED_RANGE" --rate "$FLOOD_RATE"
  # The per-source handshake limit must not be spent by datagrams that only
  # claim carol's address: 400 forged initiations a second "from" her.
  flood_phase initiations-forged-from-carol --own-ip --type handshake --index 0 --noise-version "$NOISE_VERSION" --body noise-init:unknown --pool 64 \
    --server-pub "${PUB[server]}" --spoof-range "$(c_underlay 3)/32" --rate 400
  amp_phase forged-initiation-slow 400 --type handshake --index 0 --noise-version "$NOISE_VERSION" --body noise-init:unknown --pool 64 \
    --server-pub "${PUB[server]}" --spoof-range "$FORGED_RANGE" --rate 200
fi

attack_verdict
