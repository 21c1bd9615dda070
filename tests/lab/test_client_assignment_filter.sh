#!/usr/bin/env bash
# A client accepts only assignments inside networks its own manifest allows
# (issue 15, item 6; router_client accept_networks / min_prefix_len,
# docs/manifest.md). Before, a server (or anyone with the cipher_xor key who
# answers first) could assign e.g. 200.8.8.8/1 and the client routed
# 128.0.0.0/1 through the tunnel.
#  - server 1: router_hub network 200.8.0.0/16 (a public network; router_hub
#    takes at most a /16): the stock client c1 refuses 200.8.0.2/16, says
#    what it refused and which option allows it, exits 3 (as for a lasting
#    REJECT), and has no route into 200.8.0.0/16 and no TUN address;
#  - the same server, client c2 with accept_networks = ["200.8.0.0/16"]:
#    accepted, the route is there and the hub answers pings;
#  - a rogue server (tests/lab/rogue_server.py) assigns 200.8.8.8/1: client
#    c3 refuses it (min_prefix_len 16), exits 3, and installs no route
#    covering 128.0.0.0/1.
source "$(dirname "$0")/lib.sh"
lab_init client_assignment_filter
ROGUE_PORT=5001

# no_tunnel_route I WHAT: client I's namespace routes nothing through its TUN,
# nor anything into NET.
no_tunnel_route() {
  local i=$1 net=$2 routes
  routes=$(ip -n "$(c_ns "$i")" -4 route show 2>&1)
  echo "$routes" | sed "s/^/    c$i route: /"
  if echo "$routes" | grep -q "dev $P-t$i"; then fail "client $i has a route through its TUN: $routes"; fi
  if echo "$routes" | grep -q "^$net"; then fail "client $i has a route into $net: $routes"; fi
  if ip -n "$(c_ns "$i")" -4 -o addr show dev "$P-t$i" 2>/dev/null | grep -q inet; then
    fail "client $i's TUN $P-t$i carries an address: $(ip -n "$(c_ns "$i")" -4 -o addr show dev "$P-t$i")"
  fi
}

lab_topology 3
start_server --set router.network=200.8.0.0/16 --set router.server_address=200.8.0.1

# --- c1, stock options: refused ----------------------------------------------
start_client 1
lab_wait_exit "${CLIENT_PID[1]}" 20 || fail "client c1 still running 20 s after connecting: it did not refuse"
assert_eq "$LAB_EXIT_RC" 3 "client c1 exit status (assignment refused: lasting)"
msg="[router] router_client refused the assignment: the server assigned 200.8.0.2/16 (server 200.8.0.1), which would route 200.8.0.0/16 through the tunnel: it is not inside one of accept_networks (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10) together with the server address (to accept it, add its network to router_client's option accept_networks)"
grep -qF "$msg" "${CLIENT_LOG[1]}" || fail "client c1 did not say what it refused: $(grep -i refused "${CLIENT_LOG[1]}")"
grep -q "reconnecting in" "${CLIENT_LOG[1]}" && fail "client c1 retried a refused assignment"
log "ok: c1 refused, exit 3: $(grep -m1 -o 'refused the assignment: .*through the tunnel' "${CLIENT_LOG[1]}")"
no_tunnel_route 1 200.8.
stat_get "$LAB_TMP/c1.stats" router_client.assignments_refused
assert_eq "$STAT" 1 "c1 router_client.assignments_refused"

# --- c2, the network allowed in its manifest: accepted ---------------------------
start_client 2 --set 'router.accept_networks=["200.8.0.0/16"]'
wait_for_log "${CLIENT_LOG[2]}" 'assigned 200\.8\.0\.[0-9]+/16' 15 "${CLIENT_PID[2]}"
ip -n "$(c_ns 2)" -4 route show | grep -q "^200.8.0.0/16 dev $P-t2" ||
  fail "client c2 has no route 200.8.0.0/16 through $P-t2: $(ip -n "$(c_ns 2)" -4 route show)"
lab_ping "$(c_ns 2)" 200.8.0.1 5
log "ok: c2 (accept_networks = [\"200.8.0.0/16\"]) accepted the same assignment"
lab_stop "${CLIENT_PID[2]}"

# --- c3 against a rogue server assigning 200.8.8.8/1 -----------------------------
lab_bg "$SRV_NS" "$LAB_TMP/rogue.log" python3 "$LAB_SOURCE_DIR/tests/lab/rogue_server.py" "$ROGUE_PORT" "$KEY" \
  200.8.8.8/1 200.8.8.1 60
rogue_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/rogue.log" "^listening on $ROGUE_PORT" 10 "$rogue_pid"
start_client 3 --set "transport.port=$ROGUE_PORT"
lab_wait_exit "${CLIENT_PID[3]}" 20 || fail "client c3 still running 20 s after the rogue WELCOME"
assert_eq "$LAB_EXIT_RC" 3 "client c3 exit status (assignment refused: lasting)"
grep -q "^welcome sent 200.8.8.8/1" "$LAB_TMP/rogue.log" || fail "the rogue server sent no WELCOME: $(cat "$LAB_TMP/rogue.log")"
msg="[router] router_client refused the assignment: the server assigned 200.8.8.8/1 (server 200.8.8.1), which would route 128.0.0.0/1 through the tunnel: its prefix /1 is shorter than min_prefix_len 16 (to accept it, lower router_client's option min_prefix_len)"
grep -qF "$msg" "${CLIENT_LOG[3]}" || fail "client c3 did not say what it refused: $(grep -i refused "${CLIENT_LOG[3]}")"
log "ok: c3 refused 200.8.8.8/1, exit 3"
no_tunnel_route 3 128.0.0.0
lab_stop "$rogue_pid"
