# tests/lab/gateway_lib.sh: helpers for the gateway lab tests (sourced after
# lib.sh, never run; not a test itself: ctest runs tests/lab/test_*.sh).
#
# Layout (gw_topology N): lib.sh's star ($P-srv with 172.31.<i>.1/24 toward
# client namespace $P-c<i> with 172.31.<i>.2/24), plus
#  - the gateway's own public address 172.31.0.1/32 (on lo of $P-srv): the
#    clients connect to it through their default route via 172.31.<i>.1, so
#    route_all really has to keep a host route to it;
#  - "the internet": namespace $P-inet with 198.51.100.1/24 (veth $P-in),
#    peer $P-out = 198.51.100.2/24 in $P-srv (the gateway's outward
#    interface, its default route); 203.0.113.1/32 on lo of $P-inet is a
#    second "internet" host. $P-inet has no route back to 172.31.0.0/16
#    unless a test adds one (gw_inet_route_back): without the tunnel's NAT
#    the clients cannot talk to it.
#  - an HTTP server (python3 -m http.server, port 80, on every address of
#    $P-inet) and a one-record DNS server (www.example.test A 198.51.100.1)
#    on 198.51.100.1:53, each logging the source address of what it serves.
#  - /etc/netns/$P-c<i>/resolv.conf ("nameserver 192.0.2.53", 1 s timeout), which
#    `ip netns exec $P-c<i>` shows as /etc/resolv.conf; the clients' up/down
#    script (scripts/vpnhost-resolv) is pointed at it with
#    VPNHOST_RESOLV_CONF, never at the machine's own /etc/resolv.conf, and
#    keeps its backup in $LAB_TMP (VPNHOST_RESOLV_SAVE: `ip netns exec`
#    bind-mounts every file of /etc/netns/<ns>/). The directories are
#    removed on exit.

SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/gateway.manifest
CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client-route-all.manifest
GW_PUBLIC=172.31.0.1
INET_ADDR=198.51.100.1
GW_OUT_ADDR=198.51.100.2
INET_OTHER=203.0.113.1
INET_NS=
GW_STATE_DIR=
GW_NETNS_DIRS=()
GW_MADE_ETC_NETNS=

# Runs lib.sh's cleanup (processes first: the clients' down scripts still
# write there), then removes /etc/netns/<ours>, on every exit path.
gw_on_exit() {
  local rc=$? d
  trap 'log "cleanup in progress, signal ignored"' INT TERM
  lab_cleanup
  for d in "${GW_NETNS_DIRS[@]}"; do
    case "$d" in /etc/netns/"$P"-*) rm -rf -- "$d" ;; esac
  done
  [ -n "$GW_MADE_ETC_NETNS" ] && rmdir /etc/netns 2>/dev/null  # only if a lab run made it, and once empty
  (exit "$rc")
  lab_on_exit
}

gw_init() {
  lab_init "$1"
  lab_require_tools nft
  trap gw_on_exit EXIT
  INET_NS=$P-inet
  GW_STATE_DIR=$LAB_TMP/state
}

# gw_topology N [route-back]: see above.
gw_topology() {
  local n=$1 i cns
  lab_topology "$n"
  # /etc/netns goes again at the end if a lab run made it: it is missing, or
  # holds nothing but other runs' vh<pid>-* directories (parallel tests).
  if [ ! -d /etc/netns ] || { [ -n "$(ls -A /etc/netns)" ] && [ -z "$(ls -A /etc/netns | grep -v '^vh[0-9]*[a-h]\?-')" ]; }; then
    GW_MADE_ETC_NETNS=1
  fi
  ip -n "$SRV_NS" addr add "$GW_PUBLIC/32" dev lo || fail "public address on $SRV_NS"
  for ((i = 1; i <= n; i++)); do
    cns=$(c_ns "$i")
    ip -n "$cns" route add default via "$(srv_underlay "$i")" || fail "default route in $cns"
    mkdir -p "/etc/netns/$cns" || fail "cannot create /etc/netns/$cns"
    GW_NETNS_DIRS+=("/etc/netns/$cns")
    printf 'nameserver 192.0.2.53\noptions timeout:1 attempts:1\n# the namespace'"'"'s own resolver configuration\n' >"/etc/netns/$cns/resolv.conf"
  done
  lab_ns_add inet
  ip -n "$SRV_NS" link add "$P-out" type veth peer name "$P-in" netns "$INET_NS" || fail "veth to inet"
  ip -n "$SRV_NS" addr add "$GW_OUT_ADDR/24" dev "$P-out" || fail "address on $P-out"
  ip -n "$INET_NS" addr add "$INET_ADDR/24" dev "$P-in" || fail "address on $P-in"
  ip -n "$INET_NS" addr add "$INET_OTHER/32" dev lo || fail "second inet address"
  ip -n "$SRV_NS" link set "$P-out" up || fail "up $P-out"
  ip -n "$INET_NS" link set "$P-in" up || fail "up $P-in"
  ip -n "$SRV_NS" route add default via "$INET_ADDR" || fail "gateway's default route"
  ip netns exec "$SRV_NS" ping -c 1 -W 2 "$INET_ADDR" >/dev/null || fail "underlay: gateway cannot reach $INET_ADDR"
  log "internet: $INET_NS $INET_ADDR/24 + $INET_OTHER, gateway outward $P-out $GW_OUT_ADDR, gateway public $GW_PUBLIC"
}

