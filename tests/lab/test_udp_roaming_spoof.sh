#!/usr/bin/env bash
# Spoofed roaming (cipher_noise over UDP): mallory sniffs alice's datagrams
# on her link (AF_PACKET in alice's namespace: an on-path observer), learns
# her session index, and sends from his own address (c2's namespace)
# datagrams with that index: garbage DATA/KEEPALIVE/BYE (right session,
# wrong key) and exact replays of alice's own sealed DATA frames. The
# server takes them for alice's session from a new source (counted as
# transport_udp.path_candidates), but none opens (cipher_noise.bad_tag,
# replays), so nothing moves: status still shows alice at her own address,
# host.roams stays 0, and her pings keep working.
export LAB_TRANSPORT=udp
source "$(dirname "$0")/lib.sh"
lab_init udp_roaming_spoof
source "$(dirname "$0")/noise_lib.sh"
lab_topology 2
SOCK=$LAB_TMP/srv.sock
ns1=$(c_ns 1)

noise_authorize alice=10.10.0.10
noise_start_server --set "host.control_socket=$SOCK"
noise_start_client 1 alice
wait_client 1

alice_peer() {
  ip netns exec "$SRV_NS" "$VPNHOST" status --socket "$SOCK" --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
  PEER=$(python3 -c '
import json, sys
print(" ".join("%s %s" % (s["id"], s["peer"]) for s in json.load(open(sys.argv[1]))["sessions"]))' "$LAB_TMP/status.json")
}
alice_peer
peer_before=$PEER
[[ "$peer_before" == "1 172.31.1.2:"* ]] || fail "expected alice's one session at 172.31.1.2, status shows '$peer_before'"
log "alice's session on the server: $peer_before"

# --- mallory sniffs alice's link while she pings ------------------------------
cat >"$LAB_TMP/sniff.py" <<'PY'
import socket, struct, sys
dev, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL: outgoing too
s.bind((dev, 0))
print("sniffing", dev, flush=True)
frames = []
while len(frames) < 8:
    pkt, addr = s.recvfrom(65535)
    if addr[2] != socket.PACKET_OUTGOING or pkt[12:14] != b"\x08\x00": continue
    ip = pkt[14:]
    if ip[9] != 17: continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    d = ip[ihl + 8:]
    if dport != port or len(d) < 8 or d[3] != 1 or d[2] != 3: continue   # alice's indexed DATA
    frames.append(d)
open(out, "wb").write(b"".join(struct.pack("!H", len(d)) + d for d in frames))
print("index %08x, %d DATA datagrams" % (struct.unpack("!I", frames[0][4:8])[0], len(frames)), flush=True)
PY
lab_bg "$ns1" "$LAB_TMP/sniff.log" timeout 20 python3 "$LAB_TMP/sniff.py" "$P-c1" "$LAB_PORT" "$LAB_TMP/sniffed.bin"
sniff_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/sniff.log" 'sniffing' 10 "$sniff_pid"
lab_ping "$ns1" 10.10.0.1 10
lab_wait_exit "$sniff_pid" 15 || fail "the sniffer saw no 8 DATA datagrams of alice: $(cat "$LAB_TMP/sniff.log")"
assert_eq "$LAB_EXIT_RC" 0 "sniffer exit status"
log "mallory sniffed: $(tail -n 1 "$LAB_TMP/sniff.log")"

srv_stats
for c in cipher_noise.bad_tag cipher_noise.replayed transport_udp.path_candidates; do stat_get "$LAB_TMP/srv.stats" "$c" 0; eval "before_${c//./_}=$STAT"; done

# --- ... and sends from his own address (c2) ----------------------------------
ip netns exec "$(c_ns 2)" python3 - "$LAB_TMP/sniffed.bin" "$(srv_underlay 2)" "$LAB_PORT" >"$LAB_TMP/forge.log" 2>&1 <<'PY' ||
import os, socket, struct, sys
raw = open(sys.argv[1], "rb").read()
sniffed = []
while raw:
    n = struct.unpack("!H", raw[:2])[0]
    sniffed.append(raw[2:2 + n])
    raw = raw[2 + n:]
index = sniffed[0][4:8]
frame = lambda t, body: struct.pack("!HBB", len(body), t, 1) + index + body
forged = [frame(3, b"\x00" + os.urandom(99)) for _ in range(20)]       # DATA, key id 0, garbage: bad tag
forged += [frame(3, os.urandom(60)), frame(4, os.urandom(25)), frame(5, os.urandom(30))]
forged += sniffed                                                       # replays of her own sealed DATA
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in forged:
    s.sendto(d, (sys.argv[2], int(sys.argv[3])))
print("sent %d datagrams with alice's index %s from %s" % (len(forged), index.hex(), s.getsockname()))
PY
  fail "forging failed: $(cat "$LAB_TMP/forge.log")"
log "$(cat "$LAB_TMP/forge.log")"
want=$((before_transport_udp_path_candidates + 31))
end=$((SECONDS + 10))
while :; do
  srv_stat transport_udp.path_candidates 0
  [ "$STAT" -ge "$want" ] && break
  [ "$SECONDS" -ge "$end" ] && fail "server transport_udp.path_candidates $STAT, expected $want (the forged datagrams did not reach alice's session)"
  sleep 0.2
done
log "ok: the server took all 31 for alice's session from a new source (path_candidates $STAT)"

lab_ping "$ns1" 10.10.0.1 10
srv_stats
grep -E '^(cipher_noise\.(bad_tag|unknown_key_id|short_frame|replayed|replays)|transport_udp\.(path_|paths_)|host\.roams|drop\.)' \
  "$LAB_TMP/srv.stats" | sed 's/^/    /'
stat_get "$LAB_TMP/srv.stats" cipher_noise.bad_tag 0
assert_ge "$((STAT - before_cipher_noise_bad_tag))" 20 "server cipher_noise.bad_tag (forged DATA with alice's index)"
stat_get "$LAB_TMP/srv.stats" cipher_noise.replayed 0
assert_ge "$((STAT - before_cipher_noise_replayed))" 8 "server cipher_noise.replayed (her own DATA, sent again by mallory)"
stat_get "$LAB_TMP/srv.stats" host.roams 0
assert_eq "$STAT" 0 "server host.roams"
stat_get "$LAB_TMP/srv.stats" transport_udp.paths_adopted 0
assert_eq "$STAT" 0 "server transport_udp.paths_adopted"
stat_get "$LAB_TMP/srv.stats" host.sessions_closed 0
assert_eq "$STAT" 0 "server host.sessions_closed"
alice_peer
assert_eq "$PEER" "$peer_before" "alice's session (id and endpoint) in status after the forgeries"
grep -q "roamed" "$LAB_TMP/srv.log" && fail "the server logged a roam"
grep -q "lost connection\|reconnecting" "${CLIENT_LOG[1]}" && fail "alice's client lost its session"
log "ok: nothing moved alice's session"
