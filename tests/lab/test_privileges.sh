#!/usr/bin/env bash
# No root after setup ([host] user; docs/security.md, "Privileges"). The
# stock gateway and a stock route_all client, both started as root with
# --set host.user=nobody:
#  - /proc/PID/status of each, once running: every uid and gid 65534, no
#    other group, CapEff = CapPrm = CapInh = CapAmb = CapBnd = CAP_NET_ADMIN
#    only (0x1000), NoNewPrivs 1;
#  - the stock flows under it: the client's routes, kill switch and up
#    script (the stock vpnhost-resolv, run as nobody with CAP_NET_ADMIN: it
#    writes the resolver file and can list nftables) come up after the drop;
#    an HTTP fetch through the gateway's NAT works;
#  - a reconnect after the gateway is killed -9 and started again: the
#    client re-addresses, refreshes its routes and kill switch as nobody and
#    fetches again; the new gateway undoes what the dead one left;
#  - live reload as nobody: a manifest change (log_level debug) is applied;
#  - the exits, as nobody: client and gateway put back every route, rule,
#    nftables table, forwarding setting and resolver line exactly as before
#    (compared with snapshots taken before the start), and leave no state file.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/gateway_lib.sh"
gw_init privileges
gw_topology 1
gw_start_inet
gw_file probe 64
lab_keygen
C=$(c_ns 1)
getent passwd nobody >/dev/null || fail "no user nobody on this machine"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# What nobody reads or writes after setup lives below $LAB_TMP (made
# traversable): the manifests and the hook script (a reload re-reads the
# manifest; the hook runs as nobody), and $RUN, nobody's own directory for
# the stats files, the control sockets and the resolver backup. The state
# directory does not exist yet: device_tun makes it for nobody at start.
chmod 711 "$LAB_TMP"
RUN=$LAB_TMP/run
install -d -o nobody -g "$NOBODY_GID" -m 700 "$RUN"
GW_STATE_DIR=$RUN/state
cp "$SERVER_MANIFEST" "$LAB_TMP/gateway.manifest"
cp "$CLIENT_MANIFEST" "$LAB_TMP/client.manifest"
cp "$LAB_SOURCE_DIR/scripts/vpnhost-resolv" "$LAB_TMP/vpnhost-resolv"
chmod 644 "$LAB_TMP/gateway.manifest" "$LAB_TMP/client.manifest"
chmod 755 "$LAB_TMP/vpnhost-resolv"
CONF=/etc/netns/$C/resolv.conf
chown nobody "$CONF"  # the hook runs as nobody: the file it rewrites is that user's
cp "$CONF" "$LAB_TMP/resolv.orig"
cat >"$LAB_TMP/hook" <<EOF2
#!/bin/sh
# Records who runs it and what it may do, then hands over to vpnhost-resolv.
{
  echo "uid \$(id -u) gid \$(id -g)"
  grep -E '^Cap(Eff|Amb):' /proc/self/status
  nft list tables >/dev/null 2>&1 && echo "nft: yes" || echo "nft: no"
} >"$RUN/hook.\$script_type"
exec "$LAB_TMP/vpnhost-resolv" "\$@"
EOF2
chmod 755 "$LAB_TMP/hook"

gw_snapshot "$SRV_NS" "$LAB_TMP/srv.before"
gw_snapshot "$C" "$LAB_TMP/c1.before"

SRV_N=0
start_gateway() {
  SRV_N=$((SRV_N + 1))
  log "starting the gateway (run $SRV_N) as root, --set host.user=nobody"
  lab_bg "$SRV_NS" "$LAB_TMP/srv-$SRV_N.log" "$VPNHOST" --plugins "$LAB_TMP/gateway.manifest" \
    --set "cipher.key_file=$KEY" --set "device.masquerade=$P-out" --set "device.name=$P-gw" \
    --set "device.state_dir=$GW_STATE_DIR" --set "router.dns=[\"$INET_ADDR\"]" \
    --set "host.control_socket=$RUN/srv.sock" --set host.user=nobody \
    --stats-file "$RUN/srv.stats" --log-level "$LAB_LOG_LEVEL"
  SRV_PID=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/srv-$SRV_N.log" "running as uid=$NOBODY_UID" 15 "$SRV_PID"
  local end=$((SECONDS + 10))
  until lab_listening "$SRV_NS" "$LAB_PORT"; do
    [ "$SECONDS" -ge "$end" ] && fail "gateway not listening after 10 s"
    sleep 0.1
  done
}

