#!/usr/bin/env python3
"""A server that assigns whatever it is told (stdlib only).

  rogue_server.py PORT KEYFILE ADDRESS/PREFIX SERVER_ADDRESS [MAX_SECONDS]

Listens on 0.0.0.0:PORT (TCP, wire protocol v1, cipher_xor; docs/protocol.md
4.2), and answers every HELLO with a WELCOME carrying ADDRESS/PREFIX and
SERVER_ADDRESS (mtu 1400, keepalive 10, timeout 60) - as a server, or anyone
who has the cipher_xor key and answers first, could (issue 15, item 6).
Prints "listening on PORT", then per connection "hello from HOST:PORT",
"welcome sent ADDRESS/PREFIX" and "closed by client after T s". Ends after
MAX_SECONDS (default 60) or on SIGTERM.
"""
import base64
import socket
import struct
import sys
import time

HELLO, WELCOME = 1, 2


def xor(key, body):
    return bytes(b ^ key[i % len(key)] for i, b in enumerate(body))


def main():
    port, keyfile, assign, server = sys.argv[1:5]
    max_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    key = base64.b64decode(open(keyfile).read().strip())
    address, prefix = assign.split("/")
    body = (b"VPNH" + struct.pack("!HBB", 1, int(prefix), 0) + socket.inet_aton(address) +
            socket.inet_aton(server) + struct.pack("!HHHH", 1400, 10, 60, 9216))
    welcome = struct.pack("!HBB", len(body), WELCOME, 0) + xor(key, body)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(8)
    print("listening on %s" % port, flush=True)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        ls.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            c, peer = ls.accept()
        except socket.timeout:
            break
        c.settimeout(10)
        try:
            head = c.recv(4, socket.MSG_WAITALL)
            if len(head) < 4:
                c.close()
                continue
            n, t, _ = struct.unpack("!HBB", head)
            c.recv(n, socket.MSG_WAITALL)
            if t != HELLO:
                print("frame type %d instead of HELLO" % t, flush=True)
                c.close()
                continue
            print("hello from %s:%d" % peer, flush=True)
            c.sendall(welcome)
            print("welcome sent %s" % assign, flush=True)
            start = time.monotonic()
            while c.recv(65536):
                pass
            print("closed by client after %.1f s" % (time.monotonic() - start), flush=True)
        except OSError as e:
            print("connection error: %s" % e, flush=True)
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
