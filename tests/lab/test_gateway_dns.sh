#!/usr/bin/env bash
# DNS pushed by the gateway (router_hub dns = ["198.51.100.1"]) and applied
# by the client's up/down hook, the stock scripts/vpnhost-resolv:
#  - before: the client namespace's resolver file says 192.0.2.53 and the
#    name www.example.test does not resolve;
#  - up: the file (/etc/netns/<ns>/resolv.conf, i.e. /etc/resolv.conf inside
#    `ip netns exec`) names 198.51.100.1; getent resolves www.example.test to
#    198.51.100.1 through the tunnel (the DNS server saw the query from the
#    gateway's outward address); an HTTP fetch by name works;
#  - the script got the documented environment (dev, ifconfig_local,
#    route_vpn_gateway, foreign_option_1, VPNHOST_DNS), as logged;
#  - down (client SIGTERM): the file is byte for byte the original again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init gateway_dns
gw_topology 1
gw_start_inet
gw_file named 64
C=$(c_ns 1)
CONF=/etc/netns/$C/resolv.conf
cp "$CONF" "$LAB_TMP/resolv.orig"

# A probe script next to the stock one: records its environment, then
# hands over to vpnhost-resolv (so the hook is the stock script's behaviour).
cat >"$LAB_TMP/probe-hook" <<EOF2
#!/bin/sh
env | grep -E '^(script_type|dev|dev_type|tun_mtu|ifconfig_local|ifconfig_netmask|route_vpn_gateway|route_net_gateway|trusted_ip|foreign_option_[0-9]+|VPNHOST_[A-Z_]+)=' | sort >"$LAB_TMP/hook-env.\$script_type"
echo "args: \$*" >>"$LAB_TMP/hook-env.\$script_type"
exec "$LAB_SOURCE_DIR/scripts/vpnhost-resolv" "\$@"
EOF2
chmod +x "$LAB_TMP/probe-hook"

out=$(ip netns exec "$C" getent ahostsv4 www.example.test 2>&1) && fail "www.example.test resolved before the tunnel: $out"
grep -q "nameserver 192.0.2.53" <<<"$(ip netns exec "$C" cat /etc/resolv.conf)" || fail "namespace resolver file not in place"
log "ok: before the tunnel $C uses 192.0.2.53 and www.example.test does not resolve"

gw_start_server
gw_start_client 1 --set "device.up=$LAB_TMP/probe-hook" --set "device.down=$LAB_TMP/probe-hook"
wait_client 1
wait_for_log "${CLIENT_LOG[1]}" "up script: vpnhost-resolv: $CONF now uses nameserver $INET_ADDR" 5 "${CLIENT_PID[1]}"
inside=$(ip netns exec "$C" cat /etc/resolv.conf)
echo "$inside" | sed 's/^/    /'
grep -qx "nameserver $INET_ADDR" <<<"$inside" || fail "resolver file inside $C does not name $INET_ADDR"
grep -q "192.0.2.53" <<<"$inside" && fail "the old nameserver is still listed"

env_up=$(cat "$LAB_TMP/hook-env.up")
echo "$env_up" | sed 's/^/    hook: /'
for want in "script_type=up" "dev=$P-t1" "dev_type=tun" "tun_mtu=1444" "ifconfig_local=${CLIENT_ADDR[1]}" \
  "ifconfig_netmask=255.255.255.0" "route_vpn_gateway=10.10.0.1" "route_net_gateway=172.31.1.1" \
  "trusted_ip=$GW_PUBLIC" "foreign_option_1=dhcp-option DNS $INET_ADDR" "VPNHOST_DNS=$INET_ADDR" \
  "VPNHOST_ROUTE_ALL=1" "args: $P-t1 1444 1444 ${CLIENT_ADDR[1]} 255.255.255.0 init"; do
  grep -qxF "$want" <<<"$env_up" || fail "up hook environment lacks '$want'"
done
log "ok: the up hook got the documented environment and arguments"

got=$(ip netns exec "$C" timeout 10 getent ahostsv4 www.example.test | awk 'NR == 1 { print $1 }')
assert_eq "$got" "$INET_ADDR" "www.example.test resolved in $C"
grep -q "^$GW_OUT_ADDR www.example.test 1$" "$LAB_TMP/dns-queries.txt" ||
  fail "the DNS server did not see the A query from the gateway's address: $(cat "$LAB_TMP/dns-queries.txt")"
grep -q '^10\.10\.0\.' "$LAB_TMP/dns-queries.txt" && fail "the DNS server saw a tunnel address"
log "ok: the query went through the tunnel (the DNS server saw $GW_OUT_ADDR)"
gw_fetch "$C" "http://www.example.test/named" "$LAB_TMP/named.got" || fail "fetch by name failed: $(cat "$LAB_TMP/named.got.err")"
cmp -s "$LAB_TMP/www/named" "$LAB_TMP/named.got" || fail "fetched file differs"
log "ok: http://www.example.test/named fetched by name"

lab_stop "${CLIENT_PID[1]}"
assert_eq "$LAB_EXIT_RC" 0 "client exit status"
grep -qx "script_type=down" "$LAB_TMP/hook-env.down" || fail "the down hook did not run"
grep -q "down script: vpnhost-resolv: $CONF restored" "${CLIENT_LOG[1]}" || fail "client did not log the restore"
cmp "$LAB_TMP/resolv.orig" "$CONF" || fail "resolver file differs from the original after the tunnel went down"
[ -e "$LAB_TMP/c1-resolv.save" ] && fail "backup file left behind"
log "ok: after the client left, $CONF is byte for byte the original"
