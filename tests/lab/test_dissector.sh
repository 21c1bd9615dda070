#!/usr/bin/env bash
# The Wireshark dissector (contrib/wireshark/vpnhost.lua) against captures
# of real sessions, over TCP and over UDP (cipher_xor, stock manifests): a
# server and one client, the client pings the hub 3 times and leaves.
# tshark with the script must show the frames as sent — HELLO (12),
# WELCOME (24), 6 DATA (84-byte ICMP packets), BYE (once over TCP, twice
# over UDP) — with their fields when given the XOR key, only headers (bodies
# opaque) without it; over UDP every frame with its session index: 0 in the
# client's first HELLO, the server's index in everything after; and the
# address proof before it (protocol.md 11.7): the first HELLO with a zero
# cookie field, the server's COOKIE (16 bytes), the HELLO again with it.
source "$(dirname "$0")/lib.sh"
lab_init dissector
lab_require_tools tshark tcpdump
LUA=$LAB_SOURCE_DIR/contrib/wireshark/vpnhost.lua
lab_topology 1

capture() {  # capture TRANSPORT: one session over TRANSPORT into $LAB_TMP/TRANSPORT.pcap
  local tr=$1 end
  LAB_TRANSPORT=$tr
  SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server.manifest CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client.manifest
  if [ "$tr" = udp ]; then
    SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server-udp.manifest
    CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client-udp.manifest
  fi
  lab_bg "$SRV_NS" "$LAB_TMP/tcpdump-$tr.log" tcpdump -i "$P-s1" -U -w "$LAB_TMP/$tr.pcap" "$tr" port "$LAB_PORT"
  DUMP_PID=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/tcpdump-$tr.log" 'listening on' 10 "$DUMP_PID"
  start_server --set host.control_socket=
  start_client 1 --set host.control_socket=
  wait_client 1
  MTU=$(grep -Eo 'assigned 10\.10\.0\.[0-9]+/24 \(server 10\.10\.0\.1, mtu [0-9]+' "${CLIENT_LOG[1]}" | grep -Eo '[0-9]+$')
  lab_ping "$(c_ns 1)" 10.10.0.1 3
  lab_stop "${CLIENT_PID[1]}"
  wait_for_log "$LAB_TMP/srv.log" 'said goodbye' 10 "$SRV_PID"
  # tcpdump writes each packet as it sees it (-U): wait (bounded) until the
  # BYE (over UDP: both copies) is in the file.
  local byes=1 n
  [ "$tr" = udp ] && byes=2
  end=$((SECONDS + 10))
  while :; do
    n=$(tshark -X "lua_script:$LUA" -r "$LAB_TMP/$tr.pcap" -T fields -E occurrence=a -E aggregator=' ' \
      -e vpnhost.type 2>/dev/null | tr ' ' '\n' | grep -cx 5)
    [ "$n" -ge "$byes" ] && break
    [ "$SECONDS" -ge "$end" ] && fail "the $tr capture has $n BYE frame(s) after 10 s, expected $byes"
    sleep 0.2
  done
  lab_stop "$DUMP_PID"
  lab_stop "$SRV_PID"
}

tshark_fields() {  # tshark_fields PCAP OUT [tshark options]: one line per packet, one value per frame
  local pcap=$1 out=$2
  shift 2
  tshark -X "lua_script:$LUA" "$@" -r "$pcap" -Y vpnhost -T fields -E occurrence=a -E aggregator='|' \
    -e vpnhost.type -e vpnhost.length -e vpnhost.version -e vpnhost.max_body -e vpnhost.welcome.address \
    -e vpnhost.welcome.server -e vpnhost.welcome.mtu -e vpnhost.bye.reason -e vpnhost.text -e icmp.type \
    -e vpnhost.sealed -e _ws.expert.message -e vpnhost.index -e udp.length -e ip.src -e vpnhost.flags -e vpnhost.cookie \
    >"$out" 2>"$out.err" || { cat "$out.err"; fail "tshark failed on $pcap"; }
  grep -i 'lua.*error\|error.*lua' "$out.err" && fail "the Lua script reported errors"
  return 0
}

