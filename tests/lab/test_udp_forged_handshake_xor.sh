#!/usr/bin/env bash
# A forged 9-byte HANDSHAKE datagram no longer ends an established session
# (issue 15, item 1; docs/protocol.md 5.3). cipher_xor over UDP: mallory
# reads alice's session index off her link (AF_PACKET in alice's namespace:
# an on-path observer) and sends HANDSHAKE datagrams of 9 bytes (header with
# flags 0x01, the index, one body byte):
#  - with alice's own source address and port (a raw socket, IP_HDRINCL):
#    the session's own endpoint, so the frame reaches the cipher, which has
#    no handshake: dropped (drop.handshake_unauthenticated). Before, the
#    server ended alice's session at once, without a BYE;
#  - from mallory's own address (c2), with the index: a new path, dropped
#    before the cipher (drop.handshake_from_new_path).
# Alice's session stays (host.sessions_active 1, the same session id), she
# never reconnects, and her pings keep working.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init udp_forged_handshake_xor
lab_topology 2
SOCK=$LAB_TMP/srv.sock
ns1=$(c_ns 1)
FORGED=20

start_server --set "host.control_socket=$SOCK"
start_client 1
wait_client 1

session_ids() {
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
  IDS=$(python3 -c '
import json, sys
print(" ".join(str(s["id"]) for s in json.load(open(sys.argv[1]))["sessions"]))' "$LAB_TMP/status.json")
}
session_ids
ids_before=$IDS
[ -n "$ids_before" ] || fail "no session on the server"
log "alice's session on the server: $ids_before"

# --- mallory sniffs alice's link: her index and her source port ----------------
cat >"$LAB_TMP/sniff.py" <<'PY'
import socket, struct, sys
dev, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL: outgoing too
s.bind((dev, 0))
print("sniffing", dev, flush=True)
while True:
    pkt, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING or pkt[12:14] != b"\x08\x00": continue
    ip = pkt[14:]
    if ip[9] != 17: continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    d = ip[ihl + 8:]
    if dport != port or len(d) < 8 or d[3] != 1: continue  # alice's datagrams with an index
    print("index %08x sport %d" % (struct.unpack("!I", d[4:8])[0], sport), flush=True)
    break
PY
lab_bg "$ns1" "$LAB_TMP/sniff.log" timeout 20 python3 "$LAB_TMP/sniff.py" "$P-c1" "$LAB_PORT"
sniff_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/sniff.log" 'sniffing' 10 "$sniff_pid"
lab_ping "$ns1" 10.10.0.1 3
lab_wait_exit "$sniff_pid" 15 || fail "the sniffer saw no datagram of alice with an index: $(cat "$LAB_TMP/sniff.log")"
read -r _ index _ sport < <(grep '^index ' "$LAB_TMP/sniff.log")
[ -n "${index:-}" ] && [ -n "${sport:-}" ] || fail "no index sniffed: $(cat "$LAB_TMP/sniff.log")"
log "mallory sniffed: index $index, alice's source port $sport"

srv_stats
stat_get "$LAB_TMP/srv.stats" drop.handshake_unauthenticated 0
unauth0=$STAT
stat_get "$LAB_TMP/srv.stats" drop.handshake_from_new_path 0
newpath0=$STAT

# --- 9-byte HANDSHAKE datagrams with alice's own address and port --------------
ip netns exec "$ns1" python3 - "$(c_underlay 1)" "$sport" "$(srv_underlay 1)" "$LAB_PORT" "$index" "$FORGED" \
  >"$LAB_TMP/forge-own.log" 2>&1 <<'PY' || fail "forging with alice's address failed: $(cat "$LAB_TMP/forge-own.log")"
import socket, struct, sys
src, sport, dst, dport, index, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5], 16), int(sys.argv[6])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
# 9 bytes: HANDSHAKE, flags 0x01, the index, 1 body byte (a different one each time:
# transport_udp drops a byte-for-byte copy of the last HANDSHAKE as a duplicate)
def payload_of(i): return struct.pack("!HBBI", 1, 7, 1, index) + bytes([i & 0xff])
def datagram(payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + udp
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(n):
    s.sendto(datagram(payload_of(i)), (dst, 0))
print("sent %d datagrams of %d bytes from %s:%d" % (n, len(payload_of(0)), src, sport))
PY
log "$(cat "$LAB_TMP/forge-own.log")"

# --- ... and from mallory's own address, with alice's index ----------------------
ip netns exec "$(c_ns 2)" python3 - "$(srv_underlay 2)" "$LAB_PORT" "$index" "$FORGED" >"$LAB_TMP/forge-new.log" 2>&1 <<'PY' ||
import socket, struct, sys
dst, dport, index, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 16), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(struct.pack("!HBBI", 1, 7, 1, index) + bytes([i & 0xff]), (dst, dport))
print("sent %d datagrams from mallory's own address" % n)
PY
  fail "forging from mallory's address failed: $(cat "$LAB_TMP/forge-new.log")"
log "$(cat "$LAB_TMP/forge-new.log")"

# Wait (bounded: the datagrams are in flight) until the server counted both
# kinds or ended the session (the code before: the first forged datagram did).
end=$((SECONDS + 5))
while :; do
  srv_stats
  stat_get "$LAB_TMP/srv.stats" drop.handshake_unauthenticated 0
  unauth=$((STAT - unauth0))
  stat_get "$LAB_TMP/srv.stats" drop.handshake_from_new_path 0
  newpath=$((STAT - newpath0))
  stat_get "$LAB_TMP/srv.stats" host.sessions_active
  active=$STAT
  [ "$active" != 1 ] && break
  [ "$unauth" -ge "$FORGED" ] && [ "$newpath" -ge 1 ] && break
  [ "$SECONDS" -ge "$end" ] && break
  sleep 0.1
done
assert_eq "$active" 1 "server host.sessions_active after the forged HANDSHAKEs"
[ "$unauth" -ge "$FORGED" ] && [ "$newpath" -ge 1 ] ||
  fail "server counted drop.handshake_unauthenticated +$unauth (want $FORGED), drop.handshake_from_new_path +$newpath (want >= 1)"
log "ok: drop.handshake_unauthenticated +$unauth, drop.handshake_from_new_path +$newpath"
session_ids
assert_eq "$IDS" "$ids_before" "the server's session ids (alice's session was not replaced)"
lab_ping "$ns1" 10.10.0.1 10
lab_alive "${CLIENT_PID[1]}" || fail "alice's client exited"
if grep -q "reconnecting in" "${CLIENT_LOG[1]}"; then fail "alice's client reconnected: $(grep -m1 'reconnecting in' "${CLIENT_LOG[1]}")"; fi
assert_eq "$(client_assigned_count 1)" 1 "alice's assignments (no reconnect)"
log "ok: alice's session survived $FORGED forged 9-byte HANDSHAKEs from her own address and $FORGED from mallory's"
