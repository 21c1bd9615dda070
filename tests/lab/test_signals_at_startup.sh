#!/usr/bin/env bash
# Signals that arrive while the host is still starting are held, not fatal:
# the server's device up-script (run during start-up, before the event loop)
# sends its parent SIGHUP, then SIGUSR1. The server must come up, then
# reload (log "reloaded") and write its stats file. A second server whose
# up-script sends SIGTERM must come up and then shut down cleanly (exit 0,
# TUN removed) instead of dying half-started.
source "$(dirname "$0")/lib.sh"
lab_init signals_at_startup
lab_topology 1

SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/gateway.manifest  # a server with a device (no masquerade below)
hook() {  # hook FILE SIGNALS...: an up-script that signals its parent (vpnhost)
  local f=$1
  shift
  { echo '#!/bin/sh'; for s in "$@"; do echo "kill -$s \$PPID"; done; } >"$f"
  chmod +x "$f"
}
hook "$LAB_TMP/up-hup" HUP USR1
hook "$LAB_TMP/up-term" TERM
gw() { echo --set "device.masquerade=" --set "device.name=$P-gw" --set "device.state_dir=$LAB_TMP/state" "$@"; }

# --- SIGHUP + SIGUSR1 during start-up
# shellcheck disable=SC2046
start_server $(gw --set "device.up=$LAB_TMP/up-hup")
wait_for_log "$LAB_TMP/srv.log" "reloaded" 10 "$SRV_PID"
lab_alive "$SRV_PID" || fail "the server died of a SIGHUP during start-up"
grep -q "vpnhost .* running" "$LAB_TMP/srv.log" || fail "server log has no 'running' line"
# the reload came after start-up finished, not in the middle of it
running_line=$(grep -n "vpnhost .* running" "$LAB_TMP/srv.log" | head -n 1 | cut -d: -f1)
reload_line=$(grep -n "reloaded" "$LAB_TMP/srv.log" | head -n 1 | cut -d: -f1)
[ "$reload_line" -gt "$running_line" ] || fail "reload logged (line $reload_line) before 'running' (line $running_line)"
log "ok: SIGHUP during start-up: server up, reloaded afterwards"
end=$((SECONDS + 10))
until [ -s "$LAB_TMP/srv.stats" ]; do
  [ "$SECONDS" -ge "$end" ] && fail "SIGUSR1 during start-up: no stats file after 10 s"
  sleep 0.1
done
log "ok: SIGUSR1 during start-up: stats file written (stats_interval is 0: only SIGUSR1 writes it while running)"
lab_stop "$SRV_PID"

# --- SIGTERM during start-up (not start_server: it would wait for a listener
# that may already be gone)
start_server_nowait() {
  lab_bg "$SRV_NS" "$LAB_TMP/srv2.log" "$VPNHOST" --plugins "$SERVER_MANIFEST" --set "cipher.key_file=$KEY" \
    --log-level "$LAB_LOG_LEVEL" "$@"
  SRV_PID=$LAB_LAST_PID
}
# shellcheck disable=SC2046
start_server_nowait $(gw --set "device.up=$LAB_TMP/up-term")
end=$((SECONDS + 15))
while lab_alive "$SRV_PID"; do
  [ "$SECONDS" -ge "$end" ] && fail "server still running 15 s after SIGTERM during start-up"
  sleep 0.1
done
wait "$SRV_PID"
assert_eq "$?" 0 "exit status after SIGTERM during start-up"
grep -q "vpnhost .* running" "$LAB_TMP/srv2.log" || fail "server never finished starting before it stopped"
grep -q "SIGTERM" "$LAB_TMP/srv2.log" || fail "server log does not say it stopped on SIGTERM"
if ip -n "$SRV_NS" link show "$P-gw" >/dev/null 2>&1; then fail "TUN $P-gw left behind"; fi
log "ok: SIGTERM during start-up: started, then shut down cleanly (exit 0, TUN removed)"
