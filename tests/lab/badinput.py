#!/usr/bin/env python3
"""Hostile wire-protocol client for the bad-input battery (stdlib only).

  badinput.py SERVER PORT KEYFILE CASE

Opens one TCP connection to a vpnhost server and misbehaves as CASE says.
Prints one line "CASE: <what happened>" and exits 0 when the server reacted
as the protocol says it must (closed the session, or kept it and dropped the
packet), 1 otherwise. Frames: u16 BE body length, u8 type, u8 flags; bodies
XORed with the key (cipher_xor), see docs/protocol.md.
"""
import base64
import os
import socket
import struct
import sys

HELLO, WELCOME, DATA, KEEPALIVE, BYE, REJECT, HANDSHAKE = 1, 2, 3, 4, 5, 6, 7
MAX_BODY = 9216  # the server's pool payload: the negotiated maximum


def xor(key, body):
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(body))


def frame(key, ftype, body, flags=0, sealed=True):
    b = xor(key, body) if sealed else body
    return struct.pack("!HBB", len(body), ftype, flags) + b


def hello():
    return b"VPNH" + struct.pack("!HHHH", 1, 0, MAX_BODY, 0)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, payload=b"x" * 8, proto=17, version=4, ihl=5, total=None, fix_csum=True):
    """An IPv4/UDP-ish packet; `payload` follows the 20-byte header."""
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, 1, 0, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    if fix_csum:
        hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


class Conn:
    def __init__(self, server, port, key):
        self.key = key
        self.s = socket.create_connection((server, int(port)), timeout=5)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def read_frame(self, timeout=3.0):
        """(type, body) or None when the server closed the connection."""
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 4:
                n, t, _ = struct.unpack("!HBB", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    body = xor(self.key, self.buf[4:4 + n])
                    self.buf = self.buf[4 + n:]
                    return t, body
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def closed_by_server(self, timeout=5.0):
        """True if the server closes the connection (frames before EOF are skipped)."""
        try:
            while True:
                if self.read_frame(timeout) is None:
                    return True
        except socket.timeout:
            return False

    def welcome(self):
        self.send(frame(self.key, HELLO, hello()))
        f = self.read_frame()
        if not f or f[0] != WELCOME:
            raise SystemExit("no WELCOME: %r" % (f,))
        return socket.inet_ntoa(f[1][8:12])

    def still_open(self):
        """A KEEPALIVE exchange would need waiting; instead check the socket is not at EOF."""
        self.s.settimeout(0.5)
        try:
            data = self.s.recv(65536, socket.MSG_PEEK)
            return len(data) > 0
        except socket.timeout:
            return True
        except ConnectionResetError:
            return False


def main():
    server, port, keyfile, case = sys.argv[1:5]
    key = base64.b64decode(open(keyfile).read().strip())
    c = Conn(server, port, key)
    expect_close = True
    if case == "random":
        c.send(os.urandom(4096))
    elif case == "len0":
        c.send(frame(key, HELLO, b""))
    elif case == "len1":
        c.send(frame(key, HELLO, b"V"))
    elif case == "lenmax":  # the largest body the server takes, as DATA before HELLO
        c.send(frame(key, DATA, os.urandom(MAX_BODY)))
    elif case == "lenmax1":
        c.send(struct.pack("!HBB", MAX_BODY + 1, DATA, 0) + os.urandom(MAX_BODY + 1))
    elif case == "len65535":
        c.send(struct.pack("!HBB", 65535, DATA, 0) + os.urandom(65535))
    elif case == "truncated":  # header promises 100 bytes, 50 arrive, then we hang up
        c.send(struct.pack("!HBB", 100, HELLO, 0) + os.urandom(50))
        c.s.shutdown(socket.SHUT_WR)
    elif case == "unknown_type":
        c.send(struct.pack("!HBB", 4, 99, 0) + b"abcd")
    elif case == "bad_flags":
        c.send(struct.pack("!HBB", 4, KEEPALIVE, 7) + b"abcd")
    elif case == "data_before_hello":
        c.send(frame(key, DATA, ipv4("10.10.0.2", "10.10.0.1")))
    elif case in ("hello_twice", "handshake_established", "bye_garbage"):
        # On an established session cipher_xor cannot tell who sent a frame
        # (docs/protocol.md 5.3): the frame is dropped, the session kept.
        addr = c.welcome()
        if case == "hello_twice":
            c.send(frame(key, HELLO, hello()))
        elif case == "handshake_established":  # 9 bytes: what a forged UDP datagram carries
            c.send(frame(key, HANDSHAKE, bytes(9), sealed=False))
        else:  # a BYE that does not parse (reason byte only, text length missing... here: empty)
            c.send(frame(key, BYE, b""))
        c.send(frame(key, KEEPALIVE, b""))
        if not c.still_open():
            print("%s: the server closed an established session for an unauthenticated frame" % case)
            return 1
        c.send(frame(key, BYE, b"\x03done"))
        if not c.closed_by_server():
            print("%s: the session did not end on a valid BYE after it" % case)
            return 1
        print("%s: session kept (as %s), frame dropped" % (case, addr))
        return 0
    elif case == "welcome_to_server":
        c.send(frame(key, WELCOME, b"VPNH" + bytes(20)))
    elif case == "garbage_64k":
        c.send(os.urandom(65536))
    elif case == "wrong_key":
        c.send(frame(bytes(32), HELLO, hello()))  # all-zero key: HELLO without the magic for the server
    else:
        expect_close = False
        addr = c.welcome()
        if case == "ipv4_bad_version":
            pkt = ipv4(addr, "10.10.0.1", version=6)
        elif case == "ipv4_bad_ihl":
            pkt = ipv4(addr, "10.10.0.1", ihl=4)
        elif case == "ipv4_total_too_long":
            pkt = ipv4(addr, "10.10.0.1", total=200)
        elif case == "ipv4_bad_checksum":
            pkt = ipv4(addr, "10.10.0.1", fix_csum=False)
            pkt = pkt[:10] + b"\x12\x34" + pkt[12:]
        elif case == "ipv4_bad_fragment":  # offset 8190*8 + payload runs past 65535
            pkt = ipv4(addr, "10.10.0.1", payload=b"y" * 64, fix_csum=False)
            pkt = pkt[:6] + struct.pack("!H", 0x1FFE) + pkt[8:]
            pkt = pkt[:10] + b"\0\0" + pkt[12:]
            pkt = pkt[:10] + struct.pack("!H", checksum(pkt[:20])) + pkt[12:]
        elif case == "ipv4_short":
            pkt = b"\x45\x00\x00"
        elif case == "spoofed_source":
            pkt = ipv4("10.10.0.99" if addr != "10.10.0.99" else "10.10.0.98", "10.10.0.1")
        elif case == "unassigned_destination":
            pkt = ipv4(addr, "10.10.0.200" if addr != "10.10.0.200" else "10.10.0.201")
        else:
            print("%s: unknown case" % case)
            return 2
        for _ in range(3):
            c.send(frame(key, DATA, pkt))
        # The session must survive: a keepalive round trip proves it.
        c.send(frame(key, KEEPALIVE, b""))
        if not c.still_open():
            print("%s: the server closed a session for a bad packet" % case)
            return 1
        c.send(frame(key, BYE, b"\x03done"))
        print("%s: session kept (as %s), packets dropped" % (case, addr))
        return 0
    if expect_close:
        if c.closed_by_server():
            print("%s: server closed the session" % case)
            return 0
        print("%s: server kept a session it should have ended" % case)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
