#!/usr/bin/env bash
# A multi-homed UDP server (listen = "0.0.0.0", then "::") answers each
# client from the address the client sent to (IP_PKTINFO / IPV6_PKTINFO).
# The server namespace has 172.31.1.1 on one link and 172.31.2.1 (and
# fd00:31:1::1, fd00:31:2::1) on another; the client sits on the second
# link, routed via 172.31.2.1, and connects to the server's OTHER address
# 172.31.1.1. The kernel's own choice of source for the replies would be
# 172.31.2.1 (the address of the link they leave by), which the client's
# connected socket drops: without PKTINFO it never connects. Checked: it
# connects and pings, and every datagram from the server to the client
# leaves from 172.31.1.1 (tcpdump in the client namespace); the same over a
# dual-stack socket ("::", IPv4-mapped) and over IPv6 (fd00:31:1::1).
source "$(dirname "$0")/lib.sh"
lab_init udp_multihomed
lab_require_tools tcpdump
LAB_TRANSPORT=udp  # (after lab_init: the name stays udp_multihomed)
SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server-udp.manifest
CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client-udp.manifest
lab_topology 2
CNS=$(c_ns 2)
# The client reaches 172.31.1.0/24 (and fd00:31:1::/64) only via the server's
# address on its own link.
ip -n "$CNS" route add 172.31.1.0/24 via 172.31.2.1 || fail "route in $CNS"
ip -n "$SRV_NS" addr add fd00:31:1::1/64 dev "$P-s1" nodad || fail "IPv6 on $P-s1"
ip -n "$SRV_NS" addr add fd00:31:2::1/64 dev "$P-s2" nodad || fail "IPv6 on $P-s2"
ip -n "$CNS" addr add fd00:31:2::2/64 dev "$P-c2" nodad || fail "IPv6 on $P-c2"
ip -n "$CNS" -6 route add fd00:31:1::/64 via fd00:31:2::1 || fail "IPv6 route in $CNS"
ip netns exec "$CNS" ping -c 1 -W 2 172.31.1.1 >/dev/null || fail "underlay: $CNS cannot reach 172.31.1.1"
ip netns exec "$CNS" ping -6 -c 1 -W 2 fd00:31:1::1 >/dev/null || fail "underlay: $CNS cannot reach fd00:31:1::1"

run() {  # run LISTEN SERVER_ADDR TAG: server listening on LISTEN, client 2 connects to SERVER_ADDR
  local listen=$1 addr=$2 tag=$3 n wrong
  log "--- listen = \"$listen\", the client connects to $addr (not the address of its link)"
  lab_bg "$CNS" "$LAB_TMP/dump-$tag.log" tcpdump -n -i "$P-c2" --immediate-mode -U -w "$LAB_TMP/$tag.pcap" udp src port "$LAB_PORT"
  local dump=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/dump-$tag.log" 'listening on' 10 "$dump"
  start_server --set "transport.listen=$listen" --set host.control_socket=
  start_client 2 --set "transport.connect=$addr" --set host.control_socket=
  wait_client 2 15
  lab_ping "$CNS" 10.10.0.1 5
  lab_stop "${CLIENT_PID[2]}"
  lab_stop "$SRV_PID"
  # The capture has the WELCOME and 5 echo replies at least: wait (bounded)
  # until tcpdump wrote them (--immediate-mode -U: each as it comes).
  local end=$((SECONDS + 10))
  while :; do
    tcpdump -n -r "$LAB_TMP/$tag.pcap" 2>/dev/null >"$LAB_TMP/$tag.txt"
    n=$(grep -c . "$LAB_TMP/$tag.txt")
    [ "$n" -ge 7 ] && break
    [ "$SECONDS" -ge "$end" ] && break
    sleep 0.2
  done
  lab_stop "$dump"
  tcpdump -n -r "$LAB_TMP/$tag.pcap" 2>/dev/null >"$LAB_TMP/$tag.txt"
  n=$(grep -c . "$LAB_TMP/$tag.txt")
  wrong=$(grep -vc " IP6\? ${addr//[\[\]]/}\.$LAB_PORT > " "$LAB_TMP/$tag.txt")
  log "$n datagrams from the server's port $LAB_PORT seen by the client, $wrong from another address"
  [ "$n" -ge 7 ] || fail "only $n datagrams from the server in the capture"
  [ "$wrong" = 0 ] || fail "datagrams from another source than $addr: $(grep -v " ${addr}\.$LAB_PORT > " "$LAB_TMP/$tag.txt" | head -3)"
  log "ok: listen = \"$listen\": connected to $addr, pinged, every reply from $addr"
}

run 0.0.0.0 172.31.1.1 v4
run :: 172.31.1.1 dual
run :: fd00:31:1::1 v6
log "PASS"