# proc_ok PID WHO: the credentials in /proc/PID/status.
proc_ok() {
  local st=/proc/$1/status want
  [ -r "$st" ] || fail "$2: no $st"
  grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):' "$st" | sed "s/^/    $2: /"
  for want in "Uid:	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID	$NOBODY_UID" \
    "Gid:	$NOBODY_GID	$NOBODY_GID	$NOBODY_GID	$NOBODY_GID" "Groups:	$NOBODY_GID " \
    "CapInh:	0000000000001000" "CapPrm:	0000000000001000" "CapEff:	0000000000001000" \
    "CapBnd:	0000000000001000" "CapAmb:	0000000000001000" "NoNewPrivs:	1"; do
    grep -qxF "$want" "$st" || grep -qxF "${want% }" "$st" || fail "$2: /proc/$1/status lacks '$want'"
  done
  log "ok: $2 (pid $1) runs as nobody with CAP_NET_ADMIN only, no_new_privs"
}

fetch_ok() {  # fetch_ok WHAT
  rm -f "$LAB_TMP/probe.got"
  gw_fetch "$C" "http://$INET_ADDR/probe" "$LAB_TMP/probe.got" || fail "$1: fetch failed: $(cat "$LAB_TMP/probe.got.err")"
  cmp -s "$LAB_TMP/www/probe" "$LAB_TMP/probe.got" || fail "$1: fetched file differs"
  log "ok: $1: HTTP fetch through the gateway's NAT"
}

start_gateway
proc_ok "$SRV_PID" gateway
GWT=$(grep -Eo 'nftables table inet vpnhost_[A-Za-z0-9_]+' "$LAB_TMP/srv-1.log" | head -n 1 | awk '{ print $4 }')
[ -n "$GWT" ] && ip netns exec "$SRV_NS" nft list table inet "$GWT" >/dev/null 2>&1 || fail "gateway nft table missing ('$GWT')"
[ "$(ip netns exec "$SRV_NS" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward not on"

export VPNHOST_RESOLV_CONF=$CONF VPNHOST_RESOLV_SAVE=$RUN/c1-resolv.save
CLIENT_LOG[1]=$LAB_TMP/c1.log
log "starting the route_all client as root, --set host.user=nobody"
lab_bg "$C" "${CLIENT_LOG[1]}" "$VPNHOST" --plugins "$LAB_TMP/client.manifest" --set "transport.connect=$GW_PUBLIC" \
  --set "cipher.key_file=$KEY" --set "device.name=$P-t1" --set "device.state_dir=$GW_STATE_DIR" \
  --set "device.up=$LAB_TMP/hook" --set "device.down=$LAB_TMP/hook" --set "host.control_socket=$RUN/c1.sock" \
  --set host.user=nobody --stats-file "$RUN/c1.stats" --log-level "$LAB_LOG_LEVEL"
CLIENT_PID[1]=$LAB_LAST_PID
unset VPNHOST_RESOLV_CONF VPNHOST_RESOLV_SAVE
wait_client 1
proc_ok "${CLIENT_PID[1]}" client
wait_for_log "${CLIENT_LOG[1]}" "up script: vpnhost-resolv: $CONF now uses nameserver $INET_ADDR" 5 "${CLIENT_PID[1]}"
cat "$RUN/hook.up" | sed 's/^/    up hook: /'
grep -qx "uid $NOBODY_UID gid $NOBODY_GID" "$RUN/hook.up" || fail "the up hook did not run as nobody"
grep -qx "CapEff:	0000000000001000" "$RUN/hook.up" || fail "the up hook lacks CAP_NET_ADMIN"
grep -qx "nft: yes" "$RUN/hook.up" || fail "the up hook cannot use nftables"
grep -qx "nameserver $INET_ADDR" "$CONF" || fail "the resolver file does not name $INET_ADDR"
KS=$(grep -Eo 'nftables table inet vpnhostks_[A-Za-z0-9_]+' "${CLIENT_LOG[1]}" | head -n 1 | awk '{ print $4 }')
[ -n "$KS" ] && ip netns exec "$C" nft list table inet "$KS" >/dev/null 2>&1 || fail "kill switch table missing ('$KS')"
case "$(gw_route_get "$C" "$INET_OTHER")" in *"dev $P-t1"*) ;; *) fail "route_all: $INET_OTHER not through the tunnel" ;; esac
log "ok: routes, kill switch ($KS) and up hook in place after the drop"
fetch_ok "first connection"

