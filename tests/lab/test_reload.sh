#!/usr/bin/env bash
# Live reload with cipher_noise (docs/operations.md "Live reload"), while
# clients 1 and 2 ping the server without a single loss:
#  - client 3's key leaves authorized_clients, SIGHUP: its session ends (BYE
#    "no longer authorized", the client exits), status shows two sessions,
#    and client 3 started again gets no session;
#  - client 4's key is added and log_level set to debug, `vpnhost reload`
#    (exit 0): client 4 connects, and the server now logs at debug level;
#  - a broken manifest, then a broken authorized_clients: `vpnhost reload`
#    exits 1 with the error, the server keeps running on the old one;
#  - the responder is removed by reload (pings to 10.10.0.1 go unanswered,
#    drop.local_unclaimed) and put back (answered again).
source "$(dirname "$0")/lib.sh"
lab_init reload
source "$(dirname "$0")/noise_lib.sh"

lab_topology 4
for k in server c1 c2 c3 c4; do noise_key "$k"; done
SOCK=$LAB_TMP/srv.sock
MANIFEST=$LAB_TMP/server.manifest
authorized() {  # authorized NAME...: rewrite authorized_clients (atomically, mode 0600) with these clients
  local n
  for n in "$@"; do echo "${PUB[$n]} $n"; done >"$LAB_TMP/ac.new"
  chmod 600 "$LAB_TMP/ac.new"
  mv -f "$LAB_TMP/ac.new" "$LAB_TMP/authorized_clients"
}
manifest() {  # manifest LOG_LEVEL RESPONDER(yes|no) [EXTRA LINES]: write the server's manifest
  {
    printf '[host]\nlog_level = "%s"\ncontrol_socket = "srv.sock"\n\n' "$1"
    printf '[transport]\nplugin = "transport_tcp"\nlisten = "0.0.0.0"\nport = %s\n\n' "$LAB_PORT"
    printf '[cipher]\nplugin = "cipher_noise"\nprivate_key_file = "server.key"\nauthorized_clients = "authorized_clients"\n\n'
    printf '[router]\nplugin = "router_hub"\nnetwork = "10.10.0.0/24"\nserver_address = "10.10.0.1"\n\n'
    [ "$2" = yes ] && printf '[[responder]]\nplugin = "responder_icmp_echo"\n\n'
    [ $# -ge 3 ] && printf '%s\n' "$3"
  } >"$MANIFEST.new"
  mv -f "$MANIFEST.new" "$MANIFEST"
}
reload() {  # reload: `vpnhost reload` against the server; RELOAD_RC, RELOAD_OUT (stdout+stderr)
  RELOAD_OUT=$(ip netns exec "$SRV_NS" "$VPNHOST" reload --socket "$SOCK" 2>&1)
  RELOAD_RC=$?
  echo "$RELOAD_OUT" | sed 's/^/    reload: /'
}
sessions() {  # sessions: SESSIONS = the established sessions' names, sorted, from vpnhost status --json
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$LAB_TMP/status.json" || fail "vpnhost status failed"
  SESSIONS=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted(s.get("name") or "?" for s in d["sessions"] if s["state"] == "established")))' "$LAB_TMP/status.json")
}
wait_sessions() {  # wait_sessions "NAMES" TIMEOUT
  local end=$((SECONDS + $2))
  while sessions; [ "$SESSIONS" != "$1" ]; do
    [ "$SECONDS" -ge "$end" ] && fail "sessions are '$SESSIONS', expected '$1' within $2 s"
    sleep 0.2
  done
  log "ok: established sessions: $SESSIONS"
}

authorized c1 c2 c3
manifest info yes
# No --log-level: the manifest's log_level rules (and a reload may change it).
log "starting the server in $SRV_NS with $MANIFEST"
lab_bg "$SRV_NS" "$LAB_TMP/srv.log" "$VPNHOST" --plugins "$MANIFEST" --stats-file "$LAB_TMP/srv.stats"
SRV_PID=$LAB_LAST_PID
end=$((SECONDS + 15))
until lab_listening "$SRV_NS" "$LAB_PORT" && [ -S "$SOCK" ]; do
  lab_alive "$SRV_PID" || fail "server exited during start-up: $(tail -n 5 "$LAB_TMP/srv.log")"
  [ "$SECONDS" -ge "$end" ] && fail "server not listening (or no control socket) after 15 s"
  sleep 0.1
done
client() {  # client I: client I with key cI (its own control socket, none in /run)
  noise_start_client "$1" "c$1" --set "host.control_socket=$LAB_TMP/c$1.sock"
}
for i in 1 2 3; do client "$i"; done
for i in 1 2 3; do wait_client "$i"; done
wait_sessions "c1 c2 c3" 10
if grep -q ' debug ' "$LAB_TMP/srv.log"; then fail "debug lines in the server log at log_level info"; fi

# --- clients 1 and 2 ping the server all through the reloads -----------------
PINGS=200  # at 20/s: 10 s, longer than the reloads below take (checked before stopping)
for i in 1 2; do
  lab_bg "$(c_ns "$i")" "$LAB_TMP/ping$i.txt" ping -n -c "$PINGS" -i 0.05 -w 90 10.10.0.1
  PING_PID[$i]=$LAB_LAST_PID
done
for i in 1 2; do wait_for_log "$LAB_TMP/ping$i.txt" 'icmp_seq=10 ' 10 "${PING_PID[$i]}"; done

