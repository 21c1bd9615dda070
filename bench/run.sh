#!/usr/bin/env bash
# bench/run.sh [--quick] [bench.py options]: the vpnhost benchmark (issue 8).
# See bench/README.md. Needs root; everything runs in network namespaces
# named vb<pid>-*, removed on every exit path:
#  - bench.py cleans up what it started (try/finally, signals handled);
#  - this wrapper forwards INT/TERM/HUP to it and, once it has ended (also by
#    SIGKILL), removes whatever is left under the run's prefix;
#  - a detached guard ends the run after a time limit (40 min; --quick 10)
#    and, if this wrapper itself is killed, removes the run's namespaces,
#    their processes and its wireguard sockets - by the prefix only.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for arg in "$@"; do
  case $arg in -h|--help) exec python3 "$here/bench.py" --help ;; esac
done
if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root (network namespaces, TUN devices): sudo $0 $*" >&2
  exit 2
fi
[ -c /dev/net/tun ] || { echo "bench: needs /dev/net/tun" >&2; exit 2; }
# One command: the opponents (OpenVPN, wireguard-go, iperf3, ...) come from
# Debian's packages; install-deps.sh runs apt-get only when one is missing.
bash "$here/install-deps.sh" || { echo "bench: installing the benchmark's packages failed" >&2; exit 2; }
missing=()
for t in ip ping ss iperf3 openvpn wireguard-go wg openssl nft python3; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: missing tools: ${missing[*]} (run bench/install-deps.sh)" >&2
  exit 2
fi

P="vb$$"
for s in "" a b c d e f g h; do
  if ! ip netns list | grep -q "^vb$$$s-"; then P="vb$$$s"; break; fi
done
limit=2400
BENCH_KEEP_TMP=
for arg in "$@"; do
  [ "$arg" = --quick ] && limit=600
  [ "$arg" = --keep-tmp ] && BENCH_KEEP_TMP=1
done
export BENCH_KEEP_TMP

# Removes what is left of run $P (namespaces, processes in them, wg sockets).
# Also the guard's body (as a function exported to it).
bench_sweep() {
  local prefix=$1 ns pids f
  for ns in $(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }'); do
    pids=$(ip netns pids "$ns")
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  for f in /var/run/wireguard/"$prefix"-*.sock; do
    [ -e "$f" ] && rm -f "$f"
  done
  # bench.py's temp folder (keys, logs) if it could not remove it itself
  [ -z "${BENCH_KEEP_TMP:-}" ] && rm -rf /tmp/"$prefix"-bench.*
  return 0
}
export -f bench_sweep

guard_pid=$( (setsid bash -c '
  parent=$1 prefix=$2 limit=$3 start=$SECONDS termed= nap=
  trap '"'"'[ -n "$nap" ] && kill "$nap" 2>/dev/null; exit 0'"'"' TERM
  while kill -0 "$parent" 2>/dev/null; do
    if [ -z "$termed" ] && [ $((SECONDS - start)) -ge "$limit" ]; then
      echo "[bench guard] time limit ${limit}s reached: SIGTERM to $parent" >&2
      kill -TERM "$parent"; termed=$SECONDS
    elif [ -n "$termed" ] && [ $((SECONDS - termed)) -ge 60 ]; then
      kill -KILL "$parent"
    fi
    sleep 1 & nap=$!
    wait "$nap"
  done
  bench_sweep "$prefix"
' bench-guard "$$" "$P" "$limit" </dev/null >/dev/null 2>&1 & echo $!) )

child=
forward() {
  [ -n "$child" ] && kill "-$1" "$child" 2>/dev/null
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP

python3 "$here/bench.py" --prefix "$P" "$@" &
child=$!
rc=
while :; do
  wait "$child"
  rc=$?
  # wait returns early (>128) when a trapped signal arrives; the child lives on.
  kill -0 "$child" 2>/dev/null || break
done
bench_sweep "$P"
left=$(ip netns list | grep "^$P-" || true)
[ -n "$left" ] && { echo "bench: LEAK: namespaces left: $left" >&2; rc=1; }
kill -TERM "$guard_pid" 2>/dev/null
exit "$rc"
