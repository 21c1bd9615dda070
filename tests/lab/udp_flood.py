#!/usr/bin/env python3
"""HELLO floods against transport_udp's address proof (test_udp_cookie.sh).

  udp_flood.py ports KEYFILE DST PORT NPORTS MAX_COUNT SECONDS
      From this host's own address, NPORTS sockets (source ports) send valid
      HELLOs (sealed with the cipher_xor key, as the stock client would)
      round-robin to DST:PORT as fast as they can, until MAX_COUNT datagrams
      or SECONDS passed. The HELLOs come in the three formats a client may
      use: flags 0 (16 bytes), flags 1 with index 0 (20 bytes) and flags 3
      with a zero cookie field (36 bytes). Replies are never read (no cookie
      is echoed: a flood does not prove its address).
  udp_flood.py spoof KEYFILE DST PORT COUNT SRC...
      COUNT valid HELLOs (flags 1, 20 bytes, and flags 3, 36 bytes,
      alternating) through a raw socket with forged source addresses: the
      SRC addresses in turn, each time from another source port.

Prints "flooding ..." when it starts and "sent N datagrams, B bytes in S s"
at the end.
"""
import base64
import socket
import struct
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from labtool import checksum  # noqa: E402


def hello_frames(keyfile: str):
    key = base64.b64decode(open(keyfile).read().strip())
    body = b"VPNH" + struct.pack(">HHHH", 1, 0, 9216, 0)  # version 1, flags 0, max_body 9216, mtu 0
    sealed = bytes(b ^ key[i % len(key)] for i, b in enumerate(body))
    plain = struct.pack(">HBB", len(sealed), 1, 0) + sealed
    indexed = struct.pack(">HBBI", len(sealed), 1, 1, 0) + sealed
    cookie_field = struct.pack(">HBBI", len(sealed), 1, 3, 0) + bytes(16) + sealed
    return plain, indexed, cookie_field


def ports(keyfile, dst, port, nports, max_count, seconds):
    frames = hello_frames(keyfile)
    socks = []
    for _ in range(int(nports)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((dst, int(port)))
        socks.append(s)
    max_count, seconds = int(max_count), float(seconds)
    print("flooding %s:%s from %d source ports for %.1f s (at most %d datagrams)" % (
        dst, port, len(socks), seconds, max_count), flush=True)
    sent = nbytes = 0
    start = time.monotonic()
    end = start + seconds
    i = 0
    while sent < max_count:
        if (i & 255) == 0 and time.monotonic() >= end:
            break
        d = frames[i % 3]
        try:
            socks[i % len(socks)].send(d)
            sent += 1
            nbytes += len(d)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        i += 1
    print("sent %d datagrams, %d bytes in %.2f s" % (sent, nbytes, time.monotonic() - start), flush=True)
    return 0


def spoof(keyfile, dst, port, count, *sources):
    _, indexed, cookie_field = hello_frames(keyfile)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    d = socket.inet_aton(dst)
    print("flooding %s:%s with %s datagrams from forged sources %s" % (dst, port, count, " ".join(sources)), flush=True)
    sent = nbytes = 0
    start = time.monotonic()
    for i in range(int(count)):
        s = socket.inet_aton(sources[i % len(sources)])
        payload = indexed if i % 2 == 0 else cookie_field
        sport = 20000 + (i * 7919) % 40000
        udp_len = 8 + len(payload)
        pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
        udp = struct.pack("!HHHH", sport, int(port), udp_len, 0) + payload
        csum = checksum(pseudo + udp) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, i & 0xFFFF, 0, 64, socket.IPPROTO_UDP, 0, s, d)
        raw.sendto(ip + udp, (dst, 0))
        sent += 1
        nbytes += len(payload)
    print("sent %d datagrams, %d bytes in %.2f s" % (sent, nbytes, time.monotonic() - start), flush=True)
    return 0


if __name__ == "__main__":
    cmds = {"ports": ports, "spoof": spoof}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]))
