# shellcheck shell=bash
# tests/lab/attack_lib.sh: helpers for the attack lab tests (issue 15),
# sourced after lib.sh (and noise_lib.sh). The attacker's tools are
# tests/lab/attack.py; everything they send goes to the run's own server
# namespace and is bounded in rate, time and count (attack.py caps them).
#
# ATTACK_CIPHER=xor (stock UDP manifests) or noise (secure UDP manifests)
# picks what attack_start_server / attack_start_client run. Roles in
# attack_topology: client 1 = the victim (alice), client 2 = the attacker
# (mallory: its own address 172.31.2.2, and forged sources), client 3 = a
# newcomer (carol) whose connect times are measured.
#
# Checks are soft where a test wants every verdict printed: check_* record a
# failure and go on, attack_verdict fails the test at the end if any did.

ATTACK_CIPHER=${ATTACK_CIPHER:-xor}
FORGED_RANGE=172.31.128.0/17   # forged sources: no link has them; the server routes them via the attacker
SRV_SOCK=
ATTACK_FAILURES=()
# The initiation format the cipher_noise under test speaks (docs/security.md
# 3.2): 2 (mac1/mac2, prologue vpnhost-noise-v2) or 1 (before issue 15), as
# an attacker reads it off the protocol's documentation; attack.py's
# noise-init bodies use it.
NOISE_VERSION=1
grep -aq 'vpnhost-noise-v2' "$(dirname "$VPNHOST")/../lib/vpnhost/plugins/cipher_noise.so" 2>/dev/null && NOISE_VERSION=2
INIT_SIZE=$([ "$NOISE_VERSION" = 2 ] && echo 141 || echo 109)  # an initiation's bytes

