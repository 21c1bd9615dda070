#!/usr/bin/env bash
# bench/dos.sh [options]: what each denial-of-service flood of issue 15 does
# to a vpnhost server, measured with the flood and without it in the same
# run (bench/README.md, "Denial of service"). Not a test: it prints figures.
#
#   --rate N        datagrams a second of the big floods (default 20000; at
#                   most 50000, attack.py's cap)
#   --runs N        runs of 5 connects per flood (default 5)
#   --ciphers LIST  xor,noise (default both: stock and secure UDP manifests)
#   --floods LIST   a subset of: none,hello512,forged-hello,forged-init,from-newcomer,index-junk,log,amp
#   --quick         --runs 1
#   --out DIR       where table.md and the logs go (default bench/out/dos-<date-time>)
#
# Needs root and /dev/net/tun; builds on tests/lab/lib.sh (namespaces named
# vh<pid>-*, removed on every exit path, a guard after 15 minutes) and
# tests/lab/attack.py (every flood bounded in rate, time and count).
#
# For each cipher and flood a fresh server (default settings, log level
# info) with alice (client 1) connected; mallory (client 2) floods; carol
# (client 3) connects RUNS x 5 times while it lasts. Figures per row:
#   connect     carol's time from start to "assigned" in her log: median and
#               max over the connects, and how many runs of 5 had every
#               connect under 1 s (a connect not done in CONNECT_WAIT s
#               counts as failed; after 3 failed ones the row stops trying)
#   pings lost  alice's pings (200, 50 ms apart) during the flood
#   CPU         the server's utime+stime (/proc/PID/stat) over the flood
#               window / the window's length, in % of one core
#   RSS         the server's peak VmRSS during the flood (sampled every 0.1 s)
#   out/in      bytes the server sent to unproven addresses (mallory's own,
#               the forged range) / bytes it received from them on its port
#               (nftables counters in its namespace); goal <= 1
#   log/s       lines the server logged a second during the flood: mean,
#               and the most in any one second
#   alice       whether alice's session (id and endpoint) survived the flood
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
RATE=20000 RUNS=5 CIPHERS=xor,noise FLOODS=none,hello512,forged-hello,forged-init,from-newcomer,index-junk,log,amp OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --rate) RATE=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --ciphers) CIPHERS=$2; shift ;;
    --floods) FLOODS=$2; shift ;;
    --quick) RUNS=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dos.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$RATE" -le 50000 ] 2>/dev/null || { echo "dos.sh: --rate is at most 50000" >&2; exit 2; }
