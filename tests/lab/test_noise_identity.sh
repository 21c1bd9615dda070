#!/usr/bin/env bash
# Identity and cryptokey routing under cipher_noise, with an independent
# Python implementation of the client side (Noise_IK from the spec, the
# wire layout from docs/security.md):
#  - bob, authenticated with his own key, sends a datagram as himself (it
#    arrives) and one with alice's address as source (dropped by the server,
#    drop.spoofed_source): a key can only send as the address bound to it;
#  - a frame with one flipped bit is dropped (bad_tag) and a frame sent twice
#    is dropped (replayed), and the session goes on (the next ping works);
#  - bob's recorded initiation replayed on a new connection gets no answer.
source "$(dirname "$0")/lib.sh"
lab_init noise_identity
lab_require_tools python3
python3 -c "import cryptography" 2>/dev/null || lab_skip "python3-cryptography not installed"

source "$(dirname "$0")/noise_lib.sh"

# An independent Noise_IK client in Python (cryptography + hashlib), written
# from the spec and docs/security.md (3.2: mac1/mac2), speaking wire protocol
# v1 by hand.
cat >"$LAB_TMP/noise_client.py" <<'PY'
import base64, hashlib, hmac, socket, struct, sys, time
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
HELLO, WELCOME, DATA, KEEPALIVE, HANDSHAKE = 1, 2, 3, 4, 7

def H(*parts):
    h = hashlib.blake2b(digest_size=64)
    for p in parts: h.update(p)
    return h.digest()
def HMAC(k, d): return hmac.new(k, d, hashlib.blake2b).digest()
def HKDF(ck, ikm):
    t = HMAC(ck, ikm); o1 = HMAC(t, b"\x01"); return o1, HMAC(t, o1 + b"\x02")
def nonce(n): return b"\0" * 4 + struct.pack("<Q", n)
def pub(k): return k.public_key().public_bytes(*RAW)
def dh(k, p): return k.exchange(X25519PublicKey.from_public_bytes(p))

class Sym:
    def __init__(s, name):
        s.h = name.ljust(64, b"\0"); s.ck = s.h; s.k = None; s.n = 0
    def mix_hash(s, d): s.h = H(s.h, d)
    def mix_key(s, ikm):
        s.ck, k = HKDF(s.ck, ikm); s.k = k[:32]; s.n = 0
    def enc(s, pt):
        ct = ChaCha20Poly1305(s.k).encrypt(nonce(s.n), pt, s.h); s.n += 1; s.mix_hash(ct); return ct
    def dec(s, ct):
        pt = ChaCha20Poly1305(s.k).decrypt(nonce(s.n), ct, s.h); s.n += 1; s.mix_hash(ct); return pt

