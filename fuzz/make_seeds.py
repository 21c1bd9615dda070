#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run it again after a
format change; the files are committed). Frames and bodies are encoded here
from docs/protocol.md, independently of the C++ code; the IPv4 packets are
the real ping captures in tests/unit/responder_icmp_echo/vectors.hpp; the
manifests are the stock ones plus two that use more of the format."""
import pathlib
import re
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

HELLO, WELCOME, DATA, KEEPALIVE, BYE, REJECT, HANDSHAKE = range(1, 8)


def ip(a):
    return struct.unpack(">I", bytes(int(x) for x in a.split(".")))[0]


def frame(ftype, body=b"", flags=0):
    return struct.pack(">HBB", len(body), ftype, flags) + body


def hello(version=1, max_body=9216, mtu=0):
    return b"VPNH" + struct.pack(">HHHH", version, 0, max_body, mtu)


def welcome(addr="10.10.0.2", prefix=24, server="10.10.0.1", mtu=1400, keepalive=10, timeout=60, max_body=9216,
            dns=(), extra=b""):
    body = b"VPNH" + struct.pack(">HBBIIHHHH", 1, prefix, 0, ip(addr), ip(server), mtu, keepalive, timeout, max_body)
    for d in dns:
        body += struct.pack(">BBI", 1, 4, ip(d))
    return body + extra


def reject(code, reason):
    return bytes([code]) + reason.encode()


def bye(reason, text=""):
    return bytes([reason]) + text.encode()


def vectors():
    text = (ROOT / "tests/unit/responder_icmp_echo/vectors.hpp").read_text()
    out = {}
    for name, body in re.findall(r"inline const std::vector<std::uint8_t> (\w+)\{(.*?)\};", text, re.S):
        out[name] = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))
    return out


def write(target, files):
    d = CORPUS / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    print(f"{target}: {len(files)} seeds")


def main():
    v = vectors()
    ping, reply = v["kReq56"], v["kReply56"]

    # fuzz_frames: [split seed][mode][stream]; mode bits 0-1 payload, 2 echo, 3 host close.
    client = frame(HELLO, hello()) + frame(DATA, ping) + frame(KEEPALIVE) + frame(BYE, bye(3, "leaving"))
    server = (frame(WELCOME, welcome(dns=["10.10.0.1"])) + frame(DATA, reply) +
              frame(KEEPALIVE) + frame(BYE, bye(1, "restart")))
    write("fuzz_frames", {
        "client_one_chunk": bytes([0, 0]) + client,
        "server_echo_random_chunks": bytes([7, 4]) + server,
        "client_byte_by_byte": bytes([1, 0]) + client,
        "bad_flags_after_data": bytes([5, 0]) + frame(DATA, ping) + frame(DATA, ping, flags=1),
        "unknown_type": bytes([9, 0]) + frame(KEEPALIVE) + frame(9, b"xx"),
        "truncated_host_close": bytes([3, 8]) + frame(HELLO, hello()) + frame(DATA, ping)[:30],
        "too_long_for_64": bytes([11, 2]) + frame(REJECT, reject(1, "pool full")) + frame(DATA, ping),
"batch_of_202_echo": bytes([0, 4]) + frame(KEEPALIVE) * 200 + frame(DATA, ping) * 2,
        "handshake_then_reject": bytes([2, 1]) + frame(HANDSHAKE, bytes(range(48))) + frame(REJECT, reject(2, "version")),
    })

    # fuzz_protocol: one control body per file.
    write("fuzz_protocol", {
        "hello": hello(),
        "hello_mtu": hello(1, 1500, 1280) + b"future",
        "welcome": welcome(),
        "welcome_dns": welcome(dns=["10.10.0.1", "9.9.9.9"], extra=bytes([9, 2, 0xaa, 0xbb])),
        "reject_pool_full": reject(1, "pool full"),
        "reject_version": reject(2, "this server speaks protocol version 1"),
        "bye_restart": bye(1, "server restarting"),
        "bye_empty": bye(0),
    })

    # fuzz_ipv4_echo: [flags][ttl][packet]; flags: 1 fix IPv4 sum, 2 fix ICMP sum, 4 self = dst.
    write("fuzz_ipv4_echo", {
        "ping_odd": bytes([0, 64]) + v["kReqOdd"],
        "ping_56": bytes([0, 64]) + ping,
        "ping_options_ttl32": bytes([0, 32]) + v["kReqOpts"],
        "ping_56_trailing": bytes([4, 255]) + ping + b"\0\0\0\0",
        "echo_reply_to_us": bytes([0, 64]) + v["kEchoReplyToUs"],
        "tcp_syn": bytes([0, 64]) + v["kTcpSyn"],
        "more_fragments": bytes([0, 64]) + v["kMoreFragments"],
        "icmp_short_fixsums": bytes([3, 64]) + v["kIcmpHeaderShort"],
        "src_loopback": bytes([0, 64]) + v["kSrcLoopback"],
    })

    # fuzz_manifest: the stock manifests and two that use more of the format.
    full_server = b"""# every [host] setting, a second responder and --set overrides
#set transport.port=5001
#set host.log_level="debug"
[host]
plugin_path = ["plugins", "/opt/vpnhost/plugins"]
log_level = "info"
stats_interval = 60
stats_file = "stats.txt"
stdin_eof_exits = true
keepalive = 10
session_timeout = 60
handshake_timeout = 5
max_sessions = 1024
max_handshakes = 256
packet_buffers = 8192
reconnect = true
reconnect_min = 1000
reconnect_max = 30000
on_server_bye = "reconnect"

[transport]
plugin = "transport_tcp"
listen = "::"
port = 5000
max_queue_frames = 512
max_queue_bytes = 1048576
connect_timeout = 10
close_timeout_ms = 1000
stall_timeout = 10

[cipher]
plugin = "cipher_xor"
key_file = "xor.key"

[router]
plugin = "router_hub"
network = "10.20.0.0/16"
server_address = "10.20.0.1"
pool_start = "10.20.0.10"
pool_end = "10.20.3.254"
mtu = 1400
dns = ["10.20.0.1", "9.9.9.9"]

[[responder]]
plugin = "responder_icmp_echo"
ttl = 32

[[responder]]
plugin = "responder_other"
text = "x"
count = 3
flag = true
ratio = 2
items = ["a", "b"]
must = "yes"
"""
    gateway = b"""[transport]
plugin = "transport_tcp"
listen = "0.0.0.0"

[cipher]
plugin = "cipher_xor"
key_file = "/etc/vpnhost/xor.key"

[device]
plugin = "device_tun"
name = "vpn%d"
mtu = 1400
txqueuelen = 1000

[router]
plugin = "router_hub"
"""
    write("fuzz_manifest", {
        "server.manifest": (ROOT / "manifests/server.manifest").read_bytes(),
        "client.manifest": (ROOT / "manifests/client.manifest").read_bytes(),
        "full_server.manifest": full_server,
        "gateway.manifest": gateway,
    })


if __name__ == "__main__":
    main()