OUT=${OUT:-$root/bench/out/dos-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || exit 2

export LAB_TRANSPORT=udp VPNHOST_SOURCE_DIR=$root
export LAB_TIME_LIMIT=900
source "$root/tests/lab/lib.sh"
lab_init dos
source "$root/tests/lab/noise_lib.sh"
source "$root/tests/lab/attack_lib.sh"
# shellcheck disable=SC2034  # lib.sh's start_server uses it
LAB_LOG_LEVEL=info
CONNECT_WAIT=10
ATTACK_PY=$root/tests/lab/attack.py
attack_topology 3
ns1=$(c_ns 1) ns2=$(c_ns 2)
srv=$(srv_underlay 2)
log "rate $RATE/s, $RUNS run(s) of 5 connects per flood, ciphers $CIPHERS, floods $FLOODS; output $OUT"
ROWS=()
INDEX=0

fresh_server() {
  [ -n "${CLIENT_PID[1]:-}" ] && lab_stop "${CLIENT_PID[1]}"
  attack_stop_server
  attack_server
  attack_client 1
  wait_client 1 20
  lab_ping "$ns1" 10.10.0.1 5
}

cpu_ticks() {  # cpu_ticks PID: utime+stime in clock ticks
  awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# learn_index: INDEX = alice's session index (an on-path observer on the server's veth).
learn_index() {
  local clog=$LAB_TMP/capture-$RANDOM.log cap
  lab_bg "$SRV_NS" "$clog" python3 "$ATTACK_PY" capture-index "$P-s1" "$LAB_PORT" --client "$(c_underlay 1)" --timeout 15
  cap=$LAB_LAST_PID
  wait_for_log "$clog" 'capturing on' 10 "$cap"
  ip netns exec "$ns1" ping -n -c 3 -i 0.2 10.10.0.1 >/dev/null 2>&1
  lab_wait_exit "$cap" 15 || fail "no index of alice seen"
  INDEX=$(awk '/^index / { print $2 }' "$clog")
}

# flood_cmds CIPHER FLOOD: FLOOD_CMDS = lines of attack.py flood arguments
# (one flood process each; empty for "none").
flood_cmds() {
  local c=$1 f=$2 q=$((RATE / 4)) pub="${PUB[server]:-}"
  FLOOD_CMDS=()
  case "$c/$f" in
    */none) ;;
    xor/hello512) FLOOD_CMDS=("--type hello --index 0 --body hello-xor --xor-key $KEY --ports 512 --rate $RATE") ;;
    noise/hello512) FLOOD_CMDS=("--type hello --index 0 --body random:12 --ports 512 --rate $RATE") ;;
    xor/forged-hello) FLOOD_CMDS=("--type hello --index 0 --body hello-xor --xor-key $KEY --spoof-range $FORGED_RANGE --rate $RATE") ;;
    noise/forged-hello) FLOOD_CMDS=("--type hello --index 0 --body random:12 --spoof-range $FORGED_RANGE --rate $RATE") ;;
    noise/forged-init) FLOOD_CMDS=("--type handshake --index 0 --noise-version $NOISE_VERSION --body noise-init:unknown --pool 64 --server-pub $pub --spoof-range $FORGED_RANGE --rate $RATE") ;;
    noise/from-newcomer) FLOOD_CMDS=("--type handshake --index 0 --noise-version $NOISE_VERSION --body noise-init:unknown --pool 64 --server-pub $pub --spoof-range $(c_underlay 3)/32 --rate 400") ;;
    xor/amp)
      FLOOD_CMDS=("--type hello --index 0 --body hello-xor-v:2 --xor-key $KEY --spoof-range $FORGED_RANGE --rate 200"
        "--type hello --index 0 --body hello-xor --xor-key $KEY --spoof-range $FORGED_RANGE --rate 200") ;;
    noise/amp) FLOOD_CMDS=("--type handshake --index 0 --noise-version $NOISE_VERSION --body noise-init:unknown --pool 64 --server-pub $pub --spoof-range $FORGED_RANGE --rate 400") ;;
    xor/index-junk)
      FLOOD_CMDS=("--type data --index $INDEX --body random:60 --ports 16 --rate $((RATE / 2))"
        "--type handshake --index $INDEX --body seq:1 --ports 16 --rate $((RATE / 2))") ;;
    noise/index-junk)
      FLOOD_CMDS=("--type data --index $INDEX --body prefixed:00:59 --ports 16 --rate $((RATE / 2))"
        "--type handshake --index $INDEX --body random:$INIT_SIZE --ports 16 --rate $q"
        "--type handshake --index $INDEX --noise-version $NOISE_VERSION --body noise-init:unknown --pool 64 --server-pub $pub --ports 16 --rate $q") ;;
    xor/log)
      FLOOD_CMDS=("--type hello --index 0 --body hello-xor --xor-key $KEY --spoof-range $FORGED_RANGE --rate $q"
        "--type hello --index 0 --body hello-xor-v:2 --xor-key $KEY --spoof-range $FORGED_RANGE --rate $q"
        "--type hello --index 0 --body random:12 --spoof-range $FORGED_RANGE --rate $q"
        "--body garbage:0 --ports 64 --rate $q") ;;
    noise/log)
      FLOOD_CMDS=("--type handshake --index 0 --noise-version $NOISE_VERSION --body noise-init:unknown --pool 64 --server-pub $pub --spoof-range $FORGED_RANGE --rate $q"
        "--body datagram:$LAB_TMP/alice-init.bin --spoof-range $FORGED_RANGE --rate $q"
        "--type handshake --index 0 --body random:$INIT_SIZE --spoof-range $FORGED_RANGE --rate $q"
        "--body garbage:0 --ports 64 --rate $q") ;;
    *) return 1 ;;
  esac
}