# gw_ipv6_underlay: IPv6 on client 1's underlay link: 2001:db8:1::2/64 in
# the client (default route via ::1), 2001:db8:1::1/64 in the gateway.
gw_ipv6_underlay() {
  local c
  c=$(c_ns 1)
  ip -n "$c" -6 addr add 2001:db8:1::2/64 dev "$P-c1" nodad || fail "IPv6 address in $c"
  ip -n "$SRV_NS" -6 addr add 2001:db8:1::1/64 dev "$P-s1" nodad || fail "IPv6 address in $SRV_NS"
  ip -n "$c" -6 route add default via 2001:db8:1::1 dev "$P-c1" || fail "IPv6 default route in $c"
}

# Lets the internet answer the clients' underlay addresses directly (split tunnel).
gw_inet_route_back() {
  ip -n "$INET_NS" route add 172.31.0.0/16 via "$GW_OUT_ADDR" || fail "route back in $INET_NS"
}

# gw_start_inet: HTTP server (files in $LAB_TMP/www) and DNS server.
gw_start_inet() {
  mkdir -p "$LAB_TMP/www"
  cat >"$LAB_TMP/dns.py" <<'PY'
# One-record DNS server: www.example.test A 198.51.100.1; NXDOMAIN otherwise.
import socket, struct, sys, time
bind, log, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((bind, 53))
print("dns listening on %s:53" % bind, flush=True)
end = time.monotonic() + limit
with open(log, "a") as out:
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            q, (src, port) = s.recvfrom(2048)
        except socket.timeout:
            break
        if len(q) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
            i += 1 + q[i]
        qtype, = struct.unpack("!H", q[i + 1:i + 3])
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        out.write("%s %s %d\n" % (src, name, qtype)); out.flush()
        if name == "www.example.test":
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("198.51.100.1") if qtype == 1 else b""
            r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1 if answer else 0, 0, 0) + question + answer
        else:
            r = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        s.sendto(r, (src, port))
PY
  lab_bg "$INET_NS" "$LAB_TMP/inet-http.log" python3 -m http.server 80 --bind 0.0.0.0 --directory "$LAB_TMP/www"
  lab_bg "$INET_NS" "$LAB_TMP/inet-dns.log" python3 -u "$LAB_TMP/dns.py" "$INET_ADDR" "$LAB_TMP/dns-queries.txt" 200
  local end=$((SECONDS + 10))
  until [ -n "$(ip netns exec "$INET_NS" ss -Hltn 'sport = :80' 2>/dev/null)" ] &&
    grep -q "dns listening" "$LAB_TMP/inet-dns.log" 2>/dev/null; do
    [ "$SECONDS" -ge "$end" ] && fail "internet servers not up after 10 s"
    sleep 0.1
  done
  log "internet: HTTP on :80, DNS on $INET_ADDR:53"
}

# gw_file NAME KIB: a random file on the internet's web server.
gw_file() {
  head -c "$(($2 * 1024))" /dev/urandom >"$LAB_TMP/www/$1" || fail "cannot make $1"
}

# gw_fetch NS URL OUT [TIMEOUT]: HTTP GET with python3 (no curl needed); 0 on success.
gw_fetch() {
  ip netns exec "$1" timeout "${4:-20}" python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[3])) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())' "$2" "$3" "${4:-20}" 2>"$3.err"
}

# gw_http_sources FILE: source addresses of the HTTP server's requests for FILE.
gw_http_sources() {
  awk -v f="GET /$1 " 'index($0, f) { print $1 }' "$LAB_TMP/inet-http.log" | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' '
}

