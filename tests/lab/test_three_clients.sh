#!/usr/bin/env bash
# Server + 3 clients: each gets a distinct pool address, pings the hub
# (10.10.0.1) 20 times without loss, and the clients ping each other.
source "$(dirname "$0")/lib.sh"
lab_init three_clients
lab_topology 3
start_server
for i in 1 2 3; do start_client "$i"; done
for i in 1 2 3; do wait_client "$i"; done

addrs=$(printf '%s\n' "${CLIENT_ADDR[1]}" "${CLIENT_ADDR[2]}" "${CLIENT_ADDR[3]}")
assert_eq "$(echo "$addrs" | sort -u | wc -l)" 3 "distinct client addresses"
for a in $addrs; do
  last=${a##*.}
  [ "$last" -ge 2 ] && [ "$last" -le 254 ] || fail "address $a outside the pool 10.10.0.2-254"
done

for i in 1 2 3; do lab_ping "$(c_ns "$i")" 10.10.0.1 20; done
for pair in "1 2" "2 1" "2 3" "3 2" "1 3" "3 1"; do
  set -- $pair
  lab_ping "$(c_ns "$1")" "${CLIENT_ADDR[$2]}" 5
done

srv_stat host.sessions_active
assert_eq "$STAT" 3 "server host.sessions_active"
srv_stat host.sessions_opened
assert_eq "$STAT" 3 "server host.sessions_opened"
srv_stat responder_icmp_echo.echo_replies 0
assert_ge "$STAT" 60 "server responder_icmp_echo.echo_replies"
