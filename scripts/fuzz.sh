#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, replays
# every regression input in fuzz/regressions/<target>/, then fuzzes each
# target for a bounded time from a temporary copy of its seed corpus (the
# repository is never modified). Exits non-zero on any finding, printing
# the crashing input and the command that reproduces it.
#
#   bash scripts/fuzz.sh                      # every target, 30 s each (10 targets, 2 at a time: ~2.5 min)
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh fuzz_frames
#
# Environment: FUZZ_SECONDS (default 30) per target; FUZZ_JOBS targets at
# once (default: 2, at most nproc); FUZZ_BUILD_DIR (default build-fuzz);
# FUZZ_KEEP=1 keeps the work directory (grown corpora, logs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets=(fuzz_frames fuzz_protocol fuzz_ipv4_echo fuzz_manifest fuzz_control_request fuzz_metrics_http
  fuzz_noise_handshake fuzz_noise_transport fuzz_udp_datagram fuzz_datapath)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
jobs=${FUZZ_JOBS:-2}
[ "$jobs" -gt "$(nproc)" ] && jobs=$(nproc)

# -max_len per target: a few frames / a jumbo IPv4 packet / a body / a
# manifest / a request line / an HTTP request head / a few dozen operations
# or datagrams.
max_len_of() {
  case "$1" in
    fuzz_frames) echo 16384 ;;
    fuzz_ipv4_echo) echo 9218 ;;
    fuzz_protocol) echo 1024 ;;
    fuzz_manifest) echo 4096 ;;
    fuzz_control_request) echo 1024 ;;
    fuzz_metrics_http) echo 8192 ;;
    fuzz_noise_handshake) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in *" $t "*) ;; *) echo "fuzz.sh: unknown target '$t' (${all_targets[*]})" >&2; exit 2 ;; esac
done
for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (bash scripts/install-deps.sh)" >&2; exit 1; }
done

start=$(date +%s)
echo "=== fuzz: build (${build#"$root"/})"
export CCACHE_BASEDIR="$root"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja "${launcher[@]}" \
  -DVPNHOST_FUZZ=ON -DVPNHOST_TESTS=OFF -DVPNHOST_SANITIZE=OFF >/dev/null
# Only the fuzz targets: the rest of the tree is not needed (nor built) here.
if ! ninja -C "$build" -j"$(nproc)" "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  grep -v '^\[' "$build/fuzz-build.log" >&2 || true
  echo "fuzz.sh: building the fuzz targets failed" >&2
  exit 1
fi
grep -v -e '^\[' -e '^ninja: Entering' "$build/fuzz-build.log" || true
echo "fuzz: built in $(( $(date +%s) - start )) s"

work=$(mktemp -d "${TMPDIR:-/tmp}/vpnhost-fuzz.XXXXXX")
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
  echo "fuzz: work directory $work (kept)"
else
  trap 'rm -rf "$work"' EXIT
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Symbolized stacks when llvm-symbolizer is installed (package llvm).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi

failed=()
report() {  # target log input [new]
  local t=$1 log=$2 input=$3 new=${4:-}
  echo "--- $t: FINDING"
  grep -E 'ERROR: |runtime error|invariant broken|uncaught exception|SUMMARY' "$log" | head -20 || true
  if [ -n "$input" ]; then
    echo "    crashing input: $input"
    echo "    reproduce:      $build/fuzz/$t $input"
    [ -n "$new" ] && echo "    once understood: cp $input $root/fuzz/regressions/$t/<short-name>"
  fi
  echo "    full log:       $log"
  case " ${failed[*]} " in *" $t "*) ;; *) failed+=("$t") ;; esac
}

echo "=== fuzz: regressions"
for t in "${targets[@]}"; do
  inputs=()
  if [ -d "fuzz/regressions/$t" ]; then
    while IFS= read -r -d '' f; do inputs+=("$f"); done \
      < <(find "fuzz/regressions/$t" -type f ! -name '.*' ! -name '*.md' -print0 | sort -z)
  fi
  if [ ${#inputs[@]} -eq 0 ]; then
    echo "$t: no regression inputs"
    continue
  fi
  mkdir -p "$build/findings/$t"
  log="$build/findings/$t/regressions.log"
  if "$build/fuzz/$t" -runs=1 "${inputs[@]}" >"$log" 2>&1; then
    echo "$t: ${#inputs[@]} regression input(s) pass"
  else
    bad=$(grep -oE 'Running: .*' "$log" | tail -1 | sed 's/^Running: //')
    report "$t" "$log" "$root/$bad"
  fi
done

echo "=== fuzz: ${seconds} s per target, $jobs at a time"
run_one() {  # target -> writes $work/<t>.log and $work/<t>.rc
  local t=$1 corpus="$work/corpus/$1" dict=()
  mkdir -p "$corpus" "$work/artifacts/$t"
  cp -r "fuzz/corpus/$t/." "$corpus/"
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  set +e
  "$build/fuzz/$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" \
    >"$work/$t.log" 2>&1
  echo $? >"$work/$t.rc"
}
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
for p in "${pids[@]}"; do wait "$p" || true; done

for t in "${targets[@]}"; do
  log="$work/$t.log"
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 99)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo "?")
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | sed 's/corp: //' || true)
  printf '%-15s rc=%s runs=%s exec/s=%s cov=%s ft=%s corpus=%s\n' "$t" "$rc" "$execs" "$speed" "$cov" "$ft" "$corp"
  if [ "$rc" != 0 ]; then
    input=$(find "$work/artifacts/$t" -type f | head -1)
    if [ -n "$input" ]; then
      keep="$build/findings/$t"
      mkdir -p "$keep"
      cp "$input" "$keep/"
      input="$keep/$(basename "$input")"
      cp "$log" "$keep/$(basename "$input").log"
      log="$keep/$(basename "$input").log"
    fi
    report "$t" "$log" "$input" new
  fi
done

echo "fuzz: total $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "=== fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "=== fuzz: no findings (${targets[*]})"
