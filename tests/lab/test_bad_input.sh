#!/usr/bin/env bash
# Bad-input battery: a hostile client (badinput.py, in its own namespace)
# sends malformed frames and packets to a running server. After each case:
# the server is still up, the real clients still ping the hub, and the
# counter that names the problem moved.
source "$(dirname "$0")/lib.sh"
lab_init bad_input
lab_topology 3
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
attacker=$(c_ns 3)
BAD="python3 $LAB_SOURCE_DIR/tests/lab/badinput.py $(srv_underlay 3) $LAB_PORT $KEY"

# case COUNTER MIN_DELTA: run the case, then check server, pings and counter.
run_case() {
  local case=$1 counter=$2 want=$3 before out
  srv_stat "$counter" 0
  before=$STAT
  out=$(ip netns exec "$attacker" timeout 30 $BAD "$case" 2>&1) || fail "case $case: $out"
  log "$out"
  lab_alive "$SRV_PID" || fail "case $case: the server died"
  lab_ping "$(c_ns 1)" 10.10.0.1 2
  srv_stat "$counter" 0
  [ $((STAT - before)) -ge "$want" ] || fail "case $case: $counter moved by $((STAT - before)), expected >= $want"
  log "ok: $case -> $counter +$((STAT - before))"
}

run_case random transport_tcp.protocol_errors 1
run_case garbage_64k transport_tcp.protocol_errors 1
run_case len0 host.protocol_errors 1
run_case len1 host.protocol_errors 1
run_case lenmax host.protocol_errors 1           # 9216-byte DATA before HELLO: parsed, then refused
run_case lenmax1 transport_tcp.protocol_errors 1 # one byte over the maximum: refused by the framing
run_case len65535 transport_tcp.protocol_errors 1
run_case truncated host.sessions_closed 1
run_case unknown_type transport_tcp.protocol_errors 1
run_case bad_flags transport_tcp.protocol_errors 1
run_case data_before_hello host.protocol_errors 1
run_case hello_twice drop.violation_unauthenticated 1       # established, cipher_xor: dropped, session kept
run_case handshake_established drop.handshake_unauthenticated 1  # HANDSHAKE on an established cipher_xor session
run_case bye_garbage drop.violation_unauthenticated 1       # a BYE that does not parse: dropped, session kept
run_case welcome_to_server host.protocol_errors 1
run_case wrong_key host.protocol_errors 1
run_case ipv4_bad_version drop.ipv4_bad_version 3
run_case ipv4_bad_ihl drop.ipv4_bad_ihl 3
run_case ipv4_total_too_long drop.ipv4_bad_total_length 3
run_case ipv4_bad_checksum drop.ipv4_bad_checksum 3
run_case ipv4_bad_fragment drop.ipv4_bad_fragment 3
run_case ipv4_short drop.ipv4_too_short 3
run_case spoofed_source drop.spoofed_source 3
run_case unassigned_destination drop.no_route 3

# Afterwards everything still works, and only the two real clients remain.
lab_ping "$(c_ns 1)" 10.10.0.1 20
lab_ping "$(c_ns 2)" 10.10.0.1 20
lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 5
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5
wait_srv_stat host.sessions_active 2 10
srv_stat host.plugin_exceptions 0
assert_eq "$STAT" 0 "server host.plugin_exceptions"
srv_stat router_hub.assigned
srv_stat_assigned=$STAT
srv_stat router_hub.released
assert_eq $((srv_stat_assigned - STAT)) 2 "addresses still assigned (the two real clients)"