# row CIPHER FLOOD: one row of the table.
row() {
  local c=$1 f=$2 k run fp=() cmd t0 t1 ticks0 ticks1 lines0 lines1 in0 out0 victim pinglog ok_runs=0 failed=0 sent
  local times=() all_ms=()
  ATTACK_CIPHER=$c
  flood_cmds "$c" "$f" || { log "($c has no flood $f)"; return 0; }
  log "=== $c: $f"
  if [ "$c/$f" = noise/log ]; then
    # alice's initiation, captured while she connects, for the replays
    [ -n "${CLIENT_PID[1]:-}" ] && lab_stop "${CLIENT_PID[1]}"
    attack_stop_server
    attack_server
    lab_bg "$SRV_NS" "$LAB_TMP/capture-init.log" python3 "$ATTACK_PY" capture-index "$P-s1" "$LAB_PORT" \
      --client "$(c_underlay 1)" --timeout 20 --save-init "$LAB_TMP/alice-init.bin"
    local cap=$LAB_LAST_PID
    wait_for_log "$LAB_TMP/capture-init.log" 'capturing on' 10 "$cap"
    attack_client 1
    wait_client 1 20
    lab_wait_exit "$cap" 20 || fail "no initiation of alice captured"
  else
    fresh_server
  fi
  [ "$f" = index-junk ] && { learn_index; flood_cmds "$c" "$f"; }
  session_of "$(c_underlay 1)"
  victim=$SESSION
  attack_unproven_bytes
  in0=$UNPROVEN_IN out0=$UNPROVEN_OUT
  for cmd in "${FLOOD_CMDS[@]}"; do
    # shellcheck disable=SC2086
    lab_bg "$ns2" "$LAB_TMP/flood-$c-$f-${#fp[@]}.log" python3 "$ATTACK_PY" flood "$srv" "$LAB_PORT" --duration 60 $cmd
    fp+=("$LAB_LAST_PID")
  done
  [ ${#fp[@]} -gt 0 ] && sleep 1  # at full rate
  t0=$(date +%s%N)
  ticks0=$(cpu_ticks "$SRV_PID")
  lines0=$(wc -l <"$LAB_TMP/srv.log")
  rm -f "$LAB_TMP/rss-$c-$f"
  lab_rss_sampler "$SRV_NS" "$SRV_PID" "$LAB_TMP/rss-$c-$f"
  local sampler=$LAB_LAST_PID
  pinglog=ping-$c-$f
  ping_start "$ns1" 10.10.0.1 200 0.05 "$pinglog"
  for ((run = 1; run <= RUNS && failed < 3; run++)); do
    local run_ok=1
    for ((k = 1; k <= 5 && failed < 3; k++)); do
      connect_times 1 "$CONNECT_WAIT"
      times+=("$CONNECT_TIMES")
      all_ms+=("$CONNECT_MAX_MS")
      [ "$CONNECT_MAX_MS" -lt 1000 ] || run_ok=
      [ "$CONNECT_MAX_MS" -gt $((CONNECT_WAIT * 1000)) ] && failed=$((failed + 1))
    done
    [ -n "$run_ok" ] && [ "$k" -gt 5 ] && ok_runs=$((ok_runs + 1))
  done
  ping_result "$pinglog"
  ticks1=$(cpu_ticks "$SRV_PID")
  t1=$(date +%s%N)
  lines1=$(wc -l <"$LAB_TMP/srv.log")
  session_of "$(c_underlay 1)"
  local survived=yes
  [ "$SESSION" = "$victim" ] || survived=no
  for k in "${fp[@]}"; do kill -TERM "$k" 2>/dev/null; done
  for k in "${fp[@]}"; do lab_wait_exit "$k" 10; done
  lab_stop "$sampler"
  attack_unproven_bytes
  lab_rss_peak "$LAB_TMP/rss-$c-$f"
  local secs rin=$((UNPROVEN_IN - in0)) rout=$((UNPROVEN_OUT - out0)) hz ratio cpu srate
  hz=$(getconf CLK_TCK)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  cpu=$(awk -v t=$((ticks1 - ticks0)) -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
  ratio=$( [ "$rin" -gt 0 ] && awk -v o="$rout" -v i="$rin" 'BEGIN { printf "%.2f", o / i }' || echo "-")
  srate=0
  for k in "$LAB_TMP"/flood-"$c"-"$f"-*.log; do
    [ -e "$k" ] || continue
    sent=$(grep -Eo '\([0-9]+/s\)' "$k" | tail -n 1 | tr -dc 0-9)
    srate=$((srate + ${sent:-0}))
  done
  local stats n=${#all_ms[@]}
  stats=$(printf '%s\n' "${all_ms[@]}" | sort -n | awk -v w="$CONNECT_WAIT" '
    { a[NR] = $1 } END {
      med = a[int((NR + 1) / 2)]; max = a[NR]
      printf "%s / %s", (med > w * 1000 ? ">" w : sprintf("%.2f", med / 1000)), (max > w * 1000 ? ">" w : sprintf("%.2f", max / 1000))
    }')
  local lograte peak
  lograte=$(awk -v n=$((lines1 - lines0)) -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  peak=$(sed -n "$((lines0 + 1)),${lines1}p" "$LAB_TMP/srv.log" | cut -c1-19 | grep -E '^[0-9]{4}-' | uniq -c |
    awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }')
  log "$c $f: connects (s): ${times[*]}"
  ROWS+=("| $c | $f | ${srate}/s | $stats | $ok_runs of $RUNS | $n | $PING_LOST of $PING_SENT | $cpu % | $((RSS / 1024)) MiB | $ratio | $lograte / $peak | $survived |")
  log "${ROWS[-1]}"
  cp "$LAB_TMP/srv.log" "$OUT/srv-$c-$f.log" 2>/dev/null
}

IFS=, read -r -a cipher_list <<<"$CIPHERS"
IFS=, read -r -a flood_list <<<"$FLOODS"
for c in "${cipher_list[@]}"; do
  for f in "${flood_list[@]}"; do row "$c" "$f"; done
done

{
  echo "vpnhost denial-of-service figures, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "flood rate $RATE/s (log flood: 4 floods of $((RATE / 4))/s), $RUNS run(s) of 5 connects per row"
  echo
  echo "| cipher | flood | sent | connect s (median / max) | runs all < 1 s | connects | alice's pings lost | server CPU | server RSS (peak) | out/in bytes, unproven | log lines/s (mean / peak second) | alice's session kept |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/table.md"
log "table written to $OUT/table.md"
