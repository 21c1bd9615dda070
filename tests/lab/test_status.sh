#!/usr/bin/env bash
# Operations: server + 3 clients. `vpnhost status --json` (asked in the
# server's namespace over its control socket) lists the three sessions with
# the tunnel address each client got, its underlay endpoint (the client's
# own TCP address and port) and packets/bytes each way within the traffic
# that client sent (a different amount per client); the table form shows
# them too; the socket is root's, mode 0600; /metrics (scraped from the
# server's namespace) passes `promtool check metrics` (required under CI;
# scripts/install-deps.sh puts it in /var/cache/vpnhost-ci/promtool), its
# counters match the stats file and move with traffic; `metrics = "PORT"`
# listens on loopback only, and 32 idle connections do not delay a scrape
# (they made it fail for 5 s before); a socket left by a killed server is
# replaced.
source "$(dirname "$0")/lib.sh"
lab_init status
lab_topology 3

PROMTOOL=$(command -v promtool || echo "${PROMTOOL_DIR:-/var/cache/vpnhost-ci/promtool}/promtool")
if [ ! -x "$PROMTOOL" ]; then
  [ -n "${CI:-}" ] && fail "promtool not found (CI is set: run scripts/install-deps.sh)"
  log "(promtool not found: the exposition format is checked by the test's own parser only)"
  PROMTOOL=
fi

SOCK=$LAB_TMP/srv.sock
METRICS=127.0.0.1:9586  # what "9586" means
start_server --set "host.control_socket=$SOCK" --set "host.metrics=9586"
for i in 1 2 3; do start_client "$i" --set "host.control_socket=$LAB_TMP/c$i.sock"; done
for i in 1 2 3; do wait_client "$i"; done
# Each client's underlay endpoint as the server must see it: the client's
# own end of its TCP connection.
declare -A CLIENT_ENDPOINT=()
for i in 1 2 3; do
  CLIENT_ENDPOINT[$i]=$(ip netns exec "$(c_ns "$i")" ss -Htn state established "dport = :$LAB_PORT" | awk '{ print $3 }')
  [[ "${CLIENT_ENDPOINT[$i]}" == "$(c_underlay "$i")":* ]] ||
    fail "client $i: its connection to the server is not from $(c_underlay "$i"): '${CLIENT_ENDPOINT[$i]}'"
done

# --- the socket: a UNIX socket, root's, mode 0600
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
assert_eq "$(stat -c '%a %U' "$SOCK")" "600 root" "control socket mode and owner"

# --- known traffic, different per client: COUNT echo requests of SIZE IP
# bytes each (ping -s SIZE-28); the replies are as long.
declare -A PINGS=([1]=10 [2]=5 [3]=20) SIZE=([1]=84 [2]=228 [3]=1028)
for i in 1 2 3; do lab_ping "$(c_ns "$i")" 10.10.0.1 "${PINGS[$i]}" -s $((SIZE[$i] - 28)); done

status_json() {  # status_json FILE: the server's status as JSON into FILE
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$1" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
}
status_json "$LAB_TMP/status.json"
clients=""
for i in 1 2 3; do clients+="${CLIENT_ADDR[$i]},${CLIENT_ENDPOINT[$i]},${PINGS[$i]},${SIZE[$i]} "; done
python3 - "$LAB_TMP/status.json" "$SRV_PID" $clients <<'EOF' || fail "status --json does not match what the test did"
import json, sys
d = json.load(open(sys.argv[1]))
want = {}  # tunnel address -> (underlay endpoint, pings, IP bytes per ping)
for arg in sys.argv[3:]:
    addr, endpoint, n, size = arg.split(",")
    want[addr] = (endpoint, int(n), int(size))
def check(cond, what):
    print(("    ok: " if cond else "    MISMATCH: ") + what)
    if not cond: sys.exit(1)
