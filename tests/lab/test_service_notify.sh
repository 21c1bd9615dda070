#!/usr/bin/env bash
# systemd readiness (sd_notify), with labtool.py notify-recv standing in for
# systemd's notification socket (NOTIFY_SOCKET):
# - a client started while its hub is down reports STATUS but not READY=1;
#   it sends READY=1 only once the hub welcomed it (its tunnel address in
#   STATUS, the TUN device up);
# - the server sends READY=1 only when it accepts connections (the stand-in
#   connects to its port the moment READY=1 arrives), from its main pid;
# - STATUS= follows the sessions;
# - SIGHUP (live reload): RELOADING=1 with MONOTONIC_USEC=, then READY=1 -
#   also when the reload is refused (a broken manifest): the old one runs on;
# - SIGTERM: STOPPING=1, then a clean exit; the client, told BYE, stops too.
source "$(dirname "$0")/lib.sh"
lab_init service_notify
lab_topology 1

SRV_NOTIFY=$LAB_TMP/srv.notify   # messages the server sent
C1_NOTIFY=$LAB_TMP/c1.notify

# notify_listener NS SOCKET OUTFILE [PROBE]: start the stand-in, wait until bound.
notify_listener() {
  lab_bg "$1" "$3.log" python3 "$LAB_SOURCE_DIR/tests/lab/labtool.py" notify-recv "$2" "$3" "${4:-}" 200
  local end=$((SECONDS + 10))
  until [ -S "$2" ]; do
    lab_alive "$LAB_LAST_PID" || fail "notify-recv for $2 exited: $(cat "$3.log")"
    [ "$SECONDS" -ge "$end" ] && fail "notify-recv did not bind $2 within 10 s"
    sleep 0.05
  done
}

# wait_notify FILE REGEX TIMEOUT WHAT [PID]: bounded wait for a message
# line; gives up early when PID (the sender) has exited.
wait_notify() {
  local end=$((SECONDS + $3))
  until grep -Eq -- "$2" "$1" 2>/dev/null; do
    [ -n "${5:-}" ] && ! lab_alive "$5" && ! grep -Eq -- "$2" "$1" && fail "$4: pid $5 exited before /$2/ arrived"
    if [ "$SECONDS" -ge "$end" ]; then
      echo "----- $(basename "$1") -----"; cat "$1" 2>/dev/null
      fail "$4: no message /$2/ within $3 s"
    fi
    sleep 0.05
  done
  log "ok: $4: $(grep -Em1 -- "$2" "$1")"
}

# wait_notify_after N REGEX TIMEOUT WHAT [PID]: like wait_notify, for a
# message after line N of the server's messages; LINE = its line number.
wait_notify_after() {
  local end=$((SECONDS + $3))
  while :; do
    LINE=$(awk -v n="$1" 'NR > n' "$SRV_NOTIFY" | grep -Enm1 -- "$2" | cut -d: -f1)
    [ -n "$LINE" ] && { LINE=$((LINE + $1)); break; }
    [ -n "${5:-}" ] && ! lab_alive "$5" && fail "$4: pid $5 exited first"
    if [ "$SECONDS" -ge "$end" ]; then
      echo "----- $(basename "$SRV_NOTIFY") -----"; cat "$SRV_NOTIFY"
      fail "$4: no message /$2/ after line $1 within $3 s"
    fi
    sleep 0.05
  done
  log "ok: $4: $(sed -n "${LINE}p" "$SRV_NOTIFY")"
}

# line_of FILE REGEX: LINE = number of the first line matching (0: none).
LINE=
line_of() { LINE=$(grep -Enm1 -- "$2" "$1" 2>/dev/null | cut -d: -f1); LINE=${LINE:-0}; }

# --- a client whose hub is not up yet: not ready
touch "$SRV_NOTIFY" "$C1_NOTIFY"
notify_listener "$(c_ns 1)" "$LAB_TMP/c1.sock" "$C1_NOTIFY"
export NOTIFY_SOCKET=$LAB_TMP/c1.sock
start_client 1 --set host.reconnect_min=200 --set host.reconnect_max=500
unset NOTIFY_SOCKET
wait_notify "$C1_NOTIFY" "^${CLIENT_PID[1]} STATUS=waiting for a tunnel address" 10 "client status before the hub is up" "${CLIENT_PID[1]}"
wait_for_log "${CLIENT_LOG[1]}" 'reconnecting in .*attempt 2\)' 15 "${CLIENT_PID[1]}"
grep -q 'READY=1' "$C1_NOTIFY" && fail "client sent READY=1 before it reached the hub: $(cat "$C1_NOTIFY")"
log "ok: client not ready after two failed connection attempts"

