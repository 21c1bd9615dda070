#!/usr/bin/env bash
# Everything the gateway and a route-all client change is put back:
# snapshots (links, IPv4/IPv6 routes of all tables, rules, nftables ruleset,
# ip_forward and every conf/*/forwarding) of the gateway and the client
# namespace taken before anything starts must equal those taken
#  (a) after the client exits on SIGTERM (client namespace);
#  (b) after the server exits on SIGTERM, the client leaving with it ("server
#      said goodbye") (both namespaces);
#  (c) after a crash (SIGKILL) of the server: the table and ip_forward stay
#      behind (the client reconnecting meanwhile, its routes still on the
#      tunnel: block), the next start removes the stale table, the client
#      comes back, and the SIGTERM exit restores the original ip_forward
#      (both namespaces);
#  (d) after a crash of the client: its host route to the gateway, its
#      policy rules and its table's IPv6 block stay behind (the table's
#      route through the TUN goes with the device), the next start removes
#      them, its SIGTERM exit leaves nothing (client namespace); resolv.conf
#      is the original again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_restore
gw_topology 1
gw_start_inet
gw_file small 64
C=$(c_ns 1)
TABLE=vpnhost_${P}_gw
cp "/etc/netns/$C/resolv.conf" "$LAB_TMP/resolv.orig"

gw_snapshot "$SRV_NS" "$LAB_TMP/srv.before"
gw_snapshot "$C" "$LAB_TMP/c1.before"
log "snapshots before the start: $SRV_NS $(wc -l <"$LAB_TMP/srv.before") lines, $C $(wc -l <"$LAB_TMP/c1.before") lines"

use_tunnel() {
  gw_fetch "$C" "http://$INET_ADDR/small" "$LAB_TMP/small.got" || fail "fetch through the tunnel failed: $(cat "$LAB_TMP/small.got.err")"
  cmp -s "$LAB_TMP/www/small" "$LAB_TMP/small.got" || fail "fetched file differs"
  grep -q "lookup 10010" <<<"$(ip -n "$C" -4 rule show)" || fail "route_all's rule missing in $C"
  grep -q "^default dev $P-t1" <<<"$(ip -n "$C" -4 route show table 10010)" || fail "route_all's table has no route through $P-t1"
}

resolv_is_original() {
  cmp -s "$LAB_TMP/resolv.orig" "/etc/netns/$C/resolv.conf" ||
    fail "$1: /etc/netns/$C/resolv.conf is not the original: $(cat "/etc/netns/$C/resolv.conf")"
  [ -e "$LAB_TMP/c1-resolv.save" ] && fail "$1: the resolv.conf backup is still there"
  log "ok: $1: resolv.conf is the original again"
}

# --- (a) client SIGTERM -----------------------------------------------------
log "(a) client exits on SIGTERM"
gw_start_server
gw_start_client 1
wait_client 1
use_tunnel
lab_stop "${CLIENT_PID[1]}"
assert_eq "$LAB_EXIT_RC" 0 "client exit status after SIGTERM"
gw_same_as "$LAB_TMP/c1.before" "$C" "(a) client SIGTERM"
resolv_is_original "(a)"

# --- (b) server SIGTERM -----------------------------------------------------
log "(b) server exits on SIGTERM; the client leaves with it"
gw_start_client 1
wait_client 1
use_tunnel
kill -TERM "$SRV_PID"
lab_wait_exit "$SRV_PID" 10 || fail "server still running 10 s after SIGTERM"
assert_eq "$LAB_EXIT_RC" 0 "server exit status after SIGTERM"
lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client still running 10 s after the server left"
grep -q "server said goodbye" "${CLIENT_LOG[1]}" || fail "client did not log 'server said goodbye'"
grep -q "gateway: nftables table inet $TABLE deleted" "$LAB_TMP/srv.log" || fail "server did not log the table's removal"
gw_same_as "$LAB_TMP/srv.before" "$SRV_NS" "(b) server SIGTERM"
gw_same_as "$LAB_TMP/c1.before" "$C" "(b) client after the server left"
resolv_is_original "(b)"
[ -z "$(ls -A "$GW_STATE_DIR" 2>/dev/null)" ] || fail "state files left: $(ls "$GW_STATE_DIR")"
log "ok: no state file left in $GW_STATE_DIR"

