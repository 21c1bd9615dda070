#!/usr/bin/env bash
# Orderly shutdown of the server:
#  (a) --stdin-eof-exits, stdin from a fifo we hold: closing it makes the
#      server exit 0; every client logs "server said goodbye" and exits 0;
#  (b) the same with SIGTERM to the server;
#  (c) afterwards no TUN device, process or namespace of the run remains.
source "$(dirname "$0")/lib.sh"
lab_init shutdown
lab_topology 2

# clients_say_goodbye: both clients end by themselves, exit 0, TUN removed.
clients_say_goodbye() {
  local i
  for i in 1 2; do
    lab_wait_exit "${CLIENT_PID[$i]}" 10 || fail "client $i still running 10 s after the server left"
    assert_eq "$LAB_EXIT_RC" 0 "client $i exit status"
    grep -q "server said goodbye" "${CLIENT_LOG[$i]}" || fail "client $i did not log 'server said goodbye'"
    ip -n "$(c_ns "$i")" link show dev "$P-t$i" >/dev/null 2>&1 && fail "TUN $P-t$i left after client $i exited"
  done
  log "ok: both clients said goodbye, exited 0, removed their TUN devices"
}

connect_both() {
  start_client 1
  start_client 2
  wait_client 1
  wait_client 2
  lab_ping "$(c_ns 1)" "${CLIENT_ADDR[2]}" 3
}

# --- (a) EOF on stdin -----------------------------------------------------
log "(a) server with --stdin-eof-exits, stdin = a fifo we hold open"
mkfifo "$LAB_TMP/srv.in"
exec 7<>"$LAB_TMP/srv.in"
LAB_STDIN=$LAB_TMP/srv.in start_server --stdin-eof-exits
connect_both
sleep 0.5
lab_alive "$SRV_PID" || fail "server exited although its stdin is still open"
log "closing the server's stdin"
exec 7>&-
lab_wait_exit "$SRV_PID" 10 || fail "server still running 10 s after stdin EOF"
assert_eq "$LAB_EXIT_RC" 0 "server exit status after stdin EOF"
clients_say_goodbye
[ -s "$LAB_TMP/srv.stats" ] && log "server's counters at exit: $(tr '\n' ' ' <"$LAB_TMP/srv.stats" | cut -c1-300)"

# --- (b) SIGTERM -----------------------------------------------------------
log "(b) server stopped with SIGTERM"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-a.log"
start_server
connect_both
kill -TERM "$SRV_PID"
lab_wait_exit "$SRV_PID" 10 || fail "server still running 10 s after SIGTERM"
assert_eq "$LAB_EXIT_RC" 0 "server exit status after SIGTERM"
clients_say_goodbye

# --- (c) nothing left ------------------------------------------------------
log "(c) nothing of the run may remain"
for pid in "${LAB_PIDS[@]}"; do
  lab_alive "$pid" && fail "process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline)) still running"
done
for ns in "${LAB_NS[@]}"; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns" | tr '\n' ' ')"
  ip -n "$ns" -o link show type tun | grep -q . && fail "TUN device left in $ns"
done
log "ok: no process and no TUN device left in any namespace of the run"
lab_cleanup || fail "cleanup found leftovers"
assert_eq "$(ip netns list | grep -c "^$P-")" 0 "namespaces of the run left"
