#!/usr/bin/env bash
# Operations: server + 2 clients. `vpnhost status --json` (asked in the
# server's namespace over its control socket) lists both sessions with the
# addresses the clients got and traffic within what they sent; the table
# form shows them too; the socket is root's, mode 0600; /metrics (scraped
# from the server's namespace) is valid exposition format whose counters
# match the stats file; a socket left by a killed server is replaced.
source "$(dirname "$0")/lib.sh"
lab_init status
lab_topology 2

SOCK=$LAB_TMP/srv.sock
METRICS=127.0.0.1:9586
start_server --set "host.control_socket=$SOCK" --set "host.metrics=$METRICS"
for i in 1 2; do start_client "$i" --set "host.control_socket=$LAB_TMP/c$i.sock"; done
for i in 1 2; do wait_client "$i"; done

# --- the socket: a UNIX socket, root's, mode 0600
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
assert_eq "$(stat -c '%a %U' "$SOCK")" "600 root" "control socket mode and owner"

# --- known traffic: client 1 pings the hub 10 times, client 2 5 times (84-byte IP packets)
lab_ping "$(c_ns 1)" 10.10.0.1 10
lab_ping "$(c_ns 2)" 10.10.0.1 5

status_json() {  # status_json FILE: the server's status as JSON into FILE
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$1" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
}
status_json "$LAB_TMP/status.json"
python3 - "$LAB_TMP/status.json" "${CLIENT_ADDR[1]}" "${CLIENT_ADDR[2]}" "$SRV_PID" <<'EOF' || fail "status --json does not match what the test did"
import json, sys
d = json.load(open(sys.argv[1]))
want = {sys.argv[2]: 10, sys.argv[3]: 5}
def check(cond, what):
    print(("    ok: " if cond else "    MISMATCH: ") + what)
    if not cond: sys.exit(1)
check(d["pid"] == int(sys.argv[4]), "pid %s" % d["pid"])
s = d["sessions"]
check(len(s) == 2, "2 sessions, got %d" % len(s))
check({x["address"] for x in s} == set(want), "addresses %s" % sorted(x["address"] for x in s))
for x in s:
    n = want[x["address"]]
    check(x["state"] == "established" and x["role"] == "responder" and x["prefix_len"] == 24,
          "%s: established, responder, /24" % x["address"])
    check(x["peer"].startswith("172.31.") and x["name"] is None, "%s: peer %s, no identity (XOR)" % (x["address"], x["peer"]))
    # Each echo request is one DATA frame of 84 bytes; the echo replies go back the same way.
    check(n <= x["rx_packets"] <= n + 3 and 84 * n <= x["rx_bytes"] <= 84 * n + 3 * 1500,
          "%s: rx %d packets / %d bytes for %d pings" % (x["address"], x["rx_packets"], x["rx_bytes"], n))
    check(n <= x["tx_packets"] <= n + 3 and 84 * n <= x["tx_bytes"] <= 84 * n + 3 * 1500,
          "%s: tx %d packets / %d bytes for %d replies" % (x["address"], x["tx_packets"], x["tx_bytes"], n))
    check(0 <= x["connected_seconds"] < 120 and x["last_rx_seconds"] < 60, "%s: times" % x["address"])
check(d["host"]["sessions_active"] == 2, "host.sessions_active 2")
st = {g["stage"]: g for g in d["stages"]}
check(st["transport"]["plugin"] == "transport_tcp" and st["router"]["counters"]["assigned"] == 2,
      "stages with their counters (router_hub.assigned 2)")
check(st["responder"]["counters"]["echo_replies"] >= 15, "responder_icmp_echo.echo_replies >= 15")
EOF

# --- the readable form
ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" >"$LAB_TMP/status.txt" 2>&1 || fail "vpnhost status failed"
sed 's/^/    /' "$LAB_TMP/status.txt" | head -n 25
grep -q '^  sessions: 2 (2 established)$' "$LAB_TMP/status.txt" || fail "status: no '2 established' line"
for i in 1 2; do
  grep -Eq "^session [0-9]+: ${CLIENT_ADDR[$i]//./\\.}/24$" "$LAB_TMP/status.txt" || fail "status: no session line for ${CLIENT_ADDR[$i]}"
done
# --plugins MANIFEST finds the socket from the manifest (and --set)
ip netns exec "$SRV_NS" "$VPNHOST" status --plugins "$SERVER_MANIFEST" --set "host.control_socket=$SOCK" \
  >"$LAB_TMP/status2.txt" 2>&1 || fail "vpnhost status --plugins failed: $(cat "$LAB_TMP/status2.txt")"
grep -q '^  sessions: 2 ' "$LAB_TMP/status2.txt" || fail "status --plugins: wrong answer"
log "ok: status table lists both sessions"