# --- client 3 removed, SIGHUP --------------------------------------------------
authorized c1 c2
kill -HUP "$SRV_PID"
wait_for_log "$LAB_TMP/srv.log" 'reloaded .*server\.manifest: 1 session\(s\) ended as no longer authorized' 10 "$SRV_PID"
lab_wait_exit "${CLIENT_PID[3]}" 10 || fail "client 3 still runs 10 s after its key was removed"
assert_eq "$LAB_EXIT_RC" 0 "client 3's exit status (server said goodbye: shutdown)"
grep -q 'server said goodbye (shutdown: no longer authorized)' "${CLIENT_LOG[3]}" ||
  fail "client 3 was not told why: $(tail -n 5 "${CLIENT_LOG[3]}")"
wait_sessions "c1 c2" 10
lab_alive "$SRV_PID" || fail "the server died on SIGHUP"
# Client 3 cannot come back: its initiations are not answered.
srv_stat cipher_noise.unknown_client 0
unknown_before=$STAT
client 3
wait_srv_stat cipher_noise.unknown_client $((unknown_before + 1)) 10
sessions
assert_eq "$SESSIONS" "c1 c2" "sessions after client 3 tried again"
lab_stop "${CLIENT_PID[3]}"
if grep -Eq 'assigned 10\.10\.0\.' "${CLIENT_LOG[3]}"; then fail "client 3 got an address after its key was removed"; fi

# --- client 4 added, log level debug, vpnhost reload ---------------------------
authorized c1 c2 c4
manifest debug yes
reload
assert_eq "$RELOAD_RC" 0 "vpnhost reload exit status (client 4 added, log_level debug)"
grep -q 'reloaded .*0 session(s) ended.*log level debug' <<<"$RELOAD_OUT" || fail "vpnhost reload printed: $RELOAD_OUT"
client 4
wait_client 4
wait_sessions "c1 c2 c4" 10
wait_for_log "$LAB_TMP/srv.log" ' debug .*session [0-9]+ opened \(from 172\.31\.4\.2' 5 "$SRV_PID"
log "ok: client 4 connected, and the server logs at debug level now"

# --- a broken manifest and a broken authorized_clients are refused -------------
manifest debug yes '[router'
reload
assert_eq "$RELOAD_RC" 1 "vpnhost reload exit status with a broken manifest"
grep -q "server.manifest:[0-9]*:[0-9]*: " <<<"$RELOAD_OUT" || fail "the refusal does not name the manifest's line: $RELOAD_OUT"
manifest debug yes
echo "not-a-key c5" >>"$LAB_TMP/authorized_clients"
reload
assert_eq "$RELOAD_RC" 1 "vpnhost reload exit status with a broken authorized_clients"
grep -q "\[cipher\] cipher_noise: option authorized_clients .*authorized_clients:4: 'not-a-key' is not a public key" \
  <<<"$RELOAD_OUT" || fail "the refusal does not say what is wrong in authorized_clients: $RELOAD_OUT"
manifest debug yes '[transport2]'
reload
assert_eq "$RELOAD_RC" 1 "vpnhost reload exit status with an unknown table"
lab_alive "$SRV_PID" || fail "the server died on a refused reload"
wait_sessions "c1 c2 c4" 5
srv_stat host.reload_failures
assert_eq "$STAT" 3 "server host.reload_failures"
srv_stat host.reloads
assert_eq "$STAT" 2 "server host.reloads"
srv_stat host.sessions_revoked
assert_eq "$STAT" 1 "server host.sessions_revoked"

# --- the pings: every one answered ----------------------------------------------
for i in 1 2; do lab_alive "${PING_PID[$i]}" || fail "client $i's ping ended before the reloads were done: covered too little"; done
for i in 1 2; do
  lab_wait_exit "${PING_PID[$i]}" 60 || fail "client $i's ping did not finish"
  tail -n 2 "$LAB_TMP/ping$i.txt" | sed 's/^/    /'
  grep -q "^$PINGS packets transmitted, $PINGS received, 0% packet loss" "$LAB_TMP/ping$i.txt" ||
    fail "client $i lost pings during the reloads: $(grep transmitted "$LAB_TMP/ping$i.txt")"
done
log "ok: clients 1 and 2: $PINGS pings each, none lost, through 5 reloads"

# --- responders by reload -------------------------------------------------------
authorized c1 c2 c4  # (the broken line out again)
manifest debug no
reload
assert_eq "$RELOAD_RC" 0 "vpnhost reload exit status (responder removed)"
grep -q 'responders: none' <<<"$RELOAD_OUT" || fail "reload does not say the responders are gone: $RELOAD_OUT"
srv_stat drop.local_unclaimed 0
unclaimed=$STAT
if ip netns exec "$(c_ns 1)" ping -n -c 2 -i 0.2 -W 1 10.10.0.1 >/dev/null 2>&1; then fail "10.10.0.1 answered without a responder"; fi
srv_stat drop.local_unclaimed
assert_ge "$STAT" $((unclaimed + 2)) "server drop.local_unclaimed after 2 pings without a responder"
manifest debug yes
reload
assert_eq "$RELOAD_RC" 0 "vpnhost reload exit status (responder back)"
lab_ping "$(c_ns 1)" 10.10.0.1 5
wait_sessions "c1 c2 c4" 5