# --- the server: READY=1 only when it accepts connections, from its main pid
# (A copy of the stock manifest, to break it for a reload below.)
cp "$SERVER_MANIFEST" "$LAB_TMP/server.manifest"
SERVER_MANIFEST=$LAB_TMP/server.manifest
notify_listener "$SRV_NS" "$LAB_TMP/srv.sock" "$SRV_NOTIFY" "127.0.0.1:$LAB_PORT"
export NOTIFY_SOCKET=$LAB_TMP/srv.sock
start_server
unset NOTIFY_SOCKET
wait_notify "$SRV_NOTIFY" "^$SRV_PID READY=1\|STATUS=tunnel address 10\.10\.0\.1/24; 0 sessions" 10 "server ready"
wait_notify "$SRV_NOTIFY" '^probe ' 5 "connect to the server at READY=1"
line_of "$SRV_NOTIFY" '^probe ok$'
[ "$LINE" -gt 0 ] || fail "the server was not accepting connections when it sent READY=1: $(cat "$SRV_NOTIFY")"
[ "$(grep -c 'READY=1' "$SRV_NOTIFY")" = 1 ] || fail "server sent READY=1 more than once: $(cat "$SRV_NOTIFY")"
grep -Eqv "^$SRV_PID |^probe " "$SRV_NOTIFY" && fail "a message from a pid other than the server's ($SRV_PID): $(cat "$SRV_NOTIFY")"

# --- the client gets in: READY=1 with the address it was assigned
wait_client 1 20
wait_notify "$C1_NOTIFY" "^${CLIENT_PID[1]} READY=1\|STATUS=tunnel address ${CLIENT_ADDR[1]//./\\.}/24; 1 session \(1 established\)" 10 "client ready with its tunnel address"
lab_ping "$(c_ns 1)" 10.10.0.1 5
wait_notify "$SRV_NOTIFY" "^$SRV_PID STATUS=tunnel address 10\.10\.0\.1/24; 1 session \(1 established\)" 15 "server status follows the sessions"

# --- live reload: RELOADING=1 (with MONOTONIC_USEC), then READY=1; a
# refused reload (broken manifest) ends with READY=1 as well
hup_and_expect() {  # hup_and_expect STATUS_REGEX WHAT
  local before reloading ready
  before=$(wc -l <"$SRV_NOTIFY")
  kill -HUP "$SRV_PID"
  wait_notify_after "$before" "^$SRV_PID RELOADING=1\|MONOTONIC_USEC=[0-9]+\|" 10 "$2: RELOADING=1" "$SRV_PID"
  reloading=$LINE
  wait_notify_after "$reloading" "^$SRV_PID READY=1\|STATUS=$1" 10 "$2: READY=1 after it" "$SRV_PID"
  lab_alive "$SRV_PID" || fail "server died on SIGHUP"
}
hup_and_expect 'reloaded$' "reload"
lab_ping "$(c_ns 1)" 10.10.0.1 3
printf '[transport\n' >>"$SERVER_MANIFEST"
hup_and_expect 'reload refused: .*' "refused reload"
lab_ping "$(c_ns 1)" 10.10.0.1 3

# --- SIGTERM: STOPPING=1 before the exit; the client, told BYE, stops too
kill -TERM "$SRV_PID"
lab_wait_exit "$SRV_PID" 10 || fail "server still running 10 s after SIGTERM"
assert_eq "$LAB_EXIT_RC" 0 "server exit status after SIGTERM"
wait_notify "$SRV_NOTIFY" "^$SRV_PID STOPPING=1" 2 "server stopping"
lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client still running 10 s after the server's BYE"
wait_notify "$C1_NOTIFY" "^${CLIENT_PID[1]} STOPPING=1" 2 "client stopping"
for f in "$SRV_NOTIFY" "$C1_NOTIFY"; do
  line_of "$f" 'STOPPING=1'
  [ "$(wc -l <"$f")" = "$LINE" ] || fail "messages after STOPPING=1 in $(basename "$f"): $(cat "$f")"
  sed 's/^/    /' "$f"
done
