#!/usr/bin/env bash
# Issue 15, item 1 (second fault): a handshake with the right static key
# but a wrong psk must not replace the real client's live session (secure
# UDP manifests, cipher_noise with a psk_file: Noise_IKpsk2).
#
# Mallory has stolen alice's private key but not the server's psk. From his
# own namespace he runs a stock vpnhost client with alice's key and another
# psk. The server cannot check the psk before it answers (psk2 enters only
# its response), so it answers; mallory's client cannot read the answer and
# gives up. Today the server's new session takes alice's key at once and
# her live session ends ("replaced by a newer session"). The rule (as
# WireGuard's responder): a new session replaces a live one only once its
# keys are confirmed by an authenticated frame from the peer. So: once
# mallory's server-side session is gone, alice's session is the same (id and
# endpoint in status), cipher_noise.sessions_replaced is 0, and her pings
# lose nothing.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
ATTACK_CIPHER=noise
lab_init attack_session_replace
source "$(dirname "$0")/noise_lib.sh"
source "$(dirname "$0")/attack_lib.sh"

attack_topology 2
ns1=$(c_ns 1)
for k in psk wrong-psk; do
  "$VPNHOST" keygen "$LAB_TMP/$k.key" >/dev/null 2>"$LAB_TMP/keygen-$k.err" || fail "keygen $k: $(cat "$LAB_TMP/keygen-$k.err")"
done
attack_server --set "cipher.psk_file=$LAB_TMP/psk.key"
attack_client 1 --set "cipher.psk_file=$LAB_TMP/psk.key"
wait_client 1 20
lab_ping "$ns1" 10.10.0.1 5
session_of "$(c_underlay 1)"
before=$SESSION
[ -n "$before" ] || fail "alice has no session"
log "alice's session: $before"
srv_stat cipher_noise.client.alice.handshakes 0
hs0=$STAT

# Mallory: alice's key, another psk, from 172.31.2.2; one attempt.
log "mallory connects with alice's private key and a wrong psk"
noise_start_client 2 alice --set "cipher.psk_file=$LAB_TMP/wrong-psk.key" --set 'host.control_socket=""' \
  --set host.reconnect=false --set host.handshake_timeout=3
lab_wait_exit "${CLIENT_PID[2]}" 20 || fail "mallory's client still runs after 20 s"
grep -E 'did not authenticate|psk' "${CLIENT_LOG[2]}" | head -n 2 | sed 's/^/    mallory: /'
srv_stat cipher_noise.client.alice.handshakes 0
log "server cipher_noise.client.alice.handshakes rose by $((STAT - hs0)) (today: it answered mallory's initiation)"

# Bounded: until mallory's server-side session is gone (handshake_timeout).
end=$((SECONDS + 15))
while session_of "$(c_underlay 2)"; [ -n "$SESSION" ]; do
  [ "$SECONDS" -ge "$end" ] && fail "mallory's server-side session is still there after 15 s: $SESSION"
  sleep 0.2
done
log "mallory's server-side session is gone"
session_of "$(c_underlay 1)"
check_eq "$SESSION" "$before" "alice's session (id and endpoint) in status after mallory's handshake"
srv_stat cipher_noise.sessions_replaced 0
check_eq "$STAT" 0 "server cipher_noise.sessions_replaced"
grep -E "replaced by a newer session" "$LAB_TMP/srv.log" | head -n 2 | sed 's/^/    server: /'
soft_ping "$ns1" 10.10.0.1 20 "after mallory's handshake: alice"
attack_verdict
