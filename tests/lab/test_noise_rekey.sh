#!/usr/bin/env bash
# Rekeying under traffic: both clients rekey every 2 s
# (cipher.rekey_after_seconds=2) while alice sends 20 MiB to bob over TCP
# through the hub; the transfer completes intact (sha256), several rekeys
# happened on both sides during it, and not one frame was refused at a key
# switch (bad_tag, unknown_key_id, replayed, too_old all 0).
source "$(dirname "$0")/lib.sh"
lab_init noise_rekey
lab_require_tools socat sha256sum tc

source "$(dirname "$0")/noise_lib.sh"

lab_topology 2
for k in server alice bob; do noise_key "$k"; done
cat >"$LAB_TMP/authorized_clients" <<AC
${PUB[alice]} alice
${PUB[bob]} bob
AC
noise_start_server
noise_start_client 1 alice --set cipher.rekey_after_seconds=2
noise_start_client 2 bob --set cipher.rekey_after_seconds=2
wait_client 1
wait_client 2
c2=${CLIENT_ADDR[2]}

# Slow alice's underlay to ~16 Mbit/s so that 20 MiB take about 11 s: several
# rekeys of both clients happen while the data flows.
ip netns exec "$(c_ns 1)" tc qdisc add dev "$P-c1" root tbf rate 16mbit burst 64kb latency 100ms ||
  fail "tc tbf on $P-c1"

c_stat() {  # c_stat I NAME: STAT = client I's counter
  lab_stats "${CLIENT_PID[$1]}" "$LAB_TMP/c$1.stats"
  stat_get "$LAB_TMP/c$1.stats" "$2" 0
}
c_stat 1 cipher_noise.rekeys
alice0=$STAT
c_stat 2 cipher_noise.rekeys
bob0=$STAT
srv_stat cipher_noise.rekeys
srv0=$STAT

head -c $((20 * 1024 * 1024)) /dev/urandom >"$LAB_TMP/send.bin"
lab_bg "$(c_ns 2)" "$LAB_TMP/socat-recv.log" timeout 60 socat -u TCP-LISTEN:9000,reuseaddr "CREATE:$LAB_TMP/recv.bin"
recv_pid=$LAB_LAST_PID
end=$((SECONDS + 10))
until [ -n "$(ip netns exec "$(c_ns 2)" ss -Hltn 'sport = :9000' 2>/dev/null)" ]; do
  lab_alive "$recv_pid" || fail "socat receiver exited"
  [ "$SECONDS" -ge "$end" ] && fail "socat receiver not listening after 10 s"
  sleep 0.1
done
log "sending 20 MiB alice -> bob ($c2:9000) with rekeys every 2 s"
t0=$(date +%s.%N)
ip netns exec "$(c_ns 1)" timeout 45 socat -u "OPEN:$LAB_TMP/send.bin" "TCP:$c2:9000" || fail "socat sender failed"
lab_wait_exit "$recv_pid" 30 || fail "socat receiver did not finish"
t1=$(date +%s.%N)
assert_eq "$LAB_EXIT_RC" 0 "socat receiver exit status"
log "transfer took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
assert_eq "$(stat -c %s "$LAB_TMP/recv.bin")" $((20 * 1024 * 1024)) "bytes received"
assert_eq "$(sha256sum <"$LAB_TMP/recv.bin" | cut -d' ' -f1)" "$(sha256sum <"$LAB_TMP/send.bin" | cut -d' ' -f1)" \
  "sha256 of the 20 MiB received"

c_stat 1 cipher_noise.rekeys
assert_ge $((STAT - alice0)) 3 "alice's rekeys during the transfer"
c_stat 2 cipher_noise.rekeys
assert_ge $((STAT - bob0)) 3 "bob's rekeys during the transfer"
srv_stat cipher_noise.rekeys
assert_ge $((STAT - srv0)) 6 "server rekeys (confirmed) during the transfer"
# Seamless: nothing was refused at any key switch.
for n in bad_tag unknown_key_id replayed too_old stale_handshake handshake_failed; do
  srv_stat "cipher_noise.$n" 0
  assert_eq "$STAT" 0 "server cipher_noise.$n"
  c_stat 1 "cipher_noise.$n"
  assert_eq "$STAT" 0 "alice cipher_noise.$n"
done
srv_stat cipher_noise.keys_dropped
log "server cipher_noise.keys_dropped = $STAT (old keys are wiped 180 s after their handshake)"
srv_stat host.sessions_opened
assert_eq "$STAT" 2 "server host.sessions_opened (rekeys are not reconnects)"
lab_ping "$(c_ns 2)" 10.10.0.1 5
