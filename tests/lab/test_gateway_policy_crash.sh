#!/usr/bin/env bash
# route_all's policy rules outlive a crash of the client, and are never
# doubled (the stock route-all client, IPv6 on its underlay so that
# block_ipv6 has something to block):
#  - killed with SIGKILL, the client leaves its 5 rules (the server's
#    address with main; IPv6's link-local and multicast with main; IPv4 and
#    IPv6 to table 10010) and the table's IPv6 block, all listed in its
#    state file; `ip rule` shows them; the table's IPv4 route through the
#    TUN went with the device;
#  - the next start deletes them and makes its own: `ip rule` and the
#    table read exactly as during the first run, each rule once;
#  - killed again, `vpnhost unblock` deletes the rules, the table's routes
#    and the kill switch;
#  - a start after that and a clean exit (SIGTERM) leave the namespace's
#    routes (all tables), rules and nftables exactly as before the first
#    start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_policy_crash
gw_topology 1
gw_start_inet
gw_file f 16
C=$(c_ns 1)
gw_ipv6_underlay
gw_snapshot "$C" "$LAB_TMP/c1.before"

policy() {  # policy FILE: the rules of both families and table 10010's routes
  {
    ip -n "$C" -4 rule show
    ip -n "$C" -6 rule show
    ip -n "$C" -4 route show table 10010 2>/dev/null
    ip -n "$C" -6 route show table 10010 2>/dev/null
  } >"$1"
}
ours() { { ip -n "$C" -4 rule show; ip -n "$C" -6 rule show; } | grep -c "proto 118"; }
through_tunnel() {  # through_tunnel TAG: GET /f?TAG, which the web server sees from the gateway
  gw_fetch "$C" "http://$INET_ADDR/f?$1" "$LAB_TMP/f-$1.got" 10 || fail "$1: fetch through the tunnel failed"
  assert_eq "$(awk -v f="GET /f?$1 " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log")" "$GW_OUT_ADDR" \
    "$1: source the web server saw"
}
crash() {
  kill -KILL "${CLIENT_PID[1]}"
  lab_wait_exit "${CLIENT_PID[1]}" 10 || fail "client still running after SIGKILL"
}

gw_start_server
gw_start_client 1
wait_client 1
through_tunnel first
policy "$LAB_TMP/policy.first"
sed 's/^/    /' "$LAB_TMP/policy.first"
assert_eq "$(ours)" 5 "policy rules while the first run is up"

log "SIGKILL: the rules stay until the next start"
crash
assert_eq "$(ours)" 5 "policy rules the crashed client left (ip rule)"
grep -q "^unreachable default dev lo proto 118" <<<"$(ip -n "$C" -6 route show table 10010)" || fail "the IPv6 block went with the crash"
[ -z "$(ip -n "$C" -4 route show table 10010 2>/dev/null)" ] || fail "table 10010's IPv4 route outlived the TUN device"
state=$(cat "$GW_STATE_DIR"/device_tun-net*-"$P"-t1.state) || fail "no state file of the crashed client"
assert_eq "$(grep -c '^rule ' <<<"$state")" 5 "rules listed in the crashed client's state file"
grep -q "^unreachable6 ::/0 10010$" <<<"$state" || fail "the IPv6 block is not listed: $state"
log "ok: after SIGKILL, ip rule still shows the 5 rules, and the state file lists them"

gw_start_client 1
wait_client 1
grep -q "policy routing removed: 5 rule(s)" "${CLIENT_LOG[1]}" || fail "the next start did not remove the stale rules"
through_tunnel second
policy "$LAB_TMP/policy.second"
diff -u "$LAB_TMP/policy.first" "$LAB_TMP/policy.second" || fail "the second run's rules and table differ from the first run's"
log "ok: the next start removed the stale rules and made its own: exactly the first run's, none twice"

log "SIGKILL again, then vpnhost unblock"
crash
ip netns exec "$C" "$VPNHOST" unblock "$P-t1" >"$LAB_TMP/unblock.txt" 2>&1 || fail "vpnhost unblock failed: $(cat "$LAB_TMP/unblock.txt")"
sed 's/^/    /' "$LAB_TMP/unblock.txt"
grep -q "policy routing of route_all removed (5 rule(s) and 1 route(s) with proto 118 deleted)" "$LAB_TMP/unblock.txt" ||
  fail "vpnhost unblock did not say it removed the rules"
assert_eq "$(ours)" 0 "policy rules after vpnhost unblock"
assert_eq "$(ip -n "$C" -6 route show table all | grep -c 'proto 118')" 0 "routes with proto 118 after vpnhost unblock"
ip netns exec "$C" nft list table inet "vpnhostks_${P}_t1" >/dev/null 2>&1 && fail "the kill switch is still there after unblock"
log "ok: vpnhost unblock removed the rules, the IPv6 block and the kill switch"

gw_start_client 1
wait_client 1
through_tunnel third
lab_stop "${CLIENT_PID[1]}"
assert_eq "$LAB_EXIT_RC" 0 "client exit status after SIGTERM"
gw_same_as "$LAB_TMP/c1.before" "$C" "a start after unblock, then SIGTERM"
[ -z "$(ls -A "$GW_STATE_DIR" 2>/dev/null | grep -- "-$P-t1.state")" ] || fail "the client's state file is still there"