check_fail() {
  log "CHECK FAILED: $*"
  ATTACK_FAILURES+=("$*")
}
check_eq() {  # check_eq ACTUAL EXPECTED WHAT
  if [ "$1" != "$2" ]; then check_fail "$3: expected '$2', got '$1'"; else log "ok: $3 = $1"; fi
}
check_ge() {  # check_ge ACTUAL MIN WHAT
  if ! [ "$1" -ge "$2" ] 2>/dev/null; then check_fail "$3: expected >= $2, got '$1'"; else log "ok: $3 = $1 (>= $2)"; fi
}
check_le() {  # check_le ACTUAL MAX WHAT
  if ! [ "$1" -le "$2" ] 2>/dev/null; then check_fail "$3: expected <= $2, got '$1'"; else log "ok: $3 = $1 (<= $2)"; fi
}
attack_verdict() {
  if [ ${#ATTACK_FAILURES[@]} -gt 0 ]; then
    log "${#ATTACK_FAILURES[@]} check(s) failed:"
    local f
    for f in "${ATTACK_FAILURES[@]}"; do log "  - $f"; done
    fail "${#ATTACK_FAILURES[@]} check(s) failed (first: ${ATTACK_FAILURES[0]})"
  fi
  log "all checks passed"
}

# ------------------------------------------------------------- topology ---

# attack_topology N: lab_topology N (N >= 2), plus: the server routes the
# forged range via the attacker's address (its answers to forged sources go
# there and are counted), takes datagrams with any source on any link (no
# reverse-path filter: a forged source must reach the server, as it would
# across the internet), and counts in nftables what it receives from and
# sends to addresses that never proved they receive (the attacker's own
# address and the forged range).
attack_topology() {
  lab_require_tools nft
  python3 -c "import cryptography" 2>/dev/null || lab_skip "python3-cryptography not installed"
  lab_topology "$1"
  local d
  for d in all default "$P-s2"; do
    ip netns exec "$SRV_NS" sysctl -qw "net.ipv4.conf.$d.rp_filter=0" || fail "rp_filter off on $d in $SRV_NS"
  done
  ip -n "$SRV_NS" route add "$FORGED_RANGE" via "$(c_underlay 2)" || fail "route $FORGED_RANGE via the attacker"
  ip netns exec "$SRV_NS" nft -f - <<NFT || fail "nft counters in $SRV_NS"
table ip vhattack {
  set unproven { type ipv4_addr; flags interval; elements = { $(c_underlay 2), $FORGED_RANGE } }
  counter unproven_in { }
  counter unproven_out { }
  chain input { type filter hook input priority 0; policy accept; ip saddr @unproven udp dport $LAB_PORT counter name unproven_in; }
  chain output { type filter hook output priority 0; policy accept; ip daddr @unproven counter name unproven_out; }
}
NFT
}

# attack_unproven_bytes: UNPROVEN_IN / UNPROVEN_OUT = bytes (IP packets)
# the server received on its port from / sent to unproven addresses so far.
UNPROVEN_IN=0; UNPROVEN_OUT=0
attack_unproven_bytes() {
  UNPROVEN_IN=$(ip netns exec "$SRV_NS" nft list counter ip vhattack unproven_in | grep -Eo 'bytes [0-9]+' | cut -d' ' -f2)
  UNPROVEN_OUT=$(ip netns exec "$SRV_NS" nft list counter ip vhattack unproven_out | grep -Eo 'bytes [0-9]+' | cut -d' ' -f2)
  [ -n "$UNPROVEN_IN" ] && [ -n "$UNPROVEN_OUT" ] || fail "cannot read the nft counters in $SRV_NS"
}

# ------------------------------------------------------------ processes ---

# attack_server [EXTRA ARGS...]: the server of ATTACK_CIPHER with a control
# socket (SRV_SOCK), keys made on first use: alice, carol (authorized),
# mallory (authorized too: "another authorized client's key") for noise.
attack_server() {
  SRV_SOCK=$LAB_TMP/srv-$((${SRV_STARTS:-0} + 1)).sock
  SRV_STARTS=$((${SRV_STARTS:-0} + 1))
  if [ "$ATTACK_CIPHER" = noise ]; then
    [ -e "$LAB_TMP/authorized_clients" ] || noise_authorize alice=10.10.0.10 carol mallory
    noise_start_server --set "host.control_socket=$SRV_SOCK" "$@"
  else
    start_server --set "host.control_socket=$SRV_SOCK" "$@"
  fi
}

# attack_client I [EXTRA ARGS...]: client I (1 alice, 3 carol) of ATTACK_CIPHER.
attack_client() {
  local i=$1 name
  shift
  case "$i" in 1) name=alice ;; 2) name=mallory ;; *) name=carol ;; esac
  if [ "$ATTACK_CIPHER" = noise ]; then
    noise_start_client "$i" "$name" --set 'host.control_socket=""' "$@"
  else
    start_client "$i" --set 'host.control_socket=""' "$@"
  fi
}

# attack_stop_server: stops the server (its sessions go with it).
attack_stop_server() {
  [ -n "$SRV_PID" ] && lab_stop "$SRV_PID"
  SRV_PID=
}

# -------------------------------------------------------------- status ---

# srv_status: STATUS_JSON = the file with the server's `status --json`.
STATUS_JSON=
srv_status() {
  STATUS_JSON=$LAB_TMP/status.json
  ip netns exec "$SRV_NS" timeout 10 "$VPNHOST" status --socket "$SRV_SOCK" --json >"$STATUS_JSON" 2>"$LAB_TMP/status.err" ||
    fail "vpnhost status --json failed: $(cat "$LAB_TMP/status.err")"
}

# session_of ADDR: SESSION = "ID PEER" of the server's session whose peer
# address is ADDR ("" if none). SESSIONS = how many sessions, ADDRESSED =
# how many hold a tunnel address.
SESSION='' SESSIONS='' ADDRESSED=''
session_of() {
  srv_status
  read -r SESSIONS ADDRESSED SESSION < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["sessions"]
mine = [x for x in s if x["peer"].rsplit(":", 1)[0] == sys.argv[2]]
print(len(s), sum(1 for x in s if x["address"]), " ".join("%s %s" % (x["id"], x["peer"]) for x in mine))' "$STATUS_JSON" "$1")
}

