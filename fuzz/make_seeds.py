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

    # fuzz_control_request: [split seed][eof bit][bytes].
    write("fuzz_control_request", {
        "status": bytes([0, 0]) + b"status\n",
        "status_json_trimmed": bytes([7, 0]) + b" \tstatus json \r\n",
        "metrics_at_eof": bytes([3, 1]) + b"metrics",
        "reload_then_more": bytes([9, 0]) + b"reload\nstatus\n",
        "too_long": bytes([5, 0]) + b"a" * 300 + b"\n",
        "limit_exactly": bytes([1, 1]) + b"s" * 256,
    })

    # fuzz_metrics_http: a request head (up to its blank line).
    write("fuzz_metrics_http", {
        "get_metrics": b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:9586",
        "head_metrics_query": b"HEAD /metrics?x=1 HTTP/1.1",
        "get_other_path": b"GET / HTTP/1.1\r\nUser-Agent: curl",
        "post": b"POST /metrics HTTP/1.0",
        "bare_newlines": b"GET /metrics HTTP/1.0\nAccept: */*",
        "garbage": b"\x16\x03\x01\x02\x00\x01\x00",
    })

    # fuzz_noise_handshake: [settings] then ops (see the top of fuzz/fuzz_noise_handshake.cpp).
    # op numbers: 0 raw->server, 1 raw->client, 2 client start, 3 client->server, 4 server->client,
    # 5 clock, 6 server tick, 7 client tick, 8 data c->s, 9 data s->c, 10 replay.
    def c2s(c, slot): return bytes([3, c, slot, 0])
    def s2c(slot, c): return bytes([4, slot, c, 0])
    def data(op, a, b, ftype, plain): return bytes([op, a, b, ftype, len(plain) // 8]) + plain + bytes([0, 0])
    connect = bytes([2, 0]) + c2s(0, 0) + s2c(0, 0)
    frames = data(8, 0, 0, 0, bytes(range(32))) + data(9, 0, 0, 1, bytes(16)) + bytes([10, 0])
    rekey = bytes([5, 65, 7, 0]) + c2s(0, 0) + s2c(0, 0) + c2s(0, 0) + data(8, 0, 0, 0, b"after rekey.....")
    write("fuzz_noise_handshake", {
        "connect_and_frames": bytes([8]) + connect + frames,
        "psk_connect": bytes([9]) + connect + frames,
        "wrong_psk": bytes([11]) + connect + frames,
        "stranger_and_wrong_server": bytes([16]) + bytes([2, 2]) + c2s(2, 1) + bytes([2, 3]) + c2s(3, 2) + s2c(2, 3),
        "rekey_confirmed": bytes([24]) + connect + rekey + bytes([6, 0]),
        "replay_to_new_session": bytes([32]) + connect + c2s(0, 1) + bytes([6, 1]),
        "replaced_by_newer": bytes([40]) + connect + bytes([2, 0]) + c2s(0, 1) + bytes([6, 0, 6, 1]) + s2c(1, 0),
        "rate_limited": bytes([4]) + bytes([0, 0, 0, 109]) + bytes(109) + bytes([0, 0, 0, 3]) + b"abc" +
                        bytes([2, 1]) + c2s(1, 0) + c2s(1, 1) + bytes([0, 1, 0, 25]) + bytes(25),
        "raw_response": bytes([48]) + bytes([1, 0, 0, 48]) + bytes(range(48)) + bytes([1, 1, 0, 5]) + b"short",
        "mutated_initiation": bytes([56]) + bytes([2, 0, 3, 0, 0, 1, 5, 1]) + c2s(0, 0),
        "expiry": bytes([64]) + connect + bytes([5, 90, 5, 90, 6, 0, 7, 0]),
    })

    # fuzz_noise_transport: ops 0 raw frame, 1 peer seals, 2 deliver (mutated), 3 lose n frames.
    def seal(to, ftype, plain): return bytes([1, to, ftype, len(plain) // 4]) + plain
    def dlv(i, flips=()): return bytes([2, i, len(flips)]) + b"".join(bytes([o, x]) for o, x in flips) + bytes([0])
    write("fuzz_noise_transport", {
        "seal_open_both_ways": seal(0, 0, bytes(range(64))) + seal(1, 1, b"") + dlv(0) + dlv(1),
        "reordered": seal(0, 0, b"aaaa") + seal(0, 0, b"bbbb") + seal(0, 0, b"cccc") + dlv(2) + dlv(0) + dlv(1),
        "replayed": seal(0, 3, b"handshake type!!") + dlv(0) + dlv(0),
        "flipped_tag_and_id": seal(0, 0, b"xxxx") + dlv(0, [(24, 1)]) + dlv(0, [(0, 1)]) + dlv(0),
        "behind_the_window": seal(0, 0, b"old.") + bytes([3, 0, 0x23, 0x28]) + seal(0, 0, b"new.") + dlv(1) + dlv(0),
        "far_jump_both_ways": seal(1, 0, b"s->c") + bytes([3, 1, 0x80, 0x10]) + seal(1, 0, b"late") + dlv(1) + dlv(0) +
                              seal(0, 0, b"c->s") + bytes([3, 0, 0x1f, 0xc0]) + seal(0, 0, b"edge") + dlv(3) + dlv(2),
        "raw_key_ids": bytes([0, 0, 3, 0, 25]) + bytes([1]) + bytes(24) + bytes([0, 1, 4, 0, 30]) + bytes([0]) + bytes(29) +
                       bytes([0, 0, 5, 0, 3]) + b"\x01ab",
    })

    # fuzz_udp_datagram: datagrams [source][len u16][bytes]; source bit 7: fix the header, bit 6: with an index.
    def dgram(src, d): return bytes([src]) + struct.pack(">H", len(d)) + d
    def indexed(ftype, body, index): return struct.pack(">HBBI", len(body), ftype, 1, index) + body
    write("fuzz_udp_datagram", {
        "hello_then_data": dgram(0, frame(HELLO, hello())) + dgram(0, frame(DATA, ping)) + dgram(0, frame(KEEPALIVE)),
        "handshake_from_two": dgram(1, frame(HANDSHAKE, bytes(109))) + dgram(2, frame(HANDSHAKE, bytes(109))) +
                              dgram(1, frame(HANDSHAKE, bytes(109))),
        "indexed": dgram(0, indexed(HELLO, hello(), 0)) + dgram(0, indexed(DATA, ping, 0)) +
                   dgram(1, indexed(DATA, ping, 0x12345678)),
        "bad": dgram(0, frame(DATA, ping, flags=2)) + dgram(0, frame(9, b"x")) + dgram(0, b"\0\0") + dgram(0, b"") +
               dgram(0, frame(DATA, ping)[:-1]) + dgram(0, frame(HELLO, hello()) + b"trailing"),
        "fixed_headers": dgram(0x80, bytes(4) + hello()) + dgram(0xc0, bytes(8) + ping) + dgram(0x81, bytes(40)),
        "strangers_data": dgram(2, frame(DATA, ping)) + dgram(2, frame(BYE, bye(3))) + dgram(2, frame(WELCOME, welcome())),
        # source 0 opens (indexed HELLO), then source 1 sends DATA with source 0's learned index: a roam.
        "roam_to_new_source": dgram(0xc0, indexed(HELLO, hello(), 0)) + dgram(0xc1, indexed(DATA, ping, 0)) +
                              dgram(0xc1, indexed(KEEPALIVE, b"", 0)) + dgram(0xc0, indexed(DATA, ping, 0)),
    })

    # fuzz_datapath: ops 0 open, 1 frame, 2 HELLO, 3 DATA packet, 4 device packet, 5 closed, 6 batch, 7 raw DATA.
    # packet fields [src][dst][proto][flags][len u16][ttl]: src/dst 0 own 1 server 2 other 3 outside;
    # proto 0 ICMP echo, 1 TCP SYN+MSS, 2 UDP; flags 1 DF, 2 MF.
    def pkt(src, dst, proto, flags, length, ttl=64): return bytes([src, dst, proto, flags]) + struct.pack(">H", length) + bytes([ttl])
    def op_open(k, mtu=23): return bytes([0, k, mtu])
    def op_hello(k, mtu=0): return bytes([2, k]) + struct.pack(">H", mtu)
    two = op_open(0) + op_hello(0) + op_open(1, 0) + op_hello(1, 1280)
    write("fuzz_datapath", {
        "ping_the_server": op_open(0) + op_hello(0) + bytes([3, 0]) + pkt(0, 1, 0, 0, 84),
        "between_clients": two + bytes([3, 0]) + pkt(0, 2, 0, 0, 1400) + bytes([3, 1]) + pkt(0, 2, 2, 0, 100),
        "too_big_df_and_fragments": two + bytes([3, 0]) + pkt(0, 2, 2, 1, 1500) + bytes([3, 0]) + pkt(0, 2, 2, 0, 3000),
        "syn_clamped": two + bytes([3, 0]) + pkt(0, 2, 1, 1, 44, 90),
        "device_to_client": two + bytes([4, 0]) + pkt(3, 0, 2, 0, 1200) + bytes([4, 1]) + pkt(3, 0, 1, 1, 44, 100),
        "to_outside_and_spoofed": two + bytes([3, 0]) + pkt(0, 3, 2, 0, 200) + bytes([3, 0]) + pkt(3, 1, 0, 0, 84),
        "batch_then_close": two + bytes([6, 0, 40]) + pkt(0, 2, 0, 0, 84) + bytes([5, 1]) + bytes([3, 0]) + pkt(0, 2, 0, 0, 84),
        "control_frames": op_open(2) + op_hello(2) + bytes([1, 2, KEEPALIVE, 0, 0]) + bytes([1, 2, BYE, 0, 1, 3]) +
                          bytes([1, 2, HELLO, 0, 12]) + hello() + bytes([1, 3, DATA, 0, 4]) + b"abcd",
        "data_before_hello": op_open(3) + bytes([3, 3]) + pkt(0, 1, 0, 0, 84) + bytes([7, 3, 1, 0, 20]) + bytes(20),
        # The client ('C'): op 2 is the server's WELCOME [address][prefix][mtu u16][keepalive][timeout][dns].
        "client_connect_and_ping": b"C" + op_open(0) + bytes([2, 0, 0, 24]) + struct.pack(">H", 1400) + bytes([10, 60, 1]) +
                                   bytes([4]) + pkt(0, 1, 0, 0, 84) + bytes([3, 0]) + pkt(1, 0, 0, 0, 84),
        "client_big_and_syn": b"C" + op_open(0) + bytes([2, 0, 0, 24]) + struct.pack(">H", 1280) + bytes([0, 0, 0]) +
                              bytes([4]) + pkt(0, 3, 2, 0, 3000) + bytes([4]) + pkt(0, 3, 1, 1, 44, 100) +
                              bytes([4]) + pkt(0, 3, 2, 1, 1400),
        "client_hostile_welcome": b"C" + op_open(0) + bytes([2, 0, 2, 1]) + struct.pack(">H", 9000) + bytes([0, 0, 0]) +
                                  bytes([2, 0, 1, 24, 0, 0, 0, 0, 0]) + bytes([1, 0, BYE, 0, 1, 1]),
        "client_reject": b"C" + op_open(0) + bytes([1, 0, REJECT, 0, 5]) + reject(1, "full"),
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