# --- reconnect: the gateway dies and comes back ------------------------------
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
start_gateway
proc_ok "$SRV_PID" "gateway (second run)"
grep -q "an earlier vpnhost (pid [0-9]*) left .* behind: undoing it" "$LAB_TMP/srv-2.log" ||
  fail "the new gateway did not undo the dead one's state"
wait_for_log "${CLIENT_LOG[1]}" "assigned 10\.10\.0\.[0-9]+/24.*" 30 "${CLIENT_PID[1]}"
end=$((SECONDS + 30))
until [ "$(grep -Ec 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[1]}")" -ge 2 ]; do
  [ "$SECONDS" -ge "$end" ] && fail "client did not reconnect within 30 s: $(tail -n 5 "${CLIENT_LOG[1]}")"
  lab_alive "${CLIENT_PID[1]}" || fail "client exited instead of reconnecting"
  sleep 0.2
done
log "ok: the client reconnected"
proc_ok "${CLIENT_PID[1]}" "client (after the reconnect)"
fetch_ok "after the reconnect"

# --- live reload as nobody ---------------------------------------------------
sed -i 's/^log_level = "info"/log_level = "debug"/' "$LAB_TMP/gateway.manifest"
grep -q '^log_level = "debug"' "$LAB_TMP/gateway.manifest" || fail "could not edit the manifest copy"
kill -HUP "$SRV_PID"
wait_for_log "$LAB_TMP/srv-2.log" "reloaded .*gateway.manifest" 10 "$SRV_PID"
grep -q "reload refused" "$LAB_TMP/srv-2.log" && fail "reload refused: $(grep 'reload refused' "$LAB_TMP/srv-2.log")"
log "ok: live reload as nobody re-read the manifest"

# --- exits, as nobody ----------------------------------------------------------
lab_stop "${CLIENT_PID[1]}"
assert_eq "$LAB_EXIT_RC" 0 "client exit status"
cat "$RUN/hook.down" | sed 's/^/    down hook: /'
grep -qx "uid $NOBODY_UID gid $NOBODY_GID" "$RUN/hook.down" || fail "the down hook did not run as nobody"
cmp "$LAB_TMP/resolv.orig" "$CONF" || fail "resolver file not restored by the down hook"
gw_same_as "$LAB_TMP/c1.before" "$C" "client after its exit as nobody"
lab_stop "$SRV_PID"
assert_eq "$LAB_EXIT_RC" 0 "gateway exit status"
gw_same_as "$LAB_TMP/srv.before" "$SRV_NS" "gateway after its exit as nobody"
left=$(ls -A "$GW_STATE_DIR" 2>/dev/null)
[ -z "$left" ] || fail "state files left: $left"
grep -q "cannot" "${CLIENT_LOG[1]}" "$LAB_TMP"/srv-*.log && {
  grep -n "cannot" "${CLIENT_LOG[1]}" "$LAB_TMP"/srv-*.log
  fail "a 'cannot' in the logs"
}
log "ok: no error in the logs"