check(d["pid"] == int(sys.argv[2]), "pid %s" % d["pid"])
s = d["sessions"]
check(len(s) == 3, "3 sessions, got %d" % len(s))
check({x["address"] for x in s} == set(want), "addresses %s" % sorted(x["address"] for x in s))
total = 0
for x in s:
    endpoint, n, size = want[x["address"]]
    total += n
    check(x["state"] == "established" and x["role"] == "responder" and x["prefix_len"] == 24,
          "%s: established, responder, /24" % x["address"])
    check(x["peer"] == endpoint and x["name"] is None, "%s: peer %s (the client's own end), no identity (XOR)" % (x["address"], x["peer"]))
    # Each echo request is one DATA frame of `size` IP bytes, each reply as
    # long. Slack: ping may send a request or two more while a reply is
    # late, and the TUN device may send a stray packet (at most 3 x 1500).
    check(n <= x["rx_packets"] <= n + 3 and size * n <= x["rx_bytes"] <= size * n + 3 * 1500,
          "%s: rx %d packets / %d bytes for %d pings of %d bytes" % (x["address"], x["rx_packets"], x["rx_bytes"], n, size))
    check(n <= x["tx_packets"] <= n + 3 and size * n <= x["tx_bytes"] <= size * n + 3 * 1500,
          "%s: tx %d packets / %d bytes for %d replies of %d bytes" % (x["address"], x["tx_packets"], x["tx_bytes"], n, size))
    check(0 <= x["connected_seconds"] < 120 and x["last_rx_seconds"] < 60, "%s: times" % x["address"])
check(d["host"]["sessions_active"] == 3, "host.sessions_active 3")
st = {g["stage"]: g for g in d["stages"]}
check(st["transport"]["plugin"] == "transport_tcp" and st["router"]["counters"]["assigned"] == 3,
      "stages with their counters (router_hub.assigned 3)")
check(total <= st["responder"]["counters"]["echo_replies"] <= total + 9,
      "responder_icmp_echo.echo_replies %d for %d pings" % (st["responder"]["counters"]["echo_replies"], total))
EOF

# --- the readable form
ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" >"$LAB_TMP/status.txt" 2>&1 || fail "vpnhost status failed"
sed 's/^/    /' "$LAB_TMP/status.txt" | head -n 25
grep -q '^  sessions: 3 (3 established)$' "$LAB_TMP/status.txt" || fail "status: no '3 established' line"
for i in 1 2 3; do
  grep -Eq "^session [0-9]+: ${CLIENT_ADDR[$i]//./\\.}/24$" "$LAB_TMP/status.txt" || fail "status: no session line for ${CLIENT_ADDR[$i]}"
  grep -qF "${CLIENT_ENDPOINT[$i]}" "$LAB_TMP/status.txt" || fail "status: no underlay endpoint ${CLIENT_ENDPOINT[$i]}"
done
# --plugins MANIFEST finds the socket from the manifest (and --set)
ip netns exec "$SRV_NS" "$VPNHOST" status --plugins "$SERVER_MANIFEST" --set "host.control_socket=$SOCK" \
  >"$LAB_TMP/status2.txt" 2>&1 || fail "vpnhost status --plugins failed: $(cat "$LAB_TMP/status2.txt")"
grep -q '^  sessions: 3 ' "$LAB_TMP/status2.txt" || fail "status --plugins: wrong answer"
log "ok: status table lists the three sessions with their endpoints"

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
scrape() {  # scrape FILE: GET /metrics into FILE (asked in the server's namespace)
  ip netns exec "$SRV_NS" python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=5) as r:
    open(sys.argv[2], "wb").write(r.read())' "http://$METRICS" "$1" || fail "scraping /metrics"
}
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
        key, lo, hi = "vpnhost_sessions", 3, 3
    elif group == "host":
        key = "vpnhost_host_%s_total" % name
    elif group == "drop":
        key = 'vpnhost_drops_total{reason="%s"}' % name
    elif group in stage:
        key = 'vpnhost_%s_%s_total{plugin="%s"}' % (stage[group], name, group)
    else:  # a counter of no stage
        key = 'vpnhost_other_total{counter="%s"}' % k
    assert key in metrics, "counter %s missing from /metrics as %s" % (k, key)
    assert lo <= metrics[key] <= hi, "%s = %s, stats file %d..%d" % (key, metrics[key], lo, hi)
    checked += 1
