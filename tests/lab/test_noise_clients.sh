#!/usr/bin/env bash
# Secure manifests (cipher_noise): a server and two authorized clients.
#  - each client is authenticated by its own key; alice gets her fixed
#    address from authorized_clients, bob one from the pool;
#  - both ping the hub (10.10.0.1) and each other; ssh from alice to an sshd
#    in bob's namespace;
#  - a capture on the underlay holds no tunnel plaintext (a ping pattern)
#    and never the clients' static public keys (IK sends them encrypted);
#  - reconnecting, a client keeps its address (fixed, and sticky per key);
#  - the server's log and counters name the clients, never their keys.
source "$(dirname "$0")/lib.sh"
lab_init noise_clients
lab_require_tools ssh ssh-keygen sshd tcpdump unshare

source "$(dirname "$0")/noise_lib.sh"

lab_topology 2
noise_authorize alice=10.10.0.10 bob
noise_start_server
noise_start_client 1 alice
noise_start_client 2 bob
wait_client 1
wait_client 2
assert_eq "${CLIENT_ADDR[1]}" 10.10.0.10 "alice's address (fixed in authorized_clients)"
[ "${CLIENT_ADDR[2]##*.}" -ge 100 ] || fail "bob's address ${CLIENT_ADDR[2]} is not from the pool (10.10.0.100-254)"
grep -q "client 'alice' authenticated" "$LAB_TMP/srv.log" || fail "server log does not name alice"
grep -q "client 'bob' authenticated" "$LAB_TMP/srv.log" || fail "server log does not name bob"

# --- capture on the underlay while pinging with a pattern --------------------
pat=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump-under.log" tcpdump -i "$P-s1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/under.pcap"
cap_under=$LAB_LAST_PID
lab_bg "$(c_ns 1)" "$LAB_TMP/tcpdump-tun.log" tcpdump -i "$P-t1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/tun.pcap"
cap_tun=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump-under.log" "listening on" 10 "$cap_under"
wait_for_log "$LAB_TMP/tcpdump-tun.log" "listening on" 10 "$cap_tun"

for i in 1 2; do lab_ping "$(c_ns "$i")" 10.10.0.1 20 -p "$pat" -s 200; done
lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 5 -p "$pat"
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5 -p "$pat"

# Reconnect alice while capturing: her new handshake is on the underlay too.
lab_stop "${CLIENT_PID[1]}"
noise_start_client 1 alice
wait_client 1
assert_eq "${CLIENT_ADDR[1]}" 10.10.0.10 "alice's address after reconnecting"
lab_ping "$(c_ns 1)" 10.10.0.1 5 -p "$pat"
sleep 0.5
lab_stop "$cap_under"
lab_stop "$cap_tun"

b64hex() { python3 -c "import base64,sys; print(base64.b64decode(sys.argv[1]).hex())" "$1"; }
count() { $LABTOOL count "$1" "$2"; }
assert_ge "$(count "$LAB_TMP/tun.pcap" "$pat")" 20 "pattern occurrences on alice's TUN (control: the detector works)"
assert_ge "$(tcpdump -r "$LAB_TMP/under.pcap" -n "tcp port $LAB_PORT" 2>/dev/null | wc -l)" 40 "tunnel packets captured on the underlay"
assert_eq "$(count "$LAB_TMP/under.pcap" "$pat")" 0 "pattern occurrences on the underlay"
assert_eq "$(count "$LAB_TMP/under.pcap" "$(b64hex "${PUB[alice]}")")" 0 "alice's static public key on the underlay (2 handshakes captured)"
assert_eq "$(count "$LAB_TMP/under.pcap" "$(b64hex "${PUB[server]}")")" 0 "the server's static public key on the underlay"
# The first 8 bytes of any key on the wire would already be a find.
assert_eq "$(count "$LAB_TMP/under.pcap" "$(b64hex "${PUB[alice]}" | cut -c1-16)")" 0 "any 8-byte prefix of alice's key on the underlay"

# Bob reconnects: his key gets the same pool address again (sticky).
bob_addr=${CLIENT_ADDR[2]}
lab_stop "${CLIENT_PID[2]}"
noise_start_client 2 bob
wait_client 2
assert_eq "${CLIENT_ADDR[2]}" "$bob_addr" "bob's address after reconnecting"

# --- ssh alice -> bob ---------------------------------------------------------
lab_start_sshd "$(c_ns 2)"
lab_ssh "$(c_ns 1)" "${CLIENT_ADDR[2]}" echo hello-from-bob
assert_eq "$SSH_OUT" hello-from-bob "ssh output through the Noise tunnel"
grep -q "Accepted publickey for root from 10.10.0.10" "$LAB_TMP/sshd.log" ||
  fail "sshd did not log the login from alice's tunnel address 10.10.0.10"

# --- counters and logs --------------------------------------------------------
srv_stat cipher_noise.handshakes_completed
assert_eq "$STAT" 4 "server cipher_noise.handshakes_completed (alice x2, bob x2)"
srv_stat cipher_noise.client.alice.sessions
assert_eq "$STAT" 1 "server cipher_noise.client.alice.sessions"
srv_stat cipher_noise.client.bob.sessions
assert_eq "$STAT" 1 "server cipher_noise.client.bob.sessions"
srv_stat cipher_noise.bad_tag
assert_eq "$STAT" 0 "server cipher_noise.bad_tag"
srv_stat router_hub.sticky_reused
assert_eq "$STAT" 1 "server router_hub.sticky_reused (bob)"
for k in server alice bob; do
  if grep -qF "${PUB[$k]}" "$LAB_TMP/srv.log" "$LAB_TMP"/c*.log; then fail "the $k public key appears in a log"; fi
done
log "ok: no key material in the logs"