def initiation(s_priv, rs, key_id):
    ss = Sym(b"Noise_IK_25519_ChaChaPoly_BLAKE2b")
    ss.mix_hash(b"vpnhost-noise-v2"); ss.mix_hash(rs)
    e = X25519PrivateKey.generate(); epub = pub(e)
    msg = epub; ss.mix_hash(epub)
    ss.mix_key(dh(e, rs))                 # es
    msg += ss.enc(pub(s_priv))            # s
    ss.mix_key(dh(s_priv, rs))            # ss
    t = time.time_ns()
    tai = struct.pack(">QI", (1 << 62) + 10 + t // 10**9, (t % 10**9) & ~0xFFFFFF)
    msg += ss.enc(tai + bytes([key_id]))  # payload: TAI64N || key id
    # mac1 = keyed BLAKE2b-128, key BLAKE2b-256("mac1----" || server public key); mac2: no cookie
    mac1_key = hashlib.blake2b(b"mac1----" + rs, digest_size=32).digest()
    msg += hashlib.blake2b(msg, digest_size=16, key=mac1_key).digest() + bytes(16)
    return ss, e, msg

def response(ss, e, s_priv, msg):
    re = msg[:32]; ss.mix_hash(re)
    ss.mix_key(dh(e, re))                 # ee
    ss.mix_key(dh(s_priv, re))            # se
    assert ss.dec(msg[32:]) == b""
    k1, k2 = HKDF(ss.ck, b"")
    return k1[:32], k2[:32]

class Conn:
    def __init__(s, host, port):
        s.sock = socket.create_connection((host, port), timeout=5); s.buf = b""
    def send(s, ftype, body): s.sock.sendall(struct.pack(">HBB", len(body), ftype, 0) + body)
    def recv(s, timeout):
        s.sock.settimeout(timeout)
        while True:
            if len(s.buf) >= 4:
                n, t, _ = struct.unpack(">HBB", s.buf[:4])
                if len(s.buf) >= 4 + n:
                    body = s.buf[4:4 + n]; s.buf = s.buf[4 + n:]; return t, body
            d = s.sock.recv(65536)
            if not d: raise EOFError("closed")
            s.buf += d

class Keys:
    def __init__(s, send, recv, key_id): s.send_k, s.recv_k, s.id, s.n = send, recv, key_id, 0
    def seal(s, ftype, pt):
        hdr = bytes([s.id]) + struct.pack("<Q", s.n); n = s.n; s.n += 1
        return hdr + ChaCha20Poly1305(s.send_k).encrypt(nonce(n), pt, bytes([ftype]) + hdr)
    def open(s, ftype, body):
        hdr = body[:9]; n = struct.unpack("<Q", hdr[1:])[0]
        return ChaCha20Poly1305(s.recv_k).decrypt(nonce(n), body[9:], bytes([ftype]) + hdr)

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
def udp(src, dst, port, text):
    p = text.encode(); u = struct.pack("!HHHH", 40002, port, 8 + len(p), 0) + p
    c = csum(socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xFFFF
    return ipv4(src, dst, 17, u[:6] + struct.pack("!H", c) + u[8:])
def echo(src, dst, seq):
    i = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq) + b"noise-lab-echo"
    return ipv4(src, dst, 1, i[:2] + struct.pack("!H", csum(i)) + i[4:])

server, port, key_file, server_pub, alice, carol = sys.argv[1:7]
s_priv = X25519PrivateKey.from_private_bytes(base64.b64decode(open(key_file).read()))
rs = base64.b64decode(server_pub)

c = Conn(server, int(port))
ss, e, msg1 = initiation(s_priv, rs, 0)
c.send(HANDSHAKE, msg1)
t, body = c.recv(5)
assert t == HANDSHAKE and len(body) == 48, (t, len(body))
send_k, recv_k = response(ss, e, s_priv, body)
k = Keys(send_k, recv_k, 0)
print("handshake complete", flush=True)
c.send(HELLO, k.seal(HELLO, b"VPNH" + struct.pack(">HHHH", 1, 0, 9216, 0)))
while True:
    t, body = c.recv(5)
    if t == WELCOME: break
w = k.open(WELCOME, body)
assert w[:4] == b"VPNH"
me = socket.inet_ntoa(w[8:12])
print("assigned", me, flush=True)

c.send(DATA, k.seal(DATA, udp(me, carol, 7001, "legit-from-bob-python")))
c.send(DATA, k.seal(DATA, udp(alice, carol, 7001, "spoofed-as-alice-by-bob")))
bad = bytearray(k.seal(DATA, echo(me, "10.10.0.1", 1)))
bad[20] ^= 0x01
c.send(DATA, bytes(bad))                         # one flipped bit: dropped
good = k.seal(DATA, echo(me, "10.10.0.1", 2))
c.send(DATA, good)
c.send(DATA, good)                               # the same frame again: a replay, dropped
replies = []
end = time.time() + 2
while time.time() < end:
    try:
        t, body = c.recv(max(0.05, end - time.time()))
    except socket.timeout:
        break
    if t == DATA:
        pkt = k.open(DATA, body)
        if pkt[9] == 1 and pkt[20] == 0:
            replies.append(struct.unpack("!H", pkt[26:28])[0])
print("echo replies for seq", replies, flush=True)

# The recorded initiation replayed on a new connection: no answer at all.
r = Conn(server, int(port))
r.send(HANDSHAKE, msg1)
try:
    t, body = r.recv(2)
    print("replayed initiation: ANSWERED with type", t, flush=True)
except socket.timeout:
    print("replayed initiation: no answer in 2 s", flush=True)
except EOFError:
    print("replayed initiation: closed without an answer", flush=True)
PY

lab_topology 3
noise_authorize alice=10.10.0.10 bob=10.10.0.20 carol
noise_start_server
noise_start_client 1 alice
noise_start_client 3 carol
wait_client 1
wait_client 3
alice=${CLIENT_ADDR[1]} carol=${CLIENT_ADDR[3]}
rx=$LAB_TMP/received.txt
lab_bg "$(c_ns 3)" "$LAB_TMP/udp-recv.log" $LABTOOL udp-recv 7001 "$rx" 60
recv_pid=$LAB_LAST_PID
wait_for_log "$LAB_TMP/udp-recv.log" "listening on 7001" 10 "$recv_pid"

srv_stat drop.spoofed_source 0
spoof0=$STAT
log "bob (Python Noise client, his own key) in $(c_ns 2) sends as himself and as alice ($alice)"
ip netns exec "$(c_ns 2)" timeout 30 python3 "$LAB_TMP/noise_client.py" "$(srv_underlay 2)" "$LAB_PORT" \
  "$LAB_TMP/bob.key" "${PUB[server]}" "$alice" "$carol" >"$LAB_TMP/pyclient.log" 2>&1 ||
  fail "python noise client: $(cat "$LAB_TMP/pyclient.log")"
sed 's/^/    /' "$LAB_TMP/pyclient.log"
grep -q "^assigned 10.10.0.20$" "$LAB_TMP/pyclient.log" || fail "bob did not get his fixed address 10.10.0.20"
grep -q "client 'bob' authenticated" "$LAB_TMP/srv.log" || fail "the server did not authenticate bob"

# Cryptokey routing: bob's session may only send from bob's address.
wait_srv_stat drop.spoofed_source $((spoof0 + 1)) 5
end=$((SECONDS + 5))
while [ "$(wc -l <"$rx")" -lt 1 ] && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
sleep 0.5
echo "carol received:"; sed 's/^/    /' "$rx"
grep -q "^10.10.0.20 .* legit-from-bob-python" "$rx" || fail "bob's legitimate datagram did not reach carol"
if grep -q spoofed "$rx"; then fail "a datagram with alice's source sent under bob's key reached carol"; fi
assert_eq "$(wc -l <"$rx")" 1 "datagrams carol received"

# Tampering and replays on a live session: dropped, counted, session alive.
grep -q "^echo replies for seq \[2\]$" "$LAB_TMP/pyclient.log" ||
  fail "expected exactly one echo reply (seq 2): $(grep echo "$LAB_TMP/pyclient.log")"
srv_stat cipher_noise.bad_tag
assert_eq "$STAT" 1 "server cipher_noise.bad_tag (the flipped bit)"
srv_stat cipher_noise.replayed
assert_eq "$STAT" 1 "server cipher_noise.replayed (the frame sent twice)"
srv_stat drop.auth 0
assert_eq "$STAT" 1 "server drop.auth"

# The replayed initiation was ignored.
grep -Eq "^replayed initiation: (no answer in 2 s|closed without an answer)$" "$LAB_TMP/pyclient.log" ||
  fail "the replayed initiation was answered"
srv_stat cipher_noise.replayed_initiation
assert_eq "$STAT" 1 "server cipher_noise.replayed_initiation"

# And alice, whose address bob tried to use, is undisturbed.
lab_ping "$(c_ns 1)" "$carol" 5
lab_ping "$(c_ns 3)" "$alice" 5
