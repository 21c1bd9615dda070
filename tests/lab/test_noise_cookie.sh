#!/usr/bin/env bash
# The cookie reply of cipher_noise with a real client, over UDP (the
# secure manifests): with cookie_above_per_second=0 the server is always
# "under load", so it answers every initiation without a valid mac2 with a
# cookie reply (56 bytes, less than the 141-byte initiation: no
# amplification) instead of a Diffie-Hellman. The stock client takes the
# cookie, sends its initiation again at once with mac2, and connects; the
# server counts cookies_sent and mac2_valid, the client cookies_received,
# and the capture shows that the server never sent more bytes than it got
# before the handshake completed.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init noise_cookie
lab_require_tools tcpdump
source "$(dirname "$0")/noise_lib.sh"

lab_topology 1
noise_authorize alice
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump.log" tcpdump -i "$P-s1" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/c1.pcap" \
  "udp port $LAB_PORT"
cap=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump.log" "listening on" 10 "$cap"
noise_start_server --set cipher.cookie_above_per_second=0
noise_start_client 1 alice
wait_client 1 20
lab_ping "$(c_ns 1)" 10.10.0.1 5
lab_stop "$cap"
srv_stat cipher_noise.cookies_sent
assert_ge "$STAT" 1 "server cipher_noise.cookies_sent"
srv_stat cipher_noise.mac2_valid
assert_ge "$STAT" 1 "server cipher_noise.mac2_valid"
lab_stats "${CLIENT_PID[1]}" "$LAB_TMP/c1.stats"
stat_get "$LAB_TMP/c1.stats" cipher_noise.cookies_received
assert_ge "$STAT" 1 "client cipher_noise.cookies_received"

# The HANDSHAKE datagrams (type 7) in order, by body size: the client's
# initiations are 141 bytes, the cookie reply 56, the response 48 (the
# header is 4 bytes, + 4 with a session index, flag 0x01, + 16 with
# transport_udp's cookie field, flag 0x02).
python3 - "$LAB_TMP/c1.pcap" "$LAB_PORT" <<'PY' || fail "unexpected handshake on the wire"
import struct, sys
data = open(sys.argv[1], "rb").read(); port = int(sys.argv[2])
e = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
pos, seen, wire = 24, [], []
while pos + 16 <= len(data):
    incl = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
    ip = data[pos + 16 + 14:pos + 16 + incl]; pos += 16 + incl
    if len(ip) < 28 or ip[9] != 17: continue
    udp = ip[(ip[0] & 15) * 4:]
    sport, dport = struct.unpack(">HH", udp[:4]); p = udp[8:]
    who = "server" if sport == port else "client"
    wire.append((who, len(p)))
    if len(p) >= 4 and p[2] == 7:
        hdr = 4 + (4 if p[3] & 1 else 0) + (16 if p[3] & 2 else 0)
        seen.append((who, len(p) - hdr, len(wire) - 1))
print("    handshake bodies:", [(w, n) for w, n, _ in seen])
inits = [x for x in seen if x[0] == "client"]
assert inits and all(n == 141 for _, n, _ in inits), inits
cookie = [x for x in seen if x[0] == "server" and x[1] == 56]
resp = [x for x in seen if x[0] == "server" and x[1] == 48]
assert cookie, "no cookie reply"
assert resp, "no response"
assert cookie[0][2] < resp[0][2], "the cookie reply came after the response"
assert wire[cookie[0][2]][1] < wire[inits[0][2]][1], "the cookie reply is not smaller than the initiation"
upto = resp[0][2]
got = sum(n for w, n in wire[:upto] if w == "client"); sent = sum(n for w, n in wire[:upto] if w == "server")
print("    before the response: %d bytes from the client, %d from the server" % (got, sent))
assert sent <= got, "before the response the server sent %d bytes for %d" % (sent, got)
PY
log "ok: cookie reply, then the initiation with mac2, then the response; the cookie reply was smaller"
