#!/usr/bin/env bash
# Tests vpnhost.lua with tshark on a capture taken in a lab run (network
# namespaces, as the lab tests): a server and one client, the client pings
# the hub 3 times and leaves. The dissector must show the frames as sent -
# HELLO (12), WELCOME (24), 6 DATA (84-byte ICMP packets), BYE - with their
# fields when given the XOR key, and only headers (bodies opaque) without it.
# Not part of ctest (it needs tshark: contrib/wireshark/install-tshark.sh).
#   sudo bash contrib/wireshark/test.sh
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../tests/lab/lib.sh"
lab_init wireshark
lab_require_tools tshark tcpdump
LUA=$here/vpnhost.lua
lab_topology 1

start_server --set host.control_socket=
lab_bg "$SRV_NS" "$LAB_TMP/tcpdump.log" tcpdump -i "$P-s1" -U -w "$LAB_TMP/cap.pcap" tcp port "$LAB_PORT"
DUMP_PID=$LAB_LAST_PID
wait_for_log "$LAB_TMP/tcpdump.log" 'listening on' 10 "$DUMP_PID"
start_client 1 --set host.control_socket=
wait_client 1
lab_ping "$(c_ns 1)" 10.10.0.1 3
lab_stop "${CLIENT_PID[1]}"
wait_for_log "$LAB_TMP/srv.log" 'said goodbye' 10 "$SRV_PID"
# tcpdump writes each packet as it sees it (-U): wait (bounded) until the BYE is in the file.
end=$((SECONDS + 10))
until tshark -X "lua_script:$LUA" -r "$LAB_TMP/cap.pcap" -Y 'vpnhost.type == 5' 2>/dev/null | grep -q BYE; do
  [ "$SECONDS" -ge "$end" ] && fail "the capture has no BYE frame after 10 s"
  sleep 0.2
done
lab_stop "$DUMP_PID"

key=$(tr -d ' \n' <"$KEY")
tshark_fields() {  # tshark_fields OUT [tshark options]: one line per vpnhost frame: "type length [fields]"
  local out=$1
  shift
  tshark -X "lua_script:$LUA" "$@" -r "$LAB_TMP/cap.pcap" -Y vpnhost -T fields -E occurrence=a -E aggregator='|' \
    -e vpnhost.type -e vpnhost.length -e vpnhost.version -e vpnhost.max_body -e vpnhost.welcome.address \
    -e vpnhost.welcome.server -e vpnhost.welcome.mtu -e vpnhost.bye.reason -e vpnhost.text -e icmp.type \
    -e vpnhost.sealed -e _ws.expert.message >"$out" 2>"$out.err" || { cat "$out.err"; fail "tshark failed"; }
  grep -i 'lua.*error\|error.*lua' "$out.err" && fail "the Lua script reported errors"
  return 0
}
tshark_fields "$LAB_TMP/with_key.txt" -o "vpnhost.xor_key:$key"
tshark_fields "$LAB_TMP/without_key.txt"
tshark -X "lua_script:$LUA" -o "vpnhost.xor_key:$key" -r "$LAB_TMP/cap.pcap" -Y vpnhost >"$LAB_TMP/summary.txt" 2>&1
sed 's/^/    /' "$LAB_TMP/summary.txt"

python3 - "$LAB_TMP/with_key.txt" "$LAB_TMP/without_key.txt" "${CLIENT_ADDR[1]}" <<'EOF' || fail "the dissector's output does not match the traffic"
import sys
def frames(path):
    out = []
    for line in open(path):
        cols = [c.split("|") if c else [] for c in line.rstrip("\n").split("\t")]
        types, lengths = cols[0], cols[1]
        # one packet may carry several frames: one entry per frame
        for i, t in enumerate(types):
            out.append((int(t), int(lengths[i])))
        yield cols
def check(cond, what):
    print(("    ok: " if cond else "    MISMATCH: ") + what)
    if not cond: sys.exit(1)
with_key = list(frames(sys.argv[1]))
seq = []
for cols in with_key:
    seq += [(int(t), int(l)) for t, l in zip(cols[0], cols[1])]
names = {1: "HELLO", 2: "WELCOME", 3: "DATA", 4: "KEEPALIVE", 5: "BYE"}
print("    frames:", " ".join("%s(%d)" % (names.get(t, t), l) for t, l in seq))
check(seq[0] == (1, 12), "first frame HELLO with a 12-byte body")
check(seq[1] == (2, 24), "then WELCOME with a 24-byte body")
data = [l for t, l in seq if t == 3]
check(data == [84] * 6, "6 DATA frames of 84 bytes (3 echo requests, 3 replies): %s" % data)
check(seq[-1][0] == 5 and seq[-1][1] == 1 + len("SIGTERM"), "last frame BYE 'SIGTERM' (%d bytes)" % seq[-1][1])
flat = lambda i: [v for cols in with_key for v in cols[i]]
check(flat(2) == ["1", "1"] and flat(3) == ["9216", "9216"], "HELLO/WELCOME version 1, max_body 9216")
check(flat(4) == [sys.argv[3]] and flat(5) == ["10.10.0.1"] and flat(6) == ["1400"],
      "WELCOME address %s, server 10.10.0.1, mtu 1400" % sys.argv[3])
check(flat(7) == ["3"] and flat(8) == ["SIGTERM"], "BYE reason 3 (leaving), text SIGTERM")
check(sorted(flat(9)) == ["0", "0", "0", "8", "8", "8"], "the tunnelled ICMP echo requests and replies")
check(flat(10) == [], "nothing marked opaque with the key")
check(not any("magic" in m for m in flat(11)), "no magic warnings with the right key")
without = []
for cols in frames(sys.argv[2]):
    without += [(int(t), int(l)) for t, l in zip(cols[0], cols[1])]
    check(cols[2] == [] and cols[4] == [], "no body fields without the key") if cols[2] or cols[4] else None
check(without == seq, "without the key: the same frame types and lengths")
sealed = [v for cols in frames(sys.argv[2]) for v in cols[10]]
check(len(sealed) == len([1 for t, l in seq if l > 0]), "every non-empty body shown as opaque (%d)" % len(sealed))
EOF
log "ok: tshark with vpnhost.lua decodes the capture frame by frame"
