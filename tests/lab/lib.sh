# tests/lab/lib.sh: shared helpers for the lab tests (sourced, never run).
#
# Every lab test builds its own network inside network namespaces named with
# a prefix unique to the run (vh<pid>-srv, vh<pid>-c1, ...), starts vpnhost
# there, and removes everything it made on every exit path (see
# /work/shared/lab-rules.md). Nothing is ever created in the root namespace:
# veth pairs are made inside one namespace with their peer put straight into
# the other.
#
# Environment (set by ctest): VPNHOST (the binary), VPNHOST_BUILD_DIR,
# VPNHOST_SOURCE_DIR. Optional: VH_LOADCLIENT, LAB_LOG_LEVEL (default debug),
# LAB_KEEP_TMP=1 (keep the run's temp dir), CI or LAB_STRICT (a missing
# capability fails instead of skipping). LAB_TRANSPORT=udp runs the
# stock server/client over transport_udp (manifests/*-udp.manifest) instead
# of transport_tcp; tests/lab/test_udp_transport_*.sh source other tests
# with it set.
#
# Layout of a run (lab_topology N): namespace $P-srv holds one veth per
# client, $P-s<i> = 172.31.<i>.1/24; client namespace $P-c<i> holds the peer
# $P-c<i> = 172.31.<i>.2/24. The server listens on 0.0.0.0:5000 (stock
# manifest); client i connects to 172.31.<i>.1 and names its TUN $P-t<i>.

set -u -o pipefail

LAB_SOURCE_DIR=${VPNHOST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_BUILD_DIR=${VPNHOST_BUILD_DIR:-$LAB_SOURCE_DIR/build}
VPNHOST=${VPNHOST:-$LAB_BUILD_DIR/bin/vpnhost}
VH_LOADCLIENT=${VH_LOADCLIENT:-$(dirname "$VPNHOST")/vh_loadclient}
LABTOOL="python3 $LAB_SOURCE_DIR/tests/lab/labtool.py"
SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server.manifest
CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client.manifest
LAB_PORT=5000  # the stock manifests' port
# LAB_TRANSPORT: tcp (default) or udp - which stock manifests start_server
# and start_client use. A test that brings its own manifests ignores it.
LAB_TRANSPORT=${LAB_TRANSPORT:-tcp}
case "$LAB_TRANSPORT" in
  tcp) ;;
  udp)
    SERVER_MANIFEST=$LAB_SOURCE_DIR/manifests/server-udp.manifest
    CLIENT_MANIFEST=$LAB_SOURCE_DIR/manifests/client-udp.manifest
    ;;
  *) echo "FAIL: LAB_TRANSPORT must be tcp or udp, got '$LAB_TRANSPORT'"; exit 1 ;;
esac
LAB_LOG_LEVEL=${LAB_LOG_LEVEL:-debug}

LAB_NAME=lab
LAB_PIDS=()    # every process this run started (ip netns exec ... &)
LAB_NS=()      # every namespace this run made
LAB_TMP=
LAB_CLEANED=
LAB_CLEANUP_RC=0
LAB_DUMPED=
P=
SRV_PID=
SRV_NS=
declare -A CLIENT_PID=() CLIENT_ADDR=() CLIENT_LOG=() CLIENT_STARTS=()
LAB_LAST_PID=
LAB_EXIT_RC=

log() { printf '[%s %s] %s\n' "$(date +%T.%3N)" "$LAB_NAME" "$*"; }

# ---------------------------------------------------------------- setup ---

# A missing capability: skip (77), or fail when CI (or LAB_STRICT) is set.
lab_skip() {
  if [ -n "${CI:-}${LAB_STRICT:-}" ]; then
    echo "FAIL: $* (CI or LAB_STRICT is set: lab tests must really run)"
    exit 1
  fi
  echo "SKIPPED: $*"
  exit 77
}

lab_require_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || lab_skip "tool '$t' not found"
  done
}

