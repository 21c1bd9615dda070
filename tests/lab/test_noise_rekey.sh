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
noise_authorize alice bob
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

log "20 MiB alice -> bob with rekeys every 2 s"
lab_transfer "$(c_ns 1)" "$(c_ns 2)" "$c2" 20 60

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
