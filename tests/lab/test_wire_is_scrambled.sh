#!/usr/bin/env bash
# The underlay never carries tunnel payload in clear: while c1 pings the hub
# with a random 16-byte pattern (ping -p), a capture on the server's veth must
# not contain the pattern. Positive controls: the same detector finds the
# pattern in a capture of c1's TUN device, and on the underlay when the
# pattern is sent in clear with socat.
source "$(dirname "$0")/lib.sh"
lab_init wire_is_scrambled
lab_require_tools tcpdump socat
lab_topology 1
start_server
start_client 1
wait_client 1

pat=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
[ ${#pat} = 32 ] || fail "pattern generation"
log "pattern $pat"

# capture IFACE NS FILE: tcpdump writing every packet as it comes (-U).
capture() {
  lab_bg "$2" "$LAB_TMP/tcpdump-$(basename "$3" .pcap).log" tcpdump -i "$1" -n -U --immediate-mode -Z root -s 0 -w "$3"
  CAP_PID=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/tcpdump-$(basename "$3" .pcap).log" "listening on" 10 "$CAP_PID"
}
count() { $LABTOOL count "$1" "$pat"; }
packets() { tcpdump -r "$1" -n "${@:2}" 2>/dev/null | wc -l; }
# wait_packets FILE MIN FILTER...: until the capture holds MIN matching packets (bounded).
wait_packets() {
  local end=$((SECONDS + 5))
  while [ "$(packets "$1" "${@:3}")" -lt "$2" ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
}

# --- phase 1: ping through the tunnel ---------------------------------------
capture "$P-s1" "$SRV_NS" "$LAB_TMP/underlay.pcap"
under_pid=$CAP_PID
capture "$P-t1" "$(c_ns 1)" "$LAB_TMP/tun.pcap"
tun_pid=$CAP_PID
lab_ping "$(c_ns 1)" 10.10.0.1 10 -p "$pat" -s 200
wait_packets "$LAB_TMP/underlay.pcap" 20 tcp port "$LAB_PORT"
wait_packets "$LAB_TMP/tun.pcap" 20 icmp
lab_stop "$under_pid"
lab_stop "$tun_pid"

assert_ge "$(packets "$LAB_TMP/underlay.pcap" "tcp port $LAB_PORT")" 20 "tunnel (tcp/$LAB_PORT) packets captured on the underlay"
assert_ge "$(packets "$LAB_TMP/tun.pcap" icmp)" 20 "ICMP packets captured on c1's TUN"
assert_ge "$(count "$LAB_TMP/tun.pcap")" 20 "pattern occurrences on c1's TUN (control: detector works)"
assert_eq "$(count "$LAB_TMP/underlay.pcap")" 0 "pattern occurrences on the underlay while pinging"

# --- phase 2 (control): the same pattern in clear on the underlay ----------
python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex('$pat') * 4)" >"$LAB_TMP/clear.bin"
capture "$P-s1" "$SRV_NS" "$LAB_TMP/clear.pcap"
clear_pid=$CAP_PID
ip netns exec "$(c_ns 1)" timeout 10 socat -u "OPEN:$LAB_TMP/clear.bin" "UDP-SENDTO:$(srv_underlay 1):9999" ||
  fail "socat clear send"
end=$((SECONDS + 5))
while [ "$(count "$LAB_TMP/clear.pcap")" = 0 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
lab_stop "$clear_pid"
assert_ge "$(count "$LAB_TMP/clear.pcap")" 4 "pattern occurrences on the underlay when sent in clear (control)"