# --- a client's view: one session, which it opened
ip netns exec "$(c_ns 1)" "$VPNHOST" status --socket "$LAB_TMP/c1.sock" --json >"$LAB_TMP/c1.json" || fail "client status"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sessions"]
assert len(s) == 1 and s[0]["role"] == "initiator" and s[0]["address"] == sys.argv[2], s
' "$LAB_TMP/c1.json" "${CLIENT_ADDR[1]}" || fail "client 1 status does not show its one session"
log "ok: client status shows its own session"

# --- metrics: between two stats snapshots, every counter lies between them
srv_stats
cp "$LAB_TMP/srv.stats" "$LAB_TMP/before.stats"
ip netns exec "$SRV_NS" python3 - "http://$METRICS" "$LAB_TMP/metrics.txt" <<'EOF' || fail "scraping /metrics"
import sys, urllib.request, urllib.error
base, out = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
    assert r.status == 200, r.status
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
    open(out, "wb").write(r.read())
try:
    urllib.request.urlopen(base + "/status", timeout=5)
    sys.exit("/status did not give 404")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
print("    ok: GET /metrics 200 text/plain 0.0.4, GET /status 404")
EOF
srv_stats
python3 - "$LAB_TMP/before.stats" "$LAB_TMP/metrics.txt" "$LAB_TMP/srv.stats" <<'EOF' || fail "metrics do not match the stats file"
import re, sys
def stats(path):
    d = {}
    for line in open(path):
        k, _, v = line.strip().partition(" ")
        if v.isdigit() and not k.startswith("session."): d[k] = int(v)
    return d
before, after = stats(sys.argv[1]), stats(sys.argv[3])
text = open(sys.argv[2]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
metrics, types = {}, {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ")
        assert name not in types, "TYPE twice: " + name
        types[name] = t
        continue
    if line.startswith("#"): continue
    m = sample.match(line)
    assert m, "bad line: " + line
    assert m.group(1) in types, "no TYPE before " + line
    metrics[m.group(1) + (m.group(2) or "")] = float(m.group(3))
stage = {"transport_tcp": "transport", "cipher_xor": "cipher", "router_hub": "router", "responder_icmp_echo": "responder"}
checked = 0
for k, lo in before.items():
    hi = after.get(k, lo)
    group, _, name = k.partition(".")
    if group == "host" and name == "sessions_active":
        key, lo, hi = "vpnhost_sessions", 2, 2
    elif group == "host":
        key = "vpnhost_host_%s_total" % name
    elif group == "drop":
        key = 'vpnhost_drops_total{reason="%s"}' % name
    else:
        key = 'vpnhost_%s_%s_total{plugin="%s"}' % (stage[group], name, group)
    assert key in metrics, "counter %s missing from /metrics as %s" % (k, key)
    assert lo <= metrics[key] <= hi, "%s = %s, stats file %d..%d" % (key, metrics[key], lo, hi)
    checked += 1
assert "session=" not in text and "10.10.0." not in text, "per-session series in /metrics"
print("    ok: %d counters in /metrics match the stats file; %d series; no per-session labels" % (checked, len(metrics)))
EOF
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics <"$LAB_TMP/metrics.txt" || fail "promtool check metrics rejects /metrics"
  log "ok: promtool check metrics accepts /metrics"
else
  log "(promtool not installed: format checked by the test's own parser)"
fi

# --- a client leaves: one session left
lab_stop "${CLIENT_PID[2]}"
end=$((SECONDS + 10))
while :; do
  status_json "$LAB_TMP/after.json"
  n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sessions"]))' "$LAB_TMP/after.json")
  [ "$n" = 1 ] && break
  [ "$SECONDS" -ge "$end" ] && fail "status still shows $n sessions 10 s after client 2 left"
  sleep 0.2
done
log "ok: after client 2 left, status shows 1 session"

# --- a server killed with SIGKILL leaves its socket; the next one replaces it
kill -KILL "$SRV_PID"
lab_wait_exit "$SRV_PID" 5 || fail "server did not die"
[ -S "$SOCK" ] || fail "expected the killed server's socket file to remain"
start_server --set "host.control_socket=$SOCK"
wait_for_log "$LAB_TMP/srv.log" 'replaced stale control socket' 5 "$SRV_PID"
status_json "$LAB_TMP/restarted.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["pid"] == int(sys.argv[2]), d["pid"]' \
  "$LAB_TMP/restarted.json" "$SRV_PID" || fail "the new server does not answer on the replaced socket"
log "ok: stale socket replaced; the new server answers"
lab_stop "$SRV_PID"
[ -e "$SOCK" ] && fail "socket $SOCK left behind after a clean exit"
log "ok: socket removed at exit"
