#!/usr/bin/env bash
# Revocation by live reload on a cipher_noise server that runs as nobody
# after setup (docs/security.md §8 and §4):
#  - its private key is nobody's (mode 0600), authorized_clients root's
#    (0644): no warning at start; the server runs as nobody;
#  - client 2's line is removed, SIGHUP: the server (as nobody) reads the
#    files again and ends client 2's session ("no longer authorized"),
#    client 1 stays;
#  - authorized_clients made root's only (0600): a reload is refused with
#    the reason (permission denied), the running configuration (client 1's
#    session) kept; a server started so warns at start that a reload could
#    not read it, naming the fix.
source "$(dirname "$0")/lib.sh"
lab_init privileges_reload
source "$(dirname "$0")/noise_lib.sh"

lab_topology 2
noise_authorize c1 c2
NOBODY_UID=$(id -u nobody) || fail "no user nobody"
chmod 711 "$LAB_TMP"
RUN=$LAB_TMP/run
install -d -o nobody -g "$(id -g nobody)" -m 700 "$RUN"
chown nobody "$LAB_TMP/server.key"
chmod 644 "$LAB_TMP/authorized_clients"
cp "$SECURE_SERVER" "$LAB_TMP/server.manifest"
chmod 644 "$LAB_TMP/server.manifest"
SECURE_SERVER=$LAB_TMP/server.manifest

authorized() {  # authorized NAME...: rewrite authorized_clients (root's, mode 0644)
  local n
  for n in "$@"; do echo "${PUB[$n]} $n"; done >"$LAB_TMP/ac.new"
  chmod 644 "$LAB_TMP/ac.new"
  mv -f "$LAB_TMP/ac.new" "$LAB_TMP/authorized_clients"
}

noise_start_server --set host.user=nobody --set "host.control_socket=$RUN/srv.sock"
wait_for_log "$LAB_TMP/srv.log" "running as uid=$NOBODY_UID" 10 "$SRV_PID"
grep -q "not readable by uid" "$LAB_TMP/srv.log" && fail "warned about a file nobody can read: $(grep 'not readable' "$LAB_TMP/srv.log")"
grep -q "^Uid:	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID$" "/proc/$SRV_PID/status" || fail "server not running as nobody"
for i in 1 2; do noise_start_client "$i" "c$i"; done
for i in 1 2; do wait_client "$i"; done

authorized c1
kill -HUP "$SRV_PID"
wait_for_log "$LAB_TMP/srv.log" 'reloaded .*server\.manifest: 1 session\(s\) ended as no longer authorized' 10 "$SRV_PID"
lab_wait_exit "${CLIENT_PID[2]}" 10 || fail "client 2 still runs 10 s after its key was removed"
grep -q 'server said goodbye (shutdown: no longer authorized)' "${CLIENT_LOG[2]}" ||
  fail "client 2 was not told why: $(tail -n 5 "${CLIENT_LOG[2]}")"
lab_alive "${CLIENT_PID[1]}" || fail "client 1 ended with the reload"
log "ok: reload as nobody revoked client 2; client 1 stays"

chmod 600 "$LAB_TMP/authorized_clients"
kill -HUP "$SRV_PID"
wait_for_log "$LAB_TMP/srv.log" 'reload refused, still running the previous configuration: .*authorized_clients.*Permission denied' 10 "$SRV_PID"
lab_alive "$SRV_PID" || fail "the server died on a refused reload"
ping_out=$(ip netns exec "$(c_ns 1)" ping -n -c 3 -i 0.2 -W 2 10.10.0.1 2>&1) || fail "client 1 lost its tunnel: $ping_out"
log "ok: an authorized_clients nobody cannot read refuses the reload, and the running configuration stays"
lab_stop "${CLIENT_PID[1]}"
lab_stop "$SRV_PID"

noise_start_server --set host.user=nobody --set "host.control_socket=$RUN/srv2.sock"
wait_for_log "$LAB_TMP/srv.log" "authorized_clients $LAB_TMP/authorized_clients is not readable by uid $NOBODY_UID, the user vpnhost runs as after setup, so a live reload cannot read it again: run chgrp" 10 "$SRV_PID"
log "ok: a server started with such a file warns at start, naming the fix"
lab_stop "$SRV_PID"
