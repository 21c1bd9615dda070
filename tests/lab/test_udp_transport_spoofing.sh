#!/usr/bin/env bash
# Forged datagrams over UDP with cipher_noise: from alice's own namespace, a
# raw socket sends datagrams with alice's exact source address and port (so
# the server files them under her session) but without her keys: garbage
# DATA, BYE, HELLO, WELCOME and HANDSHAKE frames, and malformed datagrams.
# None of them ends or disturbs her session: the cipher drops what does not
# authenticate, the transport drops what is not a frame; alice keeps her
# session (same id, same peer endpoint) and her pings all come back.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init spoofing
source "$(dirname "$0")/noise_lib.sh"

lab_topology 1
noise_authorize alice=10.10.0.10
noise_start_server
noise_start_client 1 alice
wait_client 1
lab_ping "$(c_ns 1)" 10.10.0.1 5

srv_stats
peer_before=$(awk '$1 ~ /^session\.[0-9]+\.peer$/ { print $1, $2 }' "$LAB_TMP/srv.stats")
[ "$(echo "$peer_before" | grep -c .)" = 1 ] || fail "expected one session on the server: $peer_before"
alice_port=${peer_before##*:}
log "alice's session on the server: $peer_before"
rejected() {  # REJECTED = frames cipher_noise refused to open (wrong key id, bad tag, too short)
  local c sum=0
  for c in bad_tag unknown_key_id short_frame; do
    stat_get "$LAB_TMP/srv.stats" "cipher_noise.$c" 0
    sum=$((sum + STAT))
  done
  REJECTED=$sum
}
rejected
rejected_before=$REJECTED

# --- the forgeries --------------------------------------------------------------
ip netns exec "$(c_ns 1)" python3 - "$(c_underlay 1)" "$alice_port" "$(srv_underlay 1)" "$LAB_PORT" >"$LAB_TMP/forge.log" 2>&1 <<'PY' || fail "forging failed: $(cat "$LAB_TMP/forge.log")"
import os, socket, struct, sys
src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
def datagram(payload):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(s + d + struct.pack("!BBH", 0, 17, ulen) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x5151, 0, 64, 17, 0, s, d)
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + udp
frame = lambda t, body: struct.pack(">HBB", len(body), t, 0) + body
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
forged = []
for t, n in [(3, 100), (3, 25), (5, 30), (1, 41), (2, 55), (4, 25), (6, 30), (7, 109), (7, 25), (7, 48)]:
    forged += [frame(t, os.urandom(n))] * 1
forged += [frame(3, b"\x00" + os.urandom(99))] * 20              # forged DATA with the key id in use: bad tag
forged += [b"\x00\x10\x03\x01" + os.urandom(16), b"\x00\x10\x09\x00" + os.urandom(16),
           b"\x00\x20\x03\x00" + os.urandom(16), b"\x01", b""]   # flags, type, length, short, empty
for f in forged:
    sock.sendto(datagram(f), (dst, 0))
print("forged %d datagrams from %s:%d" % (len(forged), src, sport))
PY
log "$(cat "$LAB_TMP/forge.log")"
sleep 0.5

lab_ping "$(c_ns 1)" 10.10.0.1 10
srv_stats
peer_after=$(awk '$1 ~ /^session\.[0-9]+\.peer$/ { print $1, $2 }' "$LAB_TMP/srv.stats")
assert_eq "$peer_after" "$peer_before" "alice's session (id and peer endpoint) after the forgeries"
stat_get "$LAB_TMP/srv.stats" host.sessions_closed 0
assert_eq "$STAT" 0 "server host.sessions_closed"
stat_get "$LAB_TMP/srv.stats" host.protocol_errors 0
assert_eq "$STAT" 0 "server host.protocol_errors"
rejected
grep -E '^(cipher_noise\.(bad_tag|unknown_key_id|short_frame|handshake_failed|handshake_malformed|stale_handshake)|transport_udp\.(bad_datagrams|empty_datagrams)|drop\.) ' "$LAB_TMP/srv.stats" | sed 's/^/    /'
assert_ge "$((REJECTED - rejected_before))" 27 "frames cipher_noise refused to open (the forged sealed frames but HANDSHAKE)"
stat_get "$LAB_TMP/srv.stats" cipher_noise.bad_tag 0
assert_ge "$STAT" 20 "server cipher_noise.bad_tag (forged DATA with the right key id)"
stat_get "$LAB_TMP/srv.stats" transport_udp.bad_datagrams 0
assert_ge "$STAT" 4 "server transport_udp.bad_datagrams (not frames)"
stat_get "$LAB_TMP/srv.stats" transport_udp.sessions_opened
assert_eq "$STAT" 1 "server transport_udp.sessions_opened"
lab_alive "${CLIENT_PID[1]}" || fail "alice's client died"
grep -q "lost connection\|reconnecting" "${CLIENT_LOG[1]}" && fail "alice's client lost its session"
log "ok: alice's client kept its session"