check() {  # check TRANSPORT
  local tr=$1 key
  key=$(tr -d ' \n' <"$KEY")
  tshark_fields "$LAB_TMP/$tr.pcap" "$LAB_TMP/$tr-with_key.txt" -o "vpnhost.xor_key:$key"
  tshark_fields "$LAB_TMP/$tr.pcap" "$LAB_TMP/$tr-without_key.txt"
  tshark -X "lua_script:$LUA" -o "vpnhost.xor_key:$key" -r "$LAB_TMP/$tr.pcap" -Y vpnhost >"$LAB_TMP/$tr-summary.txt" 2>&1
  sed 's/^/    /' "$LAB_TMP/$tr-summary.txt"
  python3 - "$tr" "$LAB_TMP/$tr-with_key.txt" "$LAB_TMP/$tr-without_key.txt" "${CLIENT_ADDR[1]}" "$MTU" \
    "$(c_underlay 1)" <<'EOF' || fail "the dissector's output does not match the $tr traffic"
import sys
tr, with_path, without_path, addr, mtu, client_ip = sys.argv[1:7]
def rows(path):
    for line in open(path):
        yield [c.split("|") if c else [] for c in line.rstrip("\n").split("\t")]
def check(cond, what):
    print(("    ok: " if cond else "    MISMATCH: ") + "%s: %s" % (tr, what))
    if not cond: sys.exit(1)
with_key = list(rows(with_path))
seq = [(int(t), int(l)) for cols in with_key for t, l in zip(cols[0], cols[1])]
names = {1: "HELLO", 2: "WELCOME", 3: "DATA", 4: "KEEPALIVE", 5: "BYE", 0x80: "COOKIE"}
print("    %s frames:" % tr, " ".join("%s(%d)" % (names.get(t, t), l) for t, l in seq))
core = [x for x in seq if x[0] != 4]          # KEEPALIVEs may come at any time
if tr == "udp":
    # The address proof: HELLO (zero cookie field), COOKIE, HELLO (with it).
    check(core[0] == (1, 12) and core[1] == (0x80, 16), "HELLO, then the server's COOKIE (16 bytes): %s" % core[:3])
    flags = [int(v, 16) for cols in with_key for v in cols[15]]
    cookies = [v.replace(":", "") for cols in with_key for v in cols[16]]
    check(flags[0] == 3 and flags[1] == 0, "the first HELLO has flags 0x03 (index, cookie field), the COOKIE 0")
    check(cookies[0] == "00" * 16, "the first HELLO's cookie field is zero")
    check(len(cookies) >= 3 and cookies[2] == cookies[1] and cookies[1] != "00" * 16,
          "the next HELLO carries the COOKIE's cookie")
    core = core[2:]
while tr == "udp" and len(core) > 1 and core[1] == (1, 12):
    core.pop(0)                                 # a retransmitted HELLO (slow machine)
check(core[0] == (1, 12), "first frame HELLO with a 12-byte body")
check(core[1] == (2, 24), "then WELCOME with a 24-byte body")
data = [l for t, l in core if t == 3]
check(data == [84] * 6, "6 DATA frames of 84 bytes (3 echo requests, 3 replies): %s" % data)
byes = 2 if tr == "udp" else 1
check(core[-byes:] == [(5, 1 + len("SIGTERM"))] * byes and len(core) == 2 + 6 + byes,
      "then %d BYE 'SIGTERM' (%d bytes), nothing else" % (byes, 1 + len("SIGTERM")))
flat = lambda i: [v for cols in with_key for v in cols[i]]
check(set(flat(2)) == {"1"} and set(flat(3)) == {"9216"}, "HELLO/WELCOME version 1, max_body 9216")
check(flat(4) == [addr] and flat(5) == ["10.10.0.1"] and flat(6) == [mtu],
      "WELCOME address %s, server 10.10.0.1, mtu %s" % (addr, mtu))
check(set(flat(7)) == {"3"} and set(flat(8)) == {"SIGTERM"}, "BYE reason 3 (leaving), text SIGTERM")
check(sorted(flat(9)) == ["0", "0", "0", "8", "8", "8"], "the tunnelled ICMP echo requests and replies")
check(flat(10) == [], "nothing marked opaque with the key")
check(not any("magic" in m or "flags" in m or "length" in m for m in flat(11)), "no warnings with the right key")
if tr == "udp":
    # (a packet may hold a GSO train of several datagrams: one frame each)
    framed = [cols for cols in with_key if "128" not in cols[0]]  # all but the COOKIE
    check(all(len(cols[12]) == len(cols[0]) for cols in framed), "every frame but the COOKIE shows its session index")
    idx = [(cols[14][0], t, int(i, 16)) for cols in framed for t, i in zip(cols[0], cols[12])]
    first_welcome = next(k for k, x in enumerate(idx) if x[1] == "2")
    check(all(x[2] == 0 for x in idx[:first_welcome]), "the client's HELLO(s) before WELCOME carry index 0")
    later = {x[2] for x in idx[first_welcome:]}
    check(len(later) == 1 and 0 not in later, "WELCOME and everything after carry the server's index %s" % later)
    size = lambda t, l, fl: 4 + l if t == "128" else 4 + (4 if int(fl, 16) & 1 else 0) + (16 if int(fl, 16) & 2 else 0) + l
    check(all(int(cols[13][0]) == 8 + sum(size(t, int(l), fl) for t, l, fl in zip(cols[0], cols[1], cols[15]))
              for cols in with_key),
          "UDP length = 8 + per frame (header 4 + index 4 + cookie field 16 if flagged + body length)")
    check({x[0] for x in idx if x[1] == "3"} == {client_ip, "172.31.1.1"}, "DATA in both directions")
else:
    check(flat(12) == [], "no session index over TCP")
without = [(int(t), int(l)) for cols in rows(without_path) for t, l in zip(cols[0], cols[1])]
check(without == seq, "without the key: the same frame types and lengths")
check(all(not cols[2] and not cols[4] for cols in rows(without_path)), "no body fields without the key")
sealed = [v for cols in rows(without_path) for v in cols[10]]
check(len(sealed) == len([1 for t, l in seq if l > 0 and t != 0x80]),
      "every non-empty body (but the COOKIE's, never sealed) shown as opaque (%d)" % len(sealed))
EOF
  log "ok: tshark with vpnhost.lua decodes the $tr capture frame by frame"
}

capture tcp
check tcp
capture udp
check udp
