#!/usr/bin/env bash
# TCP between clients through the hub: ssh from c1 to an sshd in c2's
# namespace (own keys and config in the run's temp dir), then a 20 MiB
# transfer c1 -> c2 with socat whose sha256 must match.
source "$(dirname "$0")/lib.sh"
lab_init tcp_between_clients
lab_require_tools ssh ssh-keygen socat sha256sum unshare
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || lab_skip "sshd not found"
lab_topology 2
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
c2=${CLIENT_ADDR[2]}

# --- ssh -------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$LAB_TMP/ssh_host_ed25519_key" || fail "host key"
ssh-keygen -q -t ed25519 -N '' -f "$LAB_TMP/id_ed25519" || fail "client key"
cp "$LAB_TMP/id_ed25519.pub" "$LAB_TMP/authorized_keys"
cat >"$LAB_TMP/sshd_config" <<CONF
Port 22
ListenAddress 0.0.0.0
HostKey $LAB_TMP/ssh_host_ed25519_key
PidFile $LAB_TMP/sshd.pid
AuthorizedKeysFile $LAB_TMP/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
CONF
# sshd wants /run/sshd (privilege separation). Rather than creating it on the
# machine, give sshd a private mount namespace with its own tmpfs on /run.
# ip -> unshare -> sh -> sshd all exec, so the recorded PID is sshd's.
lab_bg "$(c_ns 2)" "$LAB_TMP/sshd.log" unshare -m --propagation private \
  sh -c 'mount -t tmpfs -o mode=755 lab-run /run && mkdir -m 755 /run/sshd && exec "$0" -D -e -f "$1"' \
  "$SSHD" "$LAB_TMP/sshd_config"
sshd_pid=$LAB_LAST_PID
end=$((SECONDS + 10))
until [ -n "$(ip netns exec "$(c_ns 2)" ss -Hltn 'sport = :22' 2>/dev/null)" ]; do
  lab_alive "$sshd_pid" || fail "sshd exited: $(cat "$LAB_TMP/sshd.log")"
  [ "$SECONDS" -ge "$end" ] && fail "sshd not listening after 10 s"
  sleep 0.1
done
log "sshd (pid $sshd_pid) listening in $(c_ns 2); ssh from c1 to root@$c2"
out=$(ip netns exec "$(c_ns 1)" timeout 30 ssh -i "$LAB_TMP/id_ed25519" -o StrictHostKeyChecking=no \
  -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
  "root@$c2" echo hello-from-c2 2>"$LAB_TMP/ssh.log")
rc=$?
echo "    ssh said: $out"
[ "$rc" = 0 ] || fail "ssh rc $rc: $(cat "$LAB_TMP/ssh.log")"
assert_eq "$out" hello-from-c2 "ssh output"
grep -q "Accepted publickey for root from ${CLIENT_ADDR[1]}" "$LAB_TMP/sshd.log" ||
  fail "sshd did not log the login from c1's tunnel address ${CLIENT_ADDR[1]}"
log "ok: sshd saw the login come from ${CLIENT_ADDR[1]}"

# --- 20 MiB over TCP ------------------------------------------------------
head -c $((20 * 1024 * 1024)) /dev/urandom >"$LAB_TMP/send.bin"
lab_bg "$(c_ns 2)" "$LAB_TMP/socat-recv.log" timeout 90 socat -u TCP-LISTEN:9000,reuseaddr \
  "CREATE:$LAB_TMP/recv.bin"
recv_pid=$LAB_LAST_PID
end=$((SECONDS + 10))
until [ -n "$(ip netns exec "$(c_ns 2)" ss -Hltn 'sport = :9000' 2>/dev/null)" ]; do
  lab_alive "$recv_pid" || fail "socat receiver exited"
  [ "$SECONDS" -ge "$end" ] && fail "socat receiver not listening after 10 s"
  sleep 0.1
done
log "sending 20 MiB c1 -> $c2:9000"
t0=$(date +%s.%N)
ip netns exec "$(c_ns 1)" timeout 90 socat -u "OPEN:$LAB_TMP/send.bin" "TCP:$c2:9000" ||
  fail "socat sender failed"
lab_wait_exit "$recv_pid" 30 || fail "socat receiver did not finish"
t1=$(date +%s.%N)
assert_eq "$LAB_EXIT_RC" 0 "socat receiver exit status"
log "transfer took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
sum_sent=$(sha256sum <"$LAB_TMP/send.bin" | cut -d' ' -f1)
sum_recv=$(sha256sum <"$LAB_TMP/recv.bin" | cut -d' ' -f1)
assert_eq "$(stat -c %s "$LAB_TMP/recv.bin")" $((20 * 1024 * 1024)) "bytes received"
assert_eq "$sum_recv" "$sum_sent" "sha256 of the 20 MiB received"