# gw_start_server [ARGS]: the stock gateway manifest, masquerading out of
# $P-out, device $P-gw, pushing the internet's DNS server.
gw_start_server() {
  start_server --set "device.masquerade=$P-out" --set "device.name=$P-gw" \
    --set "device.state_dir=$GW_STATE_DIR" --set "router.dns=[\"$INET_ADDR\"]" "$@"
  wait_for_log "$LAB_TMP/srv.log" "TUN $P-gw up" 10 "$SRV_PID"
}

# gw_start_client I [ARGS]: the stock route-all client of namespace c<I>,
# connecting to the gateway's public address; its resolver file is
# /etc/netns/$P-c<I>/resolv.conf.
gw_start_client() {
  local i=$1
  shift
  export VPNHOST_RESOLV_CONF=/etc/netns/$(c_ns "$i")/resolv.conf VPNHOST_RESOLV_SAVE=$LAB_TMP/c$i-resolv.save
  start_client "$i" --set "transport.connect=$GW_PUBLIC" --set "device.state_dir=$GW_STATE_DIR" "$@"
  unset VPNHOST_RESOLV_CONF VPNHOST_RESOLV_SAVE
}

# gw_snapshot NS FILE: what a run may change in a namespace and must put back.
# Waits (bounded) for IPv6 duplicate address detection to finish first: the
# kernel adds the link-local routes of new veths only then.
gw_snapshot() {
  local ns=$1 end=$((SECONDS + 10))
  while [ -n "$(ip -n "$ns" -6 addr show tentative 2>/dev/null)" ]; do
    [ "$SECONDS" -ge "$end" ] && fail "IPv6 addresses in $ns still tentative after 10 s"
    sleep 0.1
  done
  {
    echo "## links"; ip -n "$ns" -o link show | awk '{ print $2 }'
    echo "## ipv4 routes (all tables)"; ip -n "$ns" -4 route show table all
    echo "## ipv6 routes (all tables)"; ip -n "$ns" -6 route show table all
    echo "## rules"; ip -n "$ns" rule show
    echo "## nftables"; ip netns exec "$ns" nft list ruleset
    echo "## forwarding"
    ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/forwarding; do echo "$f $(cat "$f")"; done'
  } >"$2" 2>&1
}

# gw_same_as BEFORE NS WHAT: the namespace looks exactly as in BEFORE.
gw_same_as() {
  local after=$LAB_TMP/after-$(basename "$1")
  gw_snapshot "$2" "$after"
  if ! diff -u "$1" "$after" >"$after.diff"; then
    cat "$after.diff"
    fail "$3: $2 differs from its snapshot taken before the start"
  fi
  log "ok: $3: routes, nftables ruleset and forwarding of $2 exactly as before ($(grep -c . "$1") lines compared)"
}

# gw_tun_packets NS IF rx|tx: the interface's packet counter.
gw_tun_packets() {
  ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3_packets" 2>/dev/null || echo missing
}

gw_route_get() { ip -n "$1" -4 route get "$2" 2>&1 | head -n 1; }
gw_route_get6() { ip -n "$1" -6 route get "$2" 2>&1 | head -n 1; }

# gw_capture NAME NS IFACE: tcpdump on IFACE in NS, every packet written as
# it is seen, into $LAB_TMP/NAME.pcap; waits until it listens. CAP = its pid.
CAP=
gw_capture() {
  lab_bg "$2" "$LAB_TMP/tcpdump-$1.log" tcpdump -i "$3" -n -U --immediate-mode -Z root -s 0 -w "$LAB_TMP/$1.pcap"
  CAP=$LAB_LAST_PID
  wait_for_log "$LAB_TMP/tcpdump-$1.log" "listening on" 10 "$CAP"
}

# gw_pcap_count NAME FILTER: packets in $LAB_TMP/NAME.pcap matching FILTER.
gw_pcap_count() { tcpdump -r "$LAB_TMP/$1.pcap" -n "$2" 2>/dev/null | wc -l; }

# gw_pcap_wait NAME FILTER MIN [TIMEOUT]: bounded poll until the capture
# holds MIN packets matching FILTER: tcpdump writes in order, so everything
# sent before those is in the file too.
gw_pcap_wait() {
  local end=$((SECONDS + ${4:-10}))
  until [ "$(gw_pcap_count "$1" "$2")" -ge "$3" ]; do
    [ "$SECONDS" -ge "$end" ] && fail "capture $1: fewer than $3 packets matching '$2' after ${4:-10} s"
    sleep 0.1
  done
}