# --- (c) server crash ---------------------------------------------------------
log "(c) server killed with SIGKILL while a client is connected, then started again"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-b.log"
gw_start_server
gw_start_client 1 --set host.reconnect_max=2000
wait_client 1
use_tunnel
kill -KILL "$SRV_PID"
lab_wait_exit "$SRV_PID" 10 2>/dev/null || fail "server still running after SIGKILL"
ip netns exec "$SRV_NS" nft list table inet "$TABLE" >/dev/null 2>&1 || fail "expected the crashed server's table to remain"
assert_eq "$(ip netns exec "$SRV_NS" cat /proc/sys/net/ipv4/ip_forward)" 1 "ip_forward left on by the crashed server"
ls "$GW_STATE_DIR"/device_tun-net*-"$P"-gw.state >/dev/null 2>&1 || fail "no state file of the crashed server"
wait_for_log "${CLIENT_LOG[1]}" "reconnecting in" 10 "${CLIENT_PID[1]}"
r=$(gw_route_get "$C" "$INET_ADDR")
grep -q "dev $P-t1 " <<<"$r" || fail "while reconnecting (block), $INET_ADDR is not routed into the tunnel: $r"
log "ok: the client reconnects and keeps its routes on the tunnel meanwhile (block): $r"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-c1.log"
gw_start_server
grep -q "left .* behind: undoing it (table $TABLE, ip_forward 0, 0 route(s))" "$LAB_TMP/srv.log" ||
  fail "restarted server did not report the stale state"
[ "$(grep -c "$TABLE" <<<"$(ip netns exec "$SRV_NS" nft list tables)")" = 1 ] || fail "not exactly one table $TABLE"
wait_for_log "${CLIENT_LOG[1]}" "TUN $P-t1 (kept|reconfigured)" 15 "${CLIENT_PID[1]}"
log "client reconnected: $(grep -Eo "TUN $P-t1 (kept|reconfigured).*" "${CLIENT_LOG[1]}" | tail -n 1)"
use_tunnel
lab_stop "$SRV_PID"
lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client still running after the server left"
assert_eq "$LAB_EXIT_RC" 0 "client exit status after the server's goodbye"
gw_same_as "$LAB_TMP/srv.before" "$SRV_NS" "(c) server restarted after a crash, then SIGTERM"
gw_same_as "$LAB_TMP/c1.before" "$C" "(c) client that lived through the crash, after the server's goodbye"
resolv_is_original "(c)"

# --- (d) client crash ---------------------------------------------------------
log "(d) client killed with SIGKILL, then started again"
mv "$LAB_TMP/srv.log" "$LAB_TMP/srv-c2.log"
gw_start_server
gw_start_client 1
wait_client 1
use_tunnel
kill -KILL "${CLIENT_PID[1]}"
lab_wait_exit "${CLIENT_PID[1]}" 10 2>/dev/null || fail "client still running after SIGKILL"
grep -q "^$GW_PUBLIC via 172.31.1.1" <<<"$(ip -n "$C" -4 route show)" || fail "expected the crashed client's host route to remain"
[ -z "$(ip -n "$C" -4 route show table 10010 2>/dev/null)" ] || fail "the table's route survived the TUN device"
grep -q "^unreachable default" <<<"$(ip -n "$C" -6 route show table 10010)" || fail "expected the crashed client's IPv6 block to remain"
assert_eq "$( { ip -n "$C" -4 rule show; ip -n "$C" -6 rule show; } | grep -c 'proto 118')" 5 "policy rules the crashed client left"
log "ok: after the crash the host route, the rules and the IPv6 block remain, the table's route went with the TUN device"
gw_start_client 1
wait_client 1
grep -q "left .* behind: undoing it (table -, ip_forward -, 1 route(s), IPv6 block)" "${CLIENT_LOG[1]}" ||
  fail "restarted client did not report the stale state"
use_tunnel
lab_stop "${CLIENT_PID[1]}"
gw_same_as "$LAB_TMP/c1.before" "$C" "(d) client restarted after a crash, then SIGTERM"
resolv_is_original "(d)"
lab_stop "$SRV_PID"
gw_same_as "$LAB_TMP/srv.before" "$SRV_NS" "(d) server SIGTERM"
