#!/usr/bin/env python3
"""Builds the ICMP echo test vectors for tests/unit/responder_icmp_echo.

Independent of the code under test: checksums here are Python's own RFC 1071
sum. The two requests are real `ping` packets (see ping_capture.txt); every
other vector is derived from them by hand-written edits below, with checksums
recomputed here. Writes the C++ header given as argv[1] (or prints it).

    python3 tests/data/icmp/make_vectors.py tests/unit/responder_icmp_echo/vectors.hpp
"""
import struct
import sys


def csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip_fix(p: bytearray) -> bytearray:
    ihl = (p[0] & 0xF) * 4
    p[10:12] = b"\0\0"
    p[10:12] = struct.pack("!H", csum(bytes(p[:ihl])))
    return p


def l4_fix(p: bytearray, off: int) -> bytearray:
    """Recompute an ICMP checksum (at offset 2 of the ICMP message)."""
    ihl = (p[0] & 0xF) * 4
    tot = struct.unpack("!H", p[2:4])[0]
    p[ihl + off:ihl + off + 2] = b"\0\0"
    p[ihl + off:ihl + off + 2] = struct.pack("!H", csum(bytes(p[ihl:tot])))
    return p


def ip(src, dst, proto, payload, ident=0x1234, flags_frag=0x4000, ttl=64, options=b""):
    ihl = 5 + len(options) // 4
    tot = ihl * 4 + len(payload)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ident, flags_frag, ttl, proto, 0,
                              bytes(map(int, src.split("."))), bytes(map(int, dst.split(".")))))
    return ip_fix(bytearray(h + options + payload))


def reply_of(req: bytes, ttl=64) -> bytearray:
    """What a correct responder makes of an echo request."""
    p = bytearray(req)
    ihl = (p[0] & 0xF) * 4
    tot = struct.unpack("!H", p[2:4])[0]
    p = p[:tot]
    p[12:16], p[16:20] = p[16:20], p[12:16]
    p[8] = ttl
    p[ihl] = 0  # echo reply
    l4_fix(p, 2)
    return ip_fix(p)


def hx(s: str) -> bytearray:
    return bytearray.fromhex(s)


# Real packets (ping_capture.txt).
REQ_ODD = hx("45000031 7a494000 4001ac6c 0a0a0002 0a0a0001 08006996 12ed0001 d0fc066b"
             "00000000 a88b0b00 00000000 a5c3a5c3 a5")
REQ_56 = hx("45000054 7a4a4000 4001ac48 0a0a0002 0a0a0001 08007ed6 12ee0001 d0fc066b"
            "00000000 47960b00 00000000 02030405 01020304 05010203 04050102 03040501"
            "02030405 01020304 05010203 04050102 03040501")
KERNEL_REPLY_ODD = hx("45000031 8f350000 4001d780 0a0a0001 0a0a0002 00007196 12ed0001 d0fc066b"
                      "00000000 a88b0b00 00000000 a5c3a5c3 a5")
KERNEL_REPLY_56 = hx("45000054 8f360000 4001d75c 0a0a0001 0a0a0002 000086d6 12ee0001 d0fc066b"
                     "00000000 47960b00 00000000 02030405 01020304 05010203 04050102 03040501"
                     "02030405 01020304 05010203 04050102 03040501")
for b in (REQ_ODD, REQ_56, KERNEL_REPLY_ODD, KERNEL_REPLY_56):
    assert csum(bytes(b[:20])) == 0 and csum(bytes(b[20:])) == 0

# REQ_ODD with a Router Alert option (94 04 00 00), IHL 6, after one hop (TTL 63).
REQ_OPTS = bytearray(REQ_ODD[:20] + hx("94040000") + REQ_ODD[20:])
REQ_OPTS[0] = 0x46
REQ_OPTS[8] = 63
REQ_OPTS[2:4] = struct.pack("!H", len(REQ_OPTS))
ip_fix(REQ_OPTS)

icmp_odd = bytes(REQ_ODD[20:])
vectors = {
    "kReqOdd": REQ_ODD,
    "kReplyOdd": reply_of(REQ_ODD),
    "kKernelReplyOdd": KERNEL_REPLY_ODD,
    "kReq56": REQ_56,
    "kReply56": reply_of(REQ_56),
    "kReply56Ttl32": reply_of(REQ_56, ttl=32),
    "kKernelReply56": KERNEL_REPLY_56,
    "kReqOpts": REQ_OPTS,
    "kReplyOpts": reply_of(REQ_OPTS),
}
assert vectors["kReplyOdd"][20:] == KERNEL_REPLY_ODD[20:]
assert vectors["kReply56"][20:] == KERNEL_REPLY_56[20:]