lab_init() {
  LAB_NAME=$1
  [ "$LAB_TRANSPORT" = tcp ] || LAB_NAME=$1-$LAB_TRANSPORT
  [ "$(id -u)" = 0 ] || lab_skip "needs root (network namespaces, TUN)"
  [ -c /dev/net/tun ] || lab_skip "needs /dev/net/tun"
  lab_require_tools ip ping ss python3 timeout
  unshare -n true 2>/dev/null || lab_skip "cannot create network namespaces here"
  if [ ! -x "$VPNHOST" ]; then
    echo "FAIL: vpnhost binary not found at $VPNHOST (set VPNHOST or build first)"
    exit 1
  fi
  # Unique prefix for this run; a leftover with the same pid gets a suffix.
  P="vh$$"
  local s
  for s in "" a b c d e f g h; do
    if ! ip netns list | grep -q "^vh$$$s-"; then P="vh$$$s"; break; fi
  done
  SRV_NS=$P-srv
  LAB_TMP=$(mktemp -d "/tmp/$P-$LAB_NAME.XXXXXX")
  trap lab_on_exit EXIT
  trap 'lab_on_signal INT 130' INT
  trap 'lab_on_signal TERM 143' TERM
  lab_start_guard
  log "run prefix $P, temp dir $LAB_TMP, vpnhost $VPNHOST"
  [ "$LAB_TRANSPORT" = tcp ] || lab_transport_setup
}

# LAB_TRANSPORT=udp: say so, and let tests that run vh_loadclient get its
# UDP mode without knowing (a wrapper that adds --udp).
lab_transport_setup() {
  log "transport: $LAB_TRANSPORT (start_server/start_client: $(basename "$SERVER_MANIFEST"), $(basename "$CLIENT_MANIFEST"))"
  if [ "$LAB_TRANSPORT" = udp ] && [ -x "$VH_LOADCLIENT" ]; then
    printf '#!/bin/sh\nexec %q --udp "$@"\n' "$VH_LOADCLIENT" >"$LAB_TMP/vh_loadclient-udp"
    chmod 755 "$LAB_TMP/vh_loadclient-udp"
    VH_LOADCLIENT=$LAB_TMP/vh_loadclient-udp
  fi
}

# lab_assert_transport_used: the running server really carries its sessions
# over LAB_TRANSPORT (its log and its transport plugin's counters say so).
lab_assert_transport_used() {
  [ -n "$SRV_PID" ] && lab_alive "$SRV_PID" || fail "no server running to check the transport of"
  grep -q "listening on $LAB_TRANSPORT " "$LAB_TMP/srv.log" 2>/dev/null ||
    [ "$LAB_TRANSPORT" = tcp ] || fail "the server log does not say 'listening on $LAB_TRANSPORT'"
  srv_stat "transport_$LAB_TRANSPORT.frames_in" 0
  assert_ge "$STAT" 1 "server transport_$LAB_TRANSPORT.frames_in"
}

# lab_listening NS PORT: true if something in NS listens on PORT with the
# lab's transport (a TCP listener, or a bound UDP socket).
lab_listening() {
  local flags=-Hltn
  [ "$LAB_TRANSPORT" = udp ] && flags=-Hlun
  [ -n "$(ip netns exec "$1" ss "$flags" "sport = :$2" 2>/dev/null)" ]
}