assert "session=" not in text and "10.10.0." not in text, "per-session series in /metrics"
print("    ok: %d counters in /metrics match the stats file; %d series; no per-session labels" % (checked, len(metrics)))
EOF
promtool_check() {  # promtool_check FILE: promtool accepts it, without a single complaint
  [ -n "$PROMTOOL" ] || return 0
  "$PROMTOOL" check metrics <"$1" >"$1.promtool" 2>&1 || { cat "$1.promtool"; fail "promtool check metrics rejects $(basename "$1")"; }
  [ -s "$1.promtool" ] && { cat "$1.promtool"; fail "promtool check metrics complains about $(basename "$1")"; }
  log "ok: promtool check metrics accepts $(basename "$1") ($("$PROMTOOL" --version 2>&1 | head -n 1 | cut -d' ' -f1-3))"
}
promtool_check "$LAB_TMP/metrics.txt"

# --- counters move with traffic: 30 more echo requests of 1028 bytes from client 3
lab_ping "$(c_ns 3)" 10.10.0.1 30 -s 1000
scrape "$LAB_TMP/metrics2.txt"
promtool_check "$LAB_TMP/metrics2.txt"
python3 - "$LAB_TMP/metrics.txt" "$LAB_TMP/metrics2.txt" <<'EOF' || fail "metrics did not move with the traffic"
import re, sys
def load(path):
    d = {}
    for line in open(path):
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$', line.strip())
        if m: d[m.group(1)] = float(m.group(2))
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
n, size = 30, 1028
# name: (least increase, most increase); slack as in the status check
moves = {
    "vpnhost_host_rx_packets_total": (n, n + 3),
    "vpnhost_host_rx_bytes_total": (n * size, n * size + 3 * 1500),
    "vpnhost_host_tx_packets_total": (n, n + 3),
    "vpnhost_host_tx_bytes_total": (n * size, n * size + 3 * 1500),
    'vpnhost_responder_echo_replies_total{plugin="responder_icmp_echo"}': (n, n + 3),
    'vpnhost_transport_frames_in_total{plugin="transport_tcp"}': (n, n + 10),
}
for k, (lo, hi) in moves.items():
    assert k in a and k in b, "%s missing from /metrics" % k
    d = b[k] - a[k]
    assert lo <= d <= hi, "%s moved by %d, expected %d..%d" % (k, d, lo, hi)
    print("    ok: %s +%d" % (k, d))
assert b["vpnhost_sessions"] == 3, b["vpnhost_sessions"]
EOF
log "ok: counters in /metrics moved with the traffic"

# --- a port alone binds loopback, and only loopback
listeners=$(ip netns exec "$SRV_NS" ss -Hltn 'sport = :9586' | awk '{ print $4 }' | sort | tr '\n' ' ')
assert_eq "$listeners" "127.0.0.1:9586 " "metrics = \"9586\" listens on"
log "ok: metrics = \"9586\" listens on 127.0.0.1:9586 only"

# --- 32 idle connections (never a request) do not keep a scrape waiting
ip netns exec "$SRV_NS" timeout 20 python3 - "$METRICS" <<'EOF' || fail "a scrape was held up by idle connections"
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(32)]
time.sleep(0.2)
for n in range(3):
    t0 = time.monotonic()
    s = socket.create_connection((host, int(port)), timeout=2)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    took = time.monotonic() - t0
    s.close()
    assert data.startswith(b"HTTP/1.0 200 OK\r\n") and b"vpnhost_sessions " in data, data[:200]
    assert took < 1.0, "scrape %d took %.2f s" % (n, took)
    print("    ok: scrape %d with 32 idle connections open: 200 in %.3f s" % (n, took))
for c in idle:
    c.close()
EOF
log "ok: idle connections do not hold the metrics endpoint"

# --- a client leaves: the other two sessions are left
lab_stop "${CLIENT_PID[2]}"
end=$((SECONDS + 10))
while :; do
  status_json "$LAB_TMP/after.json"
  left=$(python3 -c 'import json,sys; print(" ".join(sorted(s["address"] for s in json.load(open(sys.argv[1]))["sessions"])))' "$LAB_TMP/after.json")
  [ "$left" = "$(printf '%s\n' "${CLIENT_ADDR[1]}" "${CLIENT_ADDR[3]}" | sort | tr '\n' ' ' | sed 's/ $//')" ] && break
  [ "$SECONDS" -ge "$end" ] && fail "status shows sessions '$left' 10 s after client 2 left"
  sleep 0.2
done
log "ok: after client 2 left, status shows the sessions of clients 1 and 3: $left"

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
