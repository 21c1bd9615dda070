#!/usr/bin/env bash
# Refusals under cipher_noise:
#  - a client whose key is not in authorized_clients gets no session and no
#    distinguishing answer: the server sends it no byte of payload (no
#    handshake response, no REJECT), counts cipher_noise.unknown_client and
#    closes; the client exits with a clear message;
#  - a client given the wrong server_public_key: its initiation's mac1 is
#    keyed by that key, so the server refuses it before any Diffie-Hellman
#    (bad_mac1); the client exits with a message that points at
#    server_public_key;
#  - vpnhost check refuses a placeholder server key and a readable key file;
#  - an authorized client is not disturbed by any of it.
source "$(dirname "$0")/lib.sh"
lab_init noise_refusals
lab_require_tools tcpdump

source "$(dirname "$0")/noise_lib.sh"

lab_topology 3
noise_authorize alice carol
for k in mallory other; do noise_key "$k"; done  # keys the server does not know
noise_start_server
noise_start_client 1 alice
wait_client 1

# Watch what the server sends to the unauthorized client's namespace.
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump-c2.log" tcpdump -i "$P-s2" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/c2.pcap"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump-c2.log" "listening on" 10 "$cap"

# --- an unauthorized key: no session, no REJECT, nothing but the TCP close ---
# host.reconnect=false: the client exits after its first attempt (by default
# it would try again with backoff, logging the same message each time; below).
noise_start_client 2 mallory --set host.handshake_timeout=3 --set host.reconnect=false
lab_wait_exit "${CLIENT_PID[2]}" 15 || fail "the unauthorized client is still running after 15 s"
log "unauthorized client exited with status $LAB_EXIT_RC"
[ "$LAB_EXIT_RC" != 0 ] || fail "the unauthorized client exited with status 0"
sed 's/^/    /' "${CLIENT_LOG[2]}" | grep -E "error|lost" | head -n 5
grep -q "no Noise handshake with the server" "${CLIENT_LOG[2]}" || fail "no clear message in the unauthorized client's log"
grep -q "authorized_clients" "${CLIENT_LOG[2]}" || fail "the message does not mention authorized_clients"
if grep -Eq "assigned 10\.10|rejected by server" "${CLIENT_LOG[2]}"; then fail "the unauthorized client got an answer"; fi
wait_srv_stat cipher_noise.unknown_client 1 5
sleep 0.5
lab_stop "$cap"
# TCP segments from the server's port 5000 to mallory that carry any payload.
payload='src port 5000 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)'
assert_ge "$(tcpdump -r "$LAB_TMP/c2.pcap" -n 'dst port 5000' 2>/dev/null | wc -l)" 3 "packets from the unauthorized client to the server (captured)"
assert_eq "$(tcpdump -r "$LAB_TMP/c2.pcap" -n "$payload" 2>/dev/null | wc -l)" 0 "server packets with payload to the unauthorized client"
if grep -q "rejected" "$LAB_TMP/srv.log"; then fail "the server sent a REJECT: $(grep rejected "$LAB_TMP/srv.log")"; fi
srv_stat router_hub.assigned
assert_eq "$STAT" 1 "server router_hub.assigned (alice only)"
srv_stat cipher_noise.client.carol.sessions
assert_eq "$STAT" 0 "server cipher_noise.client.carol.sessions"

# --- a client with the wrong server public key --------------------------------
log "client 3 (carol, authorized) is given another key as server_public_key"
PUB[server_real]=${PUB[server]}
PUB[server]=${PUB[other]}
noise_start_client 3 carol --set host.handshake_timeout=3 --set host.reconnect=false
PUB[server]=${PUB[server_real]}
lab_wait_exit "${CLIENT_PID[3]}" 15 || fail "the client with a wrong server key is still running after 15 s"
log "client with the wrong server key exited with status $LAB_EXIT_RC"
[ "$LAB_EXIT_RC" != 0 ] || fail "the client with the wrong server key exited with status 0"
sed 's/^/    /' "${CLIENT_LOG[3]}" | grep -E "error" | head -n 5
grep -q "no Noise handshake with the server" "${CLIENT_LOG[3]}" || fail "no clear message in carol's log"
grep -q "check that server_public_key" "${CLIENT_LOG[3]}" || fail "the message does not point at server_public_key"
if grep -q "assigned 10\.10" "${CLIENT_LOG[3]}"; then fail "carol got an address with the wrong server key"; fi
wait_srv_stat cipher_noise.bad_mac1 1 5
srv_stat cipher_noise.handshake_failed
assert_eq "$STAT" 0 "server cipher_noise.handshake_failed (no DH was spent on it)"
srv_stat cipher_noise.client.carol.handshakes
assert_eq "$STAT" 0 "server cipher_noise.client.carol.handshakes (the server never learnt it was carol)"

# --- with the default host.reconnect=true the client keeps trying, never gets in
noise_start_client 2 mallory --set host.reconnect_min=200 --set host.reconnect_max=400
end=$((SECONDS + 10))
until [ "$(grep -c "no Noise handshake with the server" "${CLIENT_LOG[2]}")" -ge 3 ]; do
  lab_alive "${CLIENT_PID[2]}" || fail "the reconnecting unauthorized client exited"
  [ "$SECONDS" -ge "$end" ] && fail "the reconnecting client did not log 3 refused attempts in 10 s"
  sleep 0.1
done
lab_stop "${CLIENT_PID[2]}"
if grep -q "assigned 10\.10" "${CLIENT_LOG[2]}"; then fail "the reconnecting unauthorized client got an address"; fi
log "ok: retrying, the unauthorized client logged the refusal on each of $(grep -c "no Noise handshake" "${CLIENT_LOG[2]}") attempts"
srv_stat cipher_noise.unknown_client
assert_ge "$STAT" 4 "server cipher_noise.unknown_client"

# --- a manifest mistake is refused before anything runs -----------------------
out=$("$VPNHOST" check "$SECURE_CLIENT" --set "cipher.private_key_file=$LAB_TMP/alice.key" 2>&1)
[ $? != 0 ] || fail "vpnhost check accepted the placeholder server_public_key"
grep -q "server_public_key.*is not a public key" <<<"$out" || fail "check message: $out"
log "ok: vpnhost check refuses the placeholder server_public_key: ${out##*error: }"
chmod 0644 "$LAB_TMP/alice.key"
out=$("$VPNHOST" check "$SECURE_CLIENT" --set "cipher.private_key_file=$LAB_TMP/alice.key" \
  --set "cipher.server_public_key=\"${PUB[server]}\"" 2>&1)
[ $? != 0 ] || fail "vpnhost check accepted a private key file readable by others"
grep -q "chmod 600" <<<"$out" || fail "check message: $out"
log "ok: a group/world-readable key is refused: ${out##*error: }"

# --- alice was never disturbed ------------------------------------------------
lab_ping "$(c_ns 1)" 10.10.0.1 5