# Packets that must pass untouched (all with valid IPv4 header checksums
# unless the point is a bad one).
def with_icmp(icmp_type, code, body=icmp_odd[4:], dst="10.10.0.1", src="10.10.0.2", **kw):
    m = bytearray(struct.pack("!BBH", icmp_type, code, 0) + body)
    m[2:4] = struct.pack("!H", csum(bytes(m)))
    return ip(src, dst, 1, bytes(m), **kw)

bad_icmp_sum = bytearray(REQ_ODD)
bad_icmp_sum[22:24] = struct.pack("!H", (struct.unpack("!H", bad_icmp_sum[22:24])[0] + 1) & 0xFFFF)
bad_ip_sum = bytearray(REQ_ODD)
bad_ip_sum[11] ^= 0x01
tcp_syn = struct.pack("!HHIIBBHHH", 40000, 22, 1, 0, 0x50, 0x02, 65535, 0, 0)
udp = struct.pack("!HHHH", 40000, 53, 8 + 5, 0) + b"hello"

passes = {
    "kEchoReplyToUs": with_icmp(0, 0),
    "kTimestampRequest": with_icmp(13, 0, struct.pack("!HHIII", 0x1234, 1, 1000, 0, 0)),
    "kEchoCode1": with_icmp(8, 1),
    "kTcpSyn": ip("10.10.0.2", "10.10.0.1", 6, tcp_syn),
    "kUdp": ip("10.10.0.2", "10.10.0.1", 17, udp),
    # A valid echo request message, but the IP protocol says TCP / UDP.
    "kEchoBytesAsTcp": ip("10.10.0.2", "10.10.0.1", 6, icmp_odd),
    "kEchoBytesAsUdp": ip("10.10.0.2", "10.10.0.1", 17, icmp_odd),
    "kWrongDst": with_icmp(8, 0, dst="10.10.0.3"),
    "kBadIcmpChecksum": bad_icmp_sum,
    "kBadIpChecksum": bad_ip_sum,
    "kMoreFragments": with_icmp(8, 0, flags_frag=0x2000),
    "kFragmentOffset": with_icmp(8, 0, flags_frag=0x00b9),
    "kIcmpHeaderShort": ip("10.10.0.2", "10.10.0.1", 1, struct.pack("!BBH", 8, 0, csum(b"\x08\x00\x00\x00"))),
    "kSrcZero": with_icmp(8, 0, src="0.0.0.0"),
    "kSrcMulticast": with_icmp(8, 0, src="224.0.0.1"),
    "kSrcBroadcast": with_icmp(8, 0, src="255.255.255.255"),
    "kSrcLoopback": with_icmp(8, 0, src="127.0.0.1"),
}
for name in ("kMoreFragments", "kFragmentOffset", "kWrongDst", "kSrcZero"):
    p = passes[name]
    assert csum(bytes(p[:20])) == 0 and csum(bytes(p[20:])) == 0, name


def cxx(name, b):
    body = ",".join("0x%02x" % x for x in b)
    lines = []
    items = body.split(",")
    for i in range(0, len(items), 16):
        lines.append("    " + ", ".join(items[i:i + 16]) + ",")
    return "inline const std::vector<std::uint8_t> %s{\n%s\n};\n" % (name, "\n".join(lines))


out = ["// Generated by tests/data/icmp/make_vectors.py -- do not edit by hand.",
       "// Requests are real ping packets (tests/data/icmp/ping_capture.txt); replies and",
       "// checksums were computed by that script, independently of the plugin.",
       "#pragma once", "#include <cstdint>", "#include <vector>", "", "namespace icmp_vectors {", ""]
out.append("// Echo requests and the replies a correct responder produces (TTL 64 unless named).")
for k, v in vectors.items():
    out.append(cxx(k, v))
out.append("// Packets the responder must pass unchanged (to 10.10.0.1 unless named).")
for k, v in passes.items():
    out.append(cxx(k, v))
out.append("}  // namespace icmp_vectors")
text = "\n".join(out) + "\n"
if len(sys.argv) > 1:
    open(sys.argv[1], "w").write(text)
else:
    sys.stdout.write(text)