# host_drops NAME...: DROPS = the sum of the server's drop.NAME counters.
DROPS=
host_drops() {
  srv_stats
  local n
  DROPS=0
  for n in "$@"; do
    stat_get "$LAB_TMP/srv.stats" "drop.$n" 0
    DROPS=$((DROPS + STAT))
  done
}

# ---------------------------------------------------------------- ping ---

# soft_ping NS DST COUNT WHAT: like lab_ping_wait, but a loss is a failed
# check, not the end of the test. PING_LOST = requests without reply.
PING_LOST=
soft_ping() {
  local ns=$1 dst=$2 count=$3 what=$4 out sent got
  out=$(ip netns exec "$ns" ping -n -c "$count" -i 0.05 -w $((count / 10 + 5)) "$dst" 2>&1)
  sent=$(echo "$out" | grep -Eo '^[0-9]+ packets transmitted' | cut -d' ' -f1)
  got=$(echo "$out" | grep -Eo ', [0-9]+ received' | tr -dc 0-9)
  PING_LOST=$((${sent:-0} - ${got:-0}))
  [ -n "$sent" ] || PING_LOST=$count
  log "ping $dst x$count from $ns: ${sent:-0} sent, ${got:-0} received"
  check_eq "$PING_LOST" 0 "$what: pings lost"
}

# ping_start NS DST COUNT INTERVAL LOGNAME: a background ping (COUNT
# requests, INTERVAL s apart, ends by itself); PING_PID. ping_result
# LOGNAME: PING_SENT, PING_GOT, PING_LOST of its log once it ended.
PING_PID=
ping_start() {
  local deadline
  deadline=$(awk -v c="$3" -v i="$4" 'BEGIN { printf "%d", c * i + 5 }')
  lab_bg "$1" "$LAB_TMP/$5.log" ping -n -c "$3" -i "$4" -w "$deadline" "$2"
  PING_PID=$LAB_LAST_PID
}
PING_SENT='' PING_GOT=''
ping_result() {
  lab_wait_exit "$PING_PID" 60 || fail "ping $1 did not end"
  PING_SENT=$(grep -Eo '^[0-9]+ packets transmitted' "$LAB_TMP/$1.log" | cut -d' ' -f1)
  PING_GOT=$(grep -Eo ', [0-9]+ received' "$LAB_TMP/$1.log" | tr -dc 0-9)
  PING_SENT=${PING_SENT:-0} PING_GOT=${PING_GOT:-0}
  PING_LOST=$((PING_SENT - PING_GOT))
}

# ------------------------------------------------------------ connects ---

# connect_times N WAIT [EXTRA CLIENT ARGS]: N times: start client 3, time
# from its start to "assigned" in its log (at most WAIT s; longer counts as
# WAIT and is marked), stop it (BYE). CONNECT_TIMES = the times ("%.2f",
# ">WAIT" for none), CONNECT_MAX_MS = the longest in ms.
CONNECT_TIMES='' CONNECT_MAX_MS=''
connect_times() {
  local n=$1 wait=$2 k t0 t1 ms got
  shift 2
  CONNECT_TIMES= CONNECT_MAX_MS=0
  for ((k = 1; k <= n; k++)); do
    t0=$(date +%s%N)
    attack_client 3 "$@"
    got=
    while :; do
      if grep -Eq 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[3]}" 2>/dev/null; then got=1; break; fi
      t1=$(date +%s%N)
      [ $(((t1 - t0) / 1000000)) -ge $((wait * 1000)) ] && break
      lab_alive "${CLIENT_PID[3]}" || break
      sleep 0.02
    done
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    if [ -n "$got" ]; then
      CONNECT_TIMES+="$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }') "
    else
      CONNECT_TIMES+=">$wait "
      ms=$((wait * 1000 + 1))
    fi
    [ "$ms" -gt "$CONNECT_MAX_MS" ] && CONNECT_MAX_MS=$ms
    lab_stop "${CLIENT_PID[3]}"
  done
  CONNECT_TIMES=${CONNECT_TIMES% }
}
