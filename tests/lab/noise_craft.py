#!/usr/bin/env python3
"""Crafts cipher_noise handshake initiations for the lab tests, written from
docs/security.md 3.2 (an independent implementation: cryptography + hashlib).

  noise_craft.py initiation KEYFILE SERVER_PUB_B64 [PSKFILE|-] [v1|v2] [N]
      prints the hex of a 141-byte initiation (Noise message || mac1 || mac2
      = 0) from the private key in KEYFILE, IKpsk2 when PSKFILE is given;
      with v1: the 109-byte initiation of protocol v1 (prologue
      vpnhost-noise-v1, no MACs), what servers before mac1 accepted; N of
      them (one a line, each with a new ephemeral key).
  noise_craft.py tcp-initiation PCAP PORT
      prints the hex of the first HANDSHAKE frame body sent to TCP PORT in
      PCAP (a client's captured initiation).
  noise_craft.py index PCAP PORT
      prints the session index (decimal) of the first UDP datagram from
      PORT in PCAP that carries one (flags 0x01).
  noise_craft.py send-udp HOST PORT INDEX HEX|@FILE [COUNT]
      sends HEX (or each hex line of FILE) as a HANDSHAKE datagram with
      flags 0x01 and INDEX, COUNT times (default 1), 10 ms apart.
  noise_craft.py tcp-refusal HOST PORT HEX
      opens a TCP connection, sends HEX as one HANDSHAKE frame and prints
      how many seconds it took the server to close the connection and how
      many bytes it sent before (at most 10 s).
"""
import base64, hashlib, hmac, socket, struct, sys, time
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

HANDSHAKE = 7
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def H(*parts):
    h = hashlib.blake2b(digest_size=64)
    for p in parts:
        h.update(p)
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


def initiation(s_priv, rs, psk, v1=False):
    name = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b" if psk else b"Noise_IK_25519_ChaChaPoly_BLAKE2b"
    ss = Sym(name)
    ss.mix_hash(b"vpnhost-noise-v1" if v1 else b"vpnhost-noise-v2"); ss.mix_hash(rs)
    e = X25519PrivateKey.generate(); epub = pub(e)
    msg = epub; ss.mix_hash(epub)
    if psk:
        ss.mix_key(epub)                  # every e token in a psk handshake
    ss.mix_key(dh(e, rs))                 # es
    msg += ss.enc(pub(s_priv))            # s
    ss.mix_key(dh(s_priv, rs))            # ss
    t = time.time_ns()
    tai = struct.pack(">QI", (1 << 62) + 10 + t // 10**9, (t % 10**9) & ~0xFFFFFF)
    msg += ss.enc(tai + bytes([0]))       # payload: TAI64N || key id 0
    assert len(msg) == 109
    if v1:
        return msg
    mac1_key = hashlib.blake2b(b"mac1----" + rs, digest_size=32).digest()
    msg += hashlib.blake2b(msg, digest_size=16, key=mac1_key).digest() + bytes(16)
    return msg


def read_key(path): return base64.b64decode(open(path).read().strip())


def pcap_packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        off = 14 if linktype == 1 else (16 if linktype == 113 else 0)
        ip = pkt[off:]
        if len(ip) >= 20 and ip[0] >> 4 == 4:
            yield ip


def pcap_tcp_handshake(path, port):
    stream = b""
    for ip in pcap_packets(path):
        if ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        dport = struct.unpack(">H", tcp[2:4])[0]
        payload = tcp[(tcp[12] >> 4) * 4:struct.unpack(">H", ip[2:4])[0] - (ip[0] & 15) * 4]
        if dport != port or not payload:
            continue
        stream += payload
        if len(stream) >= 4:
            n, t, _ = struct.unpack(">HBB", stream[:4])
            if t == HANDSHAKE and len(stream) >= 4 + n:
                return stream[4:4 + n]
    return None


def pcap_index(path, port):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        off = 14 if linktype == 1 else (16 if linktype == 113 else 0)
        ip = pkt[off:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        sport = struct.unpack(">H", udp[:2])[0]
        payload = udp[8:]
        if sport == port and len(payload) >= 8 and payload[3] == 1:
            return struct.unpack(">I", payload[4:8])[0]
    return None


def main():
    cmd = sys.argv[1]
    if cmd == "initiation":
        s_priv = X25519PrivateKey.from_private_bytes(read_key(sys.argv[2]))
        rs = base64.b64decode(sys.argv[3])
        psk = read_key(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "-" else None
        v1 = len(sys.argv) > 5 and sys.argv[5] == "v1"
        count = int(sys.argv[6]) if len(sys.argv) > 6 else 1
        for _ in range(count):
            print(initiation(s_priv, rs, psk, v1).hex())
            time.sleep(0.001)  # a newer timestamp each (TAI64N steps of 2^24 ns are coarser; harmless)
    elif cmd == "tcp-initiation":
        body = pcap_tcp_handshake(sys.argv[2], int(sys.argv[3]))
        if body is None:
            sys.exit("no HANDSHAKE frame to port %s in %s" % (sys.argv[3], sys.argv[2]))
        print(body.hex())
    elif cmd == "index":
        idx = pcap_index(sys.argv[2], int(sys.argv[3]))
        if idx is None:
            sys.exit("no datagram with a session index in " + sys.argv[2])
        print(idx)
    elif cmd == "send-udp":
        host, port, index, arg = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        bodies = [bytes.fromhex(l) for l in open(arg[1:]).read().split()] if arg.startswith("@") else [bytes.fromhex(arg)]
        count = int(sys.argv[6]) if len(sys.argv) > 6 else 1
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        n = 0
        for body in bodies:
            dgram = struct.pack(">HBBI", len(body), HANDSHAKE, 1, index) + body
            for _ in range(count):
                s.sendto(dgram, (host, port))
                n += 1
                time.sleep(0.01)
        print("sent %d datagram(s) with index %#x" % (n, index))
    elif cmd == "tcp-refusal":
        host, port, body = sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
        c = socket.create_connection((host, port), timeout=5)
        c.settimeout(10)
        t0 = time.monotonic()
        c.sendall(struct.pack(">HBB", len(body), HANDSHAKE, 0) + body)
        got = 0
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += len(d)
        except socket.timeout:
            pass
        except ConnectionResetError:
            pass
        print("%.3f %d" % (time.monotonic() - t0, got))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