# The guard: a detached watcher (own session, reparented away from this
# shell, so a process-tree kill of the test - ctest's timeout - or a Ctrl-C
# does not take it down) that
#  - sends SIGTERM to this shell once LAB_TIME_LIMIT seconds (default 240,
#    below ctest's 300) have passed, so the trap can clean up and say why;
#  - if this shell dies without cleaning up (SIGKILL), kills what runs in the
#    run's namespaces and deletes them - by the run's unique prefix only.
# lab_on_exit stops it after a normal cleanup.
LAB_GUARD_PID=
lab_start_guard() {
  LAB_GUARD_PID=$( (setsid bash -c '
    parent=$1 prefix=$2 tmp=$3 limit=$4 keep=$5 start=$SECONDS termed= nap=
    trap '"'"'[ -n "$nap" ] && kill "$nap" 2>/dev/null; exit 0'"'"' TERM
    while kill -0 "$parent" 2>/dev/null; do
      if [ -z "$termed" ] && [ $((SECONDS - start)) -ge "$limit" ]; then
        echo "[lab guard] time limit ${limit}s reached: SIGTERM to test shell $parent" >&2
        kill -TERM "$parent"; termed=$SECONDS
      elif [ -n "$termed" ] && [ $((SECONDS - termed)) -ge 30 ]; then
        kill -KILL "$parent"
      fi
      sleep 1 & nap=$!
      wait "$nap"
    done
    for ns in $(ip netns list | awk -v p="$prefix-" "index(\$1, p) == 1 { print \$1 }"); do
      pids=$(ip netns pids "$ns")
      [ -n "$pids" ] && kill -KILL $pids
      ip netns del "$ns"
    done
    [ -z "$keep" ] && [ -n "$tmp" ] && rm -rf "$tmp"
  ' lab-guard "$$" "$P" "$LAB_TMP" "${LAB_TIME_LIMIT:-240}" "${LAB_KEEP_TMP:-}" \
    </dev/null >/dev/null & echo $!) )
}

lab_on_signal() {
  log "interrupted by SIG$1"
  exit "$2"  # runs the EXIT trap
}

lab_on_exit() {
  local rc=$?
  trap - EXIT
  # A second Ctrl-C/SIGTERM must not cut the cleanup short.
  trap 'log "cleanup in progress, signal ignored"' INT TERM
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then lab_dump_logs; fi
  lab_cleanup || { [ "$rc" = 0 ] && rc=1; }
  if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ]; then
    if [ -n "${LAB_KEEP_TMP:-}" ]; then log "kept $LAB_TMP"; else rm -rf "$LAB_TMP"; fi
  fi
  # Cleanup done (or verified failed and reported): the guard is not needed.
  [ -n "$LAB_GUARD_PID" ] && kill -TERM "$LAB_GUARD_PID" 2>/dev/null
  if [ "$rc" = 0 ]; then log "PASS"; elif [ "$rc" != 77 ]; then log "FAILED (rc $rc)"; fi
  exit "$rc"
}

# ------------------------------------------------------------ processes ---

# Alive = exists and is not a zombie waiting to be reaped.
lab_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# lab_bg NS LOGFILE CMD...: start CMD in namespace NS in the background,
# stdout+stderr to LOGFILE, stdin from $LAB_STDIN (default /dev/null).
# ip netns exec execs CMD, so LAB_LAST_PID is CMD's own PID.
# File descriptors 7-9 are the tests' own (e.g. the write end of a fifo that
# feeds a process's stdin): they are closed in the child.
lab_bg() {
  local ns=$1 logfile=$2
  shift 2
  ip netns exec "$ns" "$@" <"${LAB_STDIN:-/dev/null}" >"$logfile" 2>&1 7>&- 8>&- 9>&- &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_wait_exit PID TIMEOUT: wait (bounded) for a process we started to end;
# its exit status lands in LAB_EXIT_RC. Returns 1 on timeout.
lab_wait_exit() {
  local pid=$1 timeout=$2 end
  end=$((SECONDS + timeout))
  while lab_alive "$pid"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  LAB_EXIT_RC=$?
  return 0
}

# lab_stop PID: SIGTERM, then SIGKILL after 5 s.
lab_stop() {
  local pid=$1
  lab_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  lab_wait_exit "$pid" 5 && return 0
  log "pid $pid ignored SIGTERM for 5 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  lab_wait_exit "$pid" 5
}

# Removes what this run made, by name/PID; then checks nothing is left.
lab_cleanup() {
  [ -n "$LAB_CLEANED" ] && return "$LAB_CLEANUP_RC"
  LAB_CLEANED=1
  local pid ns left end
  local -a alive=()
  for pid in "${LAB_PIDS[@]}"; do
    if lab_alive "$pid"; then kill -TERM "$pid" 2>/dev/null && alive+=("$pid"); fi
  done
  end=$((SECONDS + 5))
  for pid in "${alive[@]}"; do
    while lab_alive "$pid" && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
    if lab_alive "$pid"; then
      log "cleanup: pid $pid still alive after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  for pid in "${LAB_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${LAB_NS[@]}"; do
    # Anything still running inside our own namespace was started by this run.
    left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    if [ -n "${left// /}" ]; then
      log "cleanup: LEAK: processes left in $ns: $left"
      ps -o pid,args -p "${left// /,}" 2>/dev/null | sed 's/^/    /'
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null
      LAB_CLEANUP_RC=1
      sleep 0.2
    fi
    ip netns del "$ns" 2>/dev/null || { log "cleanup: could not delete namespace $ns"; LAB_CLEANUP_RC=1; }
  done
  # Verify: no namespace, interface or process of this run remains.
  if [ -n "$P" ]; then
    left=$(ip netns list 2>/dev/null | grep "^$P-" || true)
    [ -z "$left" ] || { log "cleanup: LEAK: namespaces left: $left"; LAB_CLEANUP_RC=1; }
    left=$(ip -o link show 2>/dev/null | grep -F "$P-" || true)
    [ -z "$left" ] || { log "cleanup: LEAK: interfaces in the root namespace: $left"; LAB_CLEANUP_RC=1; }
  fi
  for pid in "${LAB_PIDS[@]}"; do
    if lab_alive "$pid"; then log "cleanup: LEAK: pid $pid still alive"; LAB_CLEANUP_RC=1; fi
  done
  [ "$LAB_CLEANUP_RC" = 0 ] && log "cleanup: ${#LAB_NS[@]} namespaces and ${#LAB_PIDS[@]} processes of run $P removed, nothing left"
  return "$LAB_CLEANUP_RC"
}

# ------------------------------------------------------------- failures ---

lab_dump_logs() {
  [ -n "$LAB_DUMPED" ] && return 0
  LAB_DUMPED=1
  [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ] || return 0
  local f
  for f in "$LAB_TMP"/*.log; do
    [ -e "$f" ] || continue
    echo "----- $(basename "$f") (last 60 lines) -----"
    tail -n 60 "$f"
  done
  echo "----- end of logs -----"
}

fail() {
  log "FAIL: $*"
  lab_dump_logs
  exit 1
}

assert_eq() {  # assert_eq ACTUAL EXPECTED WHAT
  if [ "$1" != "$2" ]; then fail "$3: expected '$2', got '$1'"; fi
  log "ok: $3 = $1"
}

assert_ge() {  # assert_ge ACTUAL MIN WHAT
  if ! [ "$1" -ge "$2" ] 2>/dev/null; then fail "$3: expected >= $2, got '$1'"; fi
  log "ok: $3 = $1 (>= $2)"
}

# wait_for_log FILE PATTERN TIMEOUT [PID]: bounded poll for an extended regex
# in FILE; gives up early if PID (the writer) dies.
wait_for_log() {
  local file=$1 pattern=$2 timeout=$3 pid=${4:-} end
  end=$((SECONDS + timeout))
  until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
    if [ -n "$pid" ] && ! lab_alive "$pid"; then
      grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
      wait "$pid" 2>/dev/null
      local rc=$?
      echo "----- $file (last 30 lines) -----"; tail -n 30 "$file" 2>/dev/null
      fail "process $pid exited (status $rc$([ "$rc" -gt 128 ] && echo ", signal $((rc - 128))")) before /$pattern/ appeared in $(basename "$file")"
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      echo "----- $file (last 30 lines) -----"; tail -n 30 "$file" 2>/dev/null
      fail "timed out after ${timeout}s waiting for /$pattern/ in $(basename "$file")"
    fi
    sleep 0.1
  done
}

# ------------------------------------------------------------- topology ---

lab_ns_add() {  # lab_ns_add SHORTNAME -> namespace $P-SHORTNAME
  local ns=$P-$1
  ip netns add "$ns" || fail "cannot create namespace $ns"
  LAB_NS+=("$ns")
  ip -n "$ns" link set lo up || fail "lo up in $ns"
}

c_ns() { echo "$P-c$1"; }
c_underlay() { echo "172.31.$1.2"; }
srv_underlay() { echo "172.31.$1.1"; }

# lab_link I: veth $P-s<I> (in srv) <-> $P-c<I> (in client namespace I).
lab_link() {
  local i=$1 cns
  cns=$(c_ns "$i")
  ip -n "$SRV_NS" link add "$P-s$i" type veth peer name "$P-c$i" netns "$cns" || fail "veth for client $i"
  ip -n "$SRV_NS" addr add "$(srv_underlay "$i")/24" dev "$P-s$i" || fail "address on $P-s$i"
  ip -n "$cns" addr add "$(c_underlay "$i")/24" dev "$P-c$i" || fail "address on $P-c$i"
  ip -n "$SRV_NS" link set "$P-s$i" up || fail "up $P-s$i"
  ip -n "$cns" link set "$P-c$i" up || fail "up $P-c$i"
}

# lab_topology N: the server namespace and N client namespaces, star-wired.
lab_topology() {
  local n=$1 i
  log "topology: $SRV_NS + $n client namespaces (172.31.<i>.0/24 underlay links)"
  lab_ns_add srv
  for ((i = 1; i <= n; i++)); do
    lab_ns_add "c$i"
    lab_link "$i"
  done
  for ((i = 1; i <= n; i++)); do
    ip netns exec "$(c_ns "$i")" ping -c 1 -W 2 "$(srv_underlay "$i")" >/dev/null ||
      fail "underlay: client $i cannot reach $(srv_underlay "$i")"
  done
  lab_keygen
}

lab_keygen() {
  KEY=$LAB_TMP/xor.key
  [ -e "$KEY" ] && return 0
  "$VPNHOST" keygen "$KEY" >"$LAB_TMP/keygen.log" 2>&1 || { cat "$LAB_TMP/keygen.log"; fail "vpnhost keygen"; }
  [ -s "$KEY" ] || fail "vpnhost keygen wrote no key"
}

# --------------------------------------------------------------- vpnhost ---

# start_server [EXTRA ARGS...]: SRV_PID, log srv.log, stats srv.stats; waits
# until it listens on port 5000.
start_server() {
  log "starting server in $SRV_NS"
  lab_bg "$SRV_NS" "$LAB_TMP/srv.log" "$VPNHOST" --plugins "$SERVER_MANIFEST" \
    --set "cipher.key_file=$KEY" --stats-file "$LAB_TMP/srv.stats" --log-level "$LAB_LOG_LEVEL" "$@"
  SRV_PID=$LAB_LAST_PID
  local end=$((SECONDS + 15))
  until lab_listening "$SRV_NS" "$LAB_PORT"; do
    lab_alive "$SRV_PID" || fail "server exited during start-up"
    [ "$SECONDS" -ge "$end" ] && fail "server not listening on :$LAB_PORT after 15 s"
    sleep 0.1
  done
  log "server pid $SRV_PID listening on :$LAB_PORT"
}

# start_client I [EXTRA ARGS...]: a stock client in namespace c<I>.
start_client() {
  local i=$1
  shift
  local n=$((${CLIENT_STARTS[$i]:-0} + 1))
  CLIENT_STARTS[$i]=$n
  CLIENT_LOG[$i]=$LAB_TMP/c$i-$n.log
  CLIENT_ADDR[$i]=
  log "starting client $i in $(c_ns "$i") (device $P-t$i, server $(srv_underlay "$i"))"
  lab_bg "$(c_ns "$i")" "${CLIENT_LOG[$i]}" "$VPNHOST" --plugins "$CLIENT_MANIFEST" \
    --set "transport.connect=$(srv_underlay "$i")" --set "cipher.key_file=$KEY" \
    --set "device.name=$P-t$i" --stats-file "$LAB_TMP/c$i.stats" --log-level "$LAB_LOG_LEVEL" "$@"
  CLIENT_PID[$i]=$LAB_LAST_PID
}

# wait_client I [TIMEOUT]: waits for "assigned 10.10.0.N/24", sets
# CLIENT_ADDR[I], checks the TUN device carries the address.
wait_client() {
  local i=$1 timeout=${2:-15} addr
  wait_for_log "${CLIENT_LOG[$i]}" 'assigned 10\.10\.0\.[0-9]+/24' "$timeout" "${CLIENT_PID[$i]}"
  addr=$(grep -Eo 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[$i]}" | head -n 1 | sed 's/assigned //; s#/24##')
  ip -n "$(c_ns "$i")" -4 -o addr show dev "$P-t$i" 2>/dev/null | grep -q "inet $addr/24" ||
    fail "client $i: TUN $P-t$i does not carry $addr/24: $(ip -n "$(c_ns "$i")" -o addr 2>&1)"
  CLIENT_ADDR[$i]=$addr
  log "client $i has $addr on $P-t$i"
}

# ----------------------------------------------------------------- stats ---

# lab_stats PID FILE: SIGUSR1, wait (bounded) for FILE to be written again.
lab_stats() {
  local pid=$1 file=$2 end
  rm -f "$file"
  kill -USR1 "$pid" 2>/dev/null || fail "cannot signal pid $pid for stats"
  end=$((SECONDS + 5))
  until [ -s "$file" ]; do
    [ "$SECONDS" -ge "$end" ] && fail "no stats file $file 5 s after SIGUSR1 to $pid"
    sleep 0.05
  done
}

srv_stats() { lab_stats "$SRV_PID" "$LAB_TMP/srv.stats"; }

# stat_get FILE NAME [DEFAULT]: sets STAT to a counter's value; a missing
# counter is DEFAULT if given, else a failure. (Sets a variable rather than
# printing: fail() inside $(...) would only end a subshell.)
STAT=
stat_get() {
  STAT=$(awk -v n="$2" '$1 == n { print $2; exit }' "$1")
  if [ -z "$STAT" ]; then
    if [ $# -ge 3 ]; then STAT=$3; return 0; fi
    echo "----- $1 -----"; cat "$1"
    fail "counter $2 missing from $(basename "$1")"
  fi
}

# srv_stat NAME [DEFAULT]: fresh server snapshot; STAT = that counter.
srv_stat() {
  srv_stats
  stat_get "$LAB_TMP/srv.stats" "$@"
}

# wait_srv_stat NAME VALUE TIMEOUT: poll the server's counter until it equals VALUE.
wait_srv_stat() {
  local name=$1 want=$2 timeout=$3 end
  end=$((SECONDS + timeout))
  while :; do
    srv_stat "$name" 0
    [ "$STAT" = "$want" ] && { log "ok: server $name = $STAT"; return 0; }
    [ "$SECONDS" -ge "$end" ] && fail "server counter $name is $STAT, expected $want within ${timeout}s"
    sleep 0.2
  done
}

# ------------------------------------------------------------------ ping ---

# lab_ping NS DST COUNT [PING ARGS...]: must get every reply back (see lab_ping_wait,
# which it is: late replies on a loaded machine are not losses).
lab_ping() {
  lab_ping_wait "$@"
}

# ------------------------------------------- transfers through the tunnel ---

# lab_payload MIB: $LAB_TMP/send.bin = MIB MiB of random bytes.
lab_payload() {
  head -c $(($1 * 1024 * 1024)) /dev/urandom >"$LAB_TMP/send.bin" || fail "cannot write $1 MiB to send.bin"
}

# lab_recv_start NS TIMEOUT [LOGNAME]: a socat in NS (ended after TIMEOUT s)
# that writes the one TCP connection it takes on port 9000 to
# $LAB_TMP/recv.bin (removed first), log LOGNAME.log (default socat-recv);
# waits (bounded, 10 s) until it listens. RECV_PID is the socat.
RECV_PID=
lab_recv_start() {
  local ns=$1 timeout=$2 rlog=$LAB_TMP/${3:-socat-recv}.log end
  rm -f "$LAB_TMP/recv.bin"
  lab_bg "$ns" "$rlog" timeout "$timeout" socat -u TCP-LISTEN:9000,reuseaddr "CREATE:$LAB_TMP/recv.bin"
  RECV_PID=$LAB_LAST_PID
  end=$((SECONDS + 10))
  until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :9000' 2>/dev/null)" ]; do
    lab_alive "$RECV_PID" || fail "socat receiver exited: $(cat "$rlog")"
    [ "$SECONDS" -ge "$end" ] && fail "socat receiver not listening after 10 s"
    sleep 0.1
  done
}

# lab_check_received MIB [WHAT]: recv.bin is MIB MiB long and has send.bin's
# sha256 (WHAT prefixes the assertions' names).
lab_check_received() {
  local mib=$1 what=${2:+$2: }
  assert_eq "$(stat -c %s "$LAB_TMP/recv.bin")" $((mib * 1024 * 1024)) "${what}bytes received"
  assert_eq "$(sha256sum <"$LAB_TMP/recv.bin" | cut -d' ' -f1)" "$(sha256sum <"$LAB_TMP/send.bin" | cut -d' ' -f1)" \
    "${what}sha256 of the $mib MiB received"
}

# lab_transfer FROM_NS TO_NS TO_ADDR MIB [TIMEOUT [WHAT]]: MIB MiB of fresh
# random data (send.bin) from FROM_NS to TO_ADDR:9000 (a socat in TO_NS) over
# TCP; the sender must finish within TIMEOUT s (default 90), the receiver
# TIMEOUT/2 s after it, both exit 0, and recv.bin must be send.bin
# (lab_check_received). TRANSFER_SECS = the seconds it took ("%.2f").
TRANSFER_SECS=
lab_transfer() {
  local from=$1 to=$2 addr=$3 mib=$4 timeout=${5:-90} what=${6:-} t0 t1
  local w=${what:+$what: }
  lab_payload "$mib"
  lab_recv_start "$to" "$timeout" "socat-recv${what:+-$what}"
  log "${w}sending $mib MiB $from -> $addr:9000"
  t0=$(date +%s.%N)
  ip netns exec "$from" timeout "$timeout" socat -u "OPEN:$LAB_TMP/send.bin" "TCP:$addr:9000" ||
    fail "${w}socat sender failed"
  lab_wait_exit "$RECV_PID" $((timeout / 2)) || fail "${w}socat receiver did not finish"
  t1=$(date +%s.%N)
  assert_eq "$LAB_EXIT_RC" 0 "${w}socat receiver exit status"
  TRANSFER_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  log "${w}transfer took $TRANSFER_SECS s"
  lab_check_received "$mib" "$what"
}

# ------------------------------------------------------------------ ssh ---

# lab_start_sshd NS: an sshd on port 22 in NS with its own host key, config
# and authorized key ($LAB_TMP/id_ed25519 logs in as root), log sshd.log;
# waits (bounded, 10 s) until it listens. SSHD_PID is the sshd. The binary
# is $SSHD, else sshd on PATH, else /usr/sbin/sshd.
SSHD_PID=
lab_start_sshd() {
  local ns=$1 sshd=${SSHD:-$(command -v sshd || echo /usr/sbin/sshd)} end
  [ -x "$sshd" ] || lab_skip "sshd not found"
  ssh-keygen -q -t ed25519 -N '' -f "$LAB_TMP/ssh_host_ed25519_key" || fail "host key"
  ssh-keygen -q -t ed25519 -N '' -f "$LAB_TMP/id_ed25519" || fail "client key"
  cp "$LAB_TMP/id_ed25519.pub" "$LAB_TMP/authorized_keys"
  cat >"$LAB_TMP/sshd_config" <<CONF
Port 22
ListenAddress 0.0.0.0
HostKey $LAB_TMP/ssh_host_ed25519_key
PidFile $LAB_TMP/sshd.pid
AuthorizedKeysFile $LAB_TMP/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel VERBOSE
CONF
  # sshd wants /run/sshd (privilege separation). Rather than creating it on the
  # machine, give sshd a private mount namespace with its own tmpfs on /run.
  # ip -> unshare -> sh -> sshd all exec, so the recorded PID is sshd's.
  lab_bg "$ns" "$LAB_TMP/sshd.log" unshare -m --propagation private \
    sh -c 'mount -t tmpfs -o mode=755 lab-run /run && mkdir -m 755 /run/sshd && exec "$0" -D -e -f "$1"' \
    "$sshd" "$LAB_TMP/sshd_config"
  SSHD_PID=$LAB_LAST_PID
  end=$((SECONDS + 10))
  until [ -n "$(ip netns exec "$ns" ss -Hltn 'sport = :22' 2>/dev/null)" ]; do
    lab_alive "$SSHD_PID" || fail "sshd exited: $(cat "$LAB_TMP/sshd.log")"
    [ "$SECONDS" -ge "$end" ] && fail "sshd not listening after 10 s"
    sleep 0.1
  done
  log "sshd (pid $SSHD_PID) listening in $ns"
}

# lab_ssh NS ADDR CMD...: run CMD as root@ADDR over ssh from NS with the
# key lab_start_sshd made (bounded: 30 s); SSH_OUT = its output. A failed
# ssh fails the test.
SSH_OUT=
lab_ssh() {
  local ns=$1 addr=$2 rc
  shift 2
  SSH_OUT=$(ip netns exec "$ns" timeout 30 ssh -i "$LAB_TMP/id_ed25519" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
    "root@$addr" "$@" 2>"$LAB_TMP/ssh.log")
  rc=$?
  echo "    ssh said: $SSH_OUT"
  [ "$rc" = 0 ] || fail "ssh rc $rc: $(cat "$LAB_TMP/ssh.log")"
}

# ------------------------------------------- faults, churn: measurements ---

# lab_sanitized: true if $VPNHOST is built with AddressSanitizer. Its RSS is
# then mostly ASan's own (shadow memory, redzones, and a quarantine of freed
# memory, 256 MiB by default): memory bounds must allow for it.
lab_sanitized() { grep -aqm1 __asan_init "$VPNHOST" 2>/dev/null; }

# lab_asan_quarantine MB: under ASan, cap the quarantine of freed memory for
# the processes this run starts from now on (exported ASAN_OPTIONS), so RSS
# growth measures the program rather than the quarantine filling up.
lab_asan_quarantine() {
  lab_sanitized || return 0
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=$1"
  log "AddressSanitizer build: quarantine capped at $1 MiB for this run (ASAN_OPTIONS=$ASAN_OPTIONS)"
}

# lab_rss_kib PID: RSS = the process's VmRSS in KiB (from /proc/PID/status).
RSS=
lab_rss_kib() {
  RSS=$(awk '$1 == "VmRSS:" { print $2; exit }' "/proc/$1/status" 2>/dev/null)
  [ -n "$RSS" ] || fail "no VmRSS for pid $1"
}

# lab_fd_count PID: FDS = number of open file descriptors of PID.
FDS=
lab_fd_count() {
  FDS=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  [ "$FDS" -gt 0 ] || fail "cannot count the fds of pid $1"
}

# lab_rss_sampler NS PID FILE: a background sampler (in namespace NS, so the
# cleanup owns it) that appends "<ms> <VmRSS KiB>" of PID to FILE every
# 0.1 s while PID lives. LAB_LAST_PID is the sampler. lab_rss_peak FILE sets
# RSS to the largest sample.
lab_rss_sampler() {
  lab_bg "$1" "$3.err" bash -c '
    while [ -r "/proc/$1/status" ]; do
      r=$(awk '"'"'$1 == "VmRSS:" { print $2; exit }'"'"' "/proc/$1/status" 2>/dev/null) || break
      [ -n "$r" ] && echo "$(date +%s%3N) $r" >>"$2"
      sleep 0.1
    done' rss-sampler "$2" "$3"
}
lab_rss_peak() {
  RSS=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$1" 2>/dev/null)
  [ -n "$RSS" ] && [ "$RSS" -gt 0 ] || fail "no RSS samples in $(basename "$1")"
}

# lab_ifindex NS DEV: IFINDEX = the interface index of DEV in NS ("" if absent).
IFINDEX=
lab_ifindex() {
  IFINDEX=$(ip -n "$1" -o link show dev "$2" 2>/dev/null | cut -d: -f1)
}

# lab_assert_link_up NS DEV WHAT: DEV exists in NS and is administratively up.
lab_assert_link_up() {
  local line
  line=$(ip -n "$1" -o link show dev "$2" 2>&1) || fail "$3: $2 does not exist in $1: $line"
  grep -q '[<,]UP[,>]' <<<"$line" || fail "$3: $2 is not up: $line"
}

# client_assigned_count I: how many times client I's current log says "assigned".
client_assigned_count() {
  grep -Ec 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[$1]}" 2>/dev/null
}

# wait_client_assigned I N TIMEOUT: waits (bounded) until client I's log has
# its N-th "assigned 10.10.0.X/24" line (e.g. after a reconnect), sets
# CLIENT_ADDR[I] from the latest one and checks the TUN device carries it.
wait_client_assigned() {
  local i=$1 n=$2 timeout=$3 end addr
  end=$((SECONDS + timeout))
  while [ "$(client_assigned_count "$i")" -lt "$n" ]; do
    lab_alive "${CLIENT_PID[$i]}" || fail "client $i exited before its assignment #$n"
    if [ "$SECONDS" -ge "$end" ]; then
      echo "----- $(basename "${CLIENT_LOG[$i]}") (last 30 lines) -----"; tail -n 30 "${CLIENT_LOG[$i]}"
      fail "client $i: no assignment #$n within ${timeout}s"
    fi
    sleep 0.05
  done
  addr=$(grep -Eo 'assigned 10\.10\.0\.[0-9]+/24' "${CLIENT_LOG[$i]}" | tail -n 1 | sed 's/assigned //; s#/24##')
  end=$((SECONDS + 5))  # the device is updated right after the log line
  # (No "producer | grep -q" under pipefail: grep may exit before the
  # producer has written everything, and the producer's SIGPIPE fails the pipe.)
  until grep -q "inet $addr/24" <<<"$(ip -n "$(c_ns "$i")" -4 -o addr show dev "$P-t$i" 2>/dev/null)"; do
    [ "$SECONDS" -ge "$end" ] &&
      fail "client $i: TUN $P-t$i does not carry $addr/24: $(ip -n "$(c_ns "$i")" -o addr 2>&1)"
    sleep 0.05
  done
  CLIENT_ADDR[$i]=$addr
  log "client $i has $addr on $P-t$i (assignment #$n)"
}

# lab_ping_wait NS DST COUNT [PING ARGS...]: like lab_ping (every reply must
# come back), but waits for late replies: ping -w DEADLINE stops only when
# COUNT replies are in or the deadline passed. (With -c and -W, iputils ping
# gives up on the last request max(2 * the slowest RTT so far, the interval)
# after sending it - 50 ms here - so on a loaded machine, e.g. the sanitizer
# build under ctest -j, a reply merely late counts as lost.) With -w, ping
# may send a request more while one reply is late: every request sent must
# be answered, and at least COUNT.
lab_ping_wait() {
  local ns=$1 dst=$2 count=$3 out rc sent got
  shift 3
  log "ping $dst x$count from $ns"
  out=$(ip netns exec "$ns" ping -n -c "$count" -i 0.05 -w $((count / 10 + 5)) "$@" "$dst" 2>&1)
  rc=$?
  echo "$out" | tail -n 2 | sed 's/^/    /'
  [ "$rc" = 0 ] || fail "ping $dst from $ns failed (rc $rc): $(echo "$out" | tail -n 3)"
  sent=$(echo "$out" | grep -Eo '^[0-9]+ packets transmitted' | cut -d' ' -f1)
  got=$(echo "$out" | grep -Eo ', [0-9]+ received' | tr -dc 0-9)
  [ -n "$sent" ] && [ "$got" = "$sent" ] && [ "$got" -ge "$count" ] ||
    fail "ping $dst from $ns lost packets: $sent sent, $got received"
}
