#!/usr/bin/env bash
# run-demo.sh [PATH/TO/vpnhost]: a private demo of vpnhost in network
# namespaces. Builds a small lab (prefix vh<pid>-), starts the stock server
# and two stock clients, shows their addresses, pings the hub (10.10.0.1)
# and each other, prints the server's counters, shuts everything down and
# removes everything it made (also on Ctrl-C or error). Needs root and an
# already built tree (default: build/bin/vpnhost next to this script's repo;
# or env VPNHOST). Touches nothing outside its own namespaces.
root=$(cd "$(dirname "$0")/.." && pwd)
VPNHOST=${1:-${VPNHOST:-$root/build/bin/vpnhost}}
VPNHOST=$(readlink -f "$VPNHOST" 2>/dev/null || echo "$VPNHOST")
export VPNHOST VPNHOST_SOURCE_DIR=${VPNHOST_SOURCE_DIR:-$root} LAB_STRICT=1
LAB_LOG_LEVEL=${LAB_LOG_LEVEL:-info}
if [ "$(id -u)" != 0 ]; then
  echo "run-demo.sh: needs root (network namespaces and TUN devices); try: sudo $0 $*" >&2
  exit 1
fi
# shellcheck source=../tests/lab/lib.sh
source "$root/tests/lab/lib.sh"
lab_init demo
lab_topology 2

echo
echo "== server (namespace $SRV_NS) and two clients (namespaces $(c_ns 1), $(c_ns 2))"
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
echo
echo "== assigned addresses"
for i in 1 2; do
  echo "client $i: ${CLIENT_ADDR[$i]} on $P-t$i"
  ip -n "$(c_ns "$i")" -4 -br addr show dev "$P-t$i" | sed 's/^/    /'
done

demo_ping() {  # demo_ping I DST
  echo
  echo "== client $1 ($(c_ns "$1")): ping -c 3 $2"
  ip netns exec "$(c_ns "$1")" ping -n -c 3 -i 0.2 -W 2 "$2" || fail "ping $2 from client $1"
}
demo_ping 1 10.10.0.1
demo_ping 2 10.10.0.1
demo_ping 1 "${CLIENT_ADDR[2]}"
demo_ping 2 "${CLIENT_ADDR[1]}"

echo
echo "== server counters (SIGUSR1 -> --stats-file)"
srv_stats
sed 's/^/    /' "$LAB_TMP/srv.stats"

echo
echo "== shutting down: SIGTERM to the server; the clients get BYE"
kill -TERM "$SRV_PID"
lab_wait_exit "$SRV_PID" 10 || fail "server did not exit"
echo "server exited with status $LAB_EXIT_RC"
for i in 1 2; do
  lab_wait_exit "${CLIENT_PID[$i]}" 10 || fail "client $i did not exit"
  echo "client $i exited with status $LAB_EXIT_RC: $(grep -m1 -o 'server said goodbye.*' "${CLIENT_LOG[$i]}")"
done
echo
echo "== server log (last lines)"
tail -n 15 "$LAB_TMP/srv.log" | sed 's/^/    /'
echo
