#!/usr/bin/env bash
# vpnhost status with an authenticating cipher (cipher_noise): each session
# shows the name its key has in authorized_clients (CipherSession::peer()),
# with the address that goes with it; /metrics never names a client.
source "$(dirname "$0")/lib.sh"
lab_init status_identity
source "$(dirname "$0")/noise_lib.sh"

lab_topology 2
noise_authorize alice=10.10.0.10 bob
SOCK=$LAB_TMP/srv.sock
noise_start_server --set "host.control_socket=$SOCK" --set host.metrics=127.0.0.1:9586
noise_start_client 1 alice --set "host.control_socket=$LAB_TMP/c1.sock"
noise_start_client 2 bob --set "host.control_socket=$LAB_TMP/c2.sock"
wait_client 1
wait_client 2
lab_ping "$(c_ns 1)" 10.10.0.1 3

ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$LAB_TMP/status.json" ||
  fail "vpnhost status --json failed"
python3 - "$LAB_TMP/status.json" "${CLIENT_ADDR[2]}" <<'PY' || fail "status does not name the clients"
import json, sys
d = json.load(open(sys.argv[1]))
names = {x["name"]: x["address"] for x in d["sessions"]}
print("    sessions:", names)
assert names == {"alice": "10.10.0.10", "bob": sys.argv[2]}, names
st = {g["stage"]: g["plugin"] for g in d["stages"]}
assert st["cipher"] == "cipher_noise", st
PY
ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" >"$LAB_TMP/status.txt" || fail "vpnhost status failed"
grep -q '^  identity: alice$' "$LAB_TMP/status.txt" && grep -q '^  identity: bob$' "$LAB_TMP/status.txt" ||
  fail "the status table does not show the identities: $(cat "$LAB_TMP/status.txt")"
log "ok: status names alice (10.10.0.10) and bob (${CLIENT_ADDR[2]})"

ip netns exec "$SRV_NS" python3 -c '
import re, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9586/metrics", timeout=5).read().decode()
assert "vpnhost_sessions_established 2" in t, "sessions gauge"
assert "10.10.0." not in t and "172.31." not in t, "addresses in /metrics"
# Per-client counters of cipher_noise (client.NAME.x) are one family with a client label:
for who in ("alice", "bob"):
    line = "vpnhost_cipher_client_handshakes_total{plugin=\"cipher_noise\",client=\"%s\"} 1" % who
    assert line in t.splitlines(), "missing: " + line
bad = [l for l in t.splitlines() if re.search("alice|bob", l) and "client=" not in l]
assert not bad, "a client name outside a client label: %s" % bad
' || fail "/metrics with cipher_noise"
log "ok: /metrics: per-client counters as client=\"NAME\" labels, no addresses"
