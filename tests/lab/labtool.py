#!/usr/bin/env python3
"""Small packet helpers for the lab tests (python3 standard library only).

  labtool.py udp-recv PORT OUTFILE [MAX_SECONDS]
      Receive UDP datagrams on 0.0.0.0:PORT; append one line per datagram to
      OUTFILE: "<source address> <length> <sha256> <first 40 bytes, printable>".
      Prints "listening on PORT" to stdout once bound. Stops after MAX_SECONDS
      (default 120) or on SIGTERM.
  labtool.py raw-udp SRC DST PORT TEXT
      Send one UDP datagram with a hand-made IPv4 header (IP_HDRINCL) whose
      source is SRC, whatever this host's address is.
  labtool.py count FILE HEX
      Print how many times the bytes HEX occur in FILE (e.g. a raw pcap).
  labtool.py digest FILE
      Print "<length> <sha256>" of a file, the format udp-recv uses.
  labtool.py notify-recv SOCKET OUTFILE [PROBE HOST:PORT] [MAX_SECONDS]
      Stand in for systemd's notification socket: bind a UNIX datagram
      socket at SOCKET (NOTIFY_SOCKET for the process under test) and append
      one line per message to OUTFILE: "<sender pid> <fields joined by |>".
      With a PROBE address, a message with READY=1 is followed at once by a
      TCP connect to it, logged as "probe ok" or "probe failed: <error>".
      Stops after MAX_SECONDS (default 120) or on SIGTERM.
"""
import hashlib
import signal
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def printable(data: bytes) -> str:
    return "".join(chr(b) if 0x21 <= b < 0x7F else "." for b in data[:40])


def received(sock: socket.socket, max_seconds: str, receive):
    """Yield receive()'s results (a call on sock) until max_seconds have passed."""
    deadline = time.monotonic() + float(max_seconds)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            got = receive()
        except socket.timeout:
            return
        yield got


def udp_recv(port: str, outfile: str, max_seconds: str = "120") -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", int(port)))
    print("listening on %s" % port, flush=True)
    with open(outfile, "a") as out:
        for data, (src, _) in received(sock, max_seconds, lambda: sock.recvfrom(65535)):
            out.write("%s %d %s %s\n" % (src, len(data), hashlib.sha256(data).hexdigest(), printable(data)))
            out.flush()
    return 0


def raw_udp(src: str, dst: str, port: str, text: str) -> int:
    payload = text.encode()
    udp_len = 8 + len(payload)
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", 40001, int(port), udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x5151, 0, 64, socket.IPPROTO_UDP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sent = sock.sendto(ip + udp, (dst, 0))
    print("raw-udp sent %d bytes %s -> %s:%s" % (sent, src, dst, port), flush=True)
    return 0 if sent == len(ip) + len(udp) else 1


def count(path: str, hexbytes: str) -> int:
    with open(path, "rb") as f:
        print(f.read().count(bytes.fromhex(hexbytes)))
    return 0


def digest(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    print("%d %s" % (len(data), hashlib.sha256(data).hexdigest()))
    return 0


def notify_recv(path: str, outfile: str, probe: str = "", max_seconds: str = "120") -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the sender's pid, as systemd sees it
    sock.bind(path)
    creds_size = socket.CMSG_SPACE(struct.calcsize("3i"))
    with open(outfile, "a") as out:
        for data, ancdata, _, _ in received(sock, max_seconds, lambda: sock.recvmsg(4096, creds_size)):
            pid = -1
            for level, kind, value in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", value[:12])[0]
            fields = data.decode(errors="replace").strip("\n").split("\n")
            out.write("%d %s\n" % (pid, "|".join(fields)))
            out.flush()
            if probe and "READY=1" in fields:
                host, _, port = probe.rpartition(":")
                try:
                    socket.create_connection((host, int(port)), timeout=2).close()
                    out.write("probe ok\n")
                except OSError as e:
                    out.write("probe failed: %s\n" % e)
                out.flush()
    return 0


COMMANDS = {"notify-recv": notify_recv, "udp-recv": udp_recv, "raw-udp": raw_udp, "count": count, "digest": digest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
