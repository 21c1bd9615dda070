#!/usr/bin/env bash
# cipher_noise keeps its keys in locked memory (vpnsdk/secret.hpp):
#  - the server and a client each log "keys in locked memory (N KiB)" at
#    start, and the kernel agrees: VmLck of the running process is at least
#    N KiB, also after a handshake and traffic;
#  - a client without CAP_IPC_LOCK and with RLIMIT_MEMLOCK 0 (setpriv,
#    prlimit: as a service whose limit is too small) warns once, naming
#    RLIMIT_MEMLOCK and the fix, has nothing locked, and works all the same.
source "$(dirname "$0")/lib.sh"
lab_init noise_locked_keys
lab_require_tools setpriv prlimit
source "$(dirname "$0")/noise_lib.sh"

vmlck() { awk '/^VmLck:/ { print $2 }' "/proc/$1/status"; }
locked_logged() { grep -Eo 'keys in locked memory \([0-9]+ KiB\)' "$1" | head -n 1 | grep -Eo '[0-9]+'; }

lab_topology 2
noise_authorize alice bob
noise_start_server
noise_start_client 1 alice
wait_client 1
lab_ping "$(c_ns 1)" 10.10.0.1 5

for who in server alice; do
  if [ "$who" = server ]; then pid=$SRV_PID log_file=$LAB_TMP/srv.log; else pid=${CLIENT_PID[1]} log_file=${CLIENT_LOG[1]}; fi
  kib=$(locked_logged "$log_file")
  [ -n "$kib" ] || fail "$who: no 'keys in locked memory' line: $(grep -i 'locked' "$log_file" | head -n 3)"
  assert_ge "$kib" 8 "$who: KiB of key memory cipher_noise locked at start"
  assert_ge "$(vmlck "$pid")" "$kib" "$who: VmLck of pid $pid (KiB), after a handshake and traffic"
  grep -q "keys are not all in locked memory" "$log_file" && fail "$who warns about unlocked keys"
done

# --- no CAP_IPC_LOCK, RLIMIT_MEMLOCK 0: unlocked, said once, still working ---
NOISE_WRAP=(prlimit --memlock=0:0 setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock)
noise_start_client 2 bob
NOISE_WRAP=()
wait_client 2
lab_ping "$(c_ns 2)" 10.10.0.1 5
lab_ping "$(c_ns 2)" "${CLIENT_ADDR[1]}" 5
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/${CLIENT_PID[2]}/status")
[ -n "$capeff" ] && [ $(( (0x$capeff >> 14) & 1 )) = 0 ] || fail "bob's client has CAP_IPC_LOCK (CapEff $capeff)"
assert_eq "$(vmlck "${CLIENT_PID[2]}")" 0 "bob: VmLck (KiB) without CAP_IPC_LOCK under RLIMIT_MEMLOCK 0"
warn=$(grep "keys are not all in locked memory" "${CLIENT_LOG[2]}")
assert_eq "$(grep -c "keys are not all in locked memory" "${CLIENT_LOG[2]}")" 1 "bob: warnings about unlocked keys"
for want in "warn" "RLIMIT_MEMLOCK is 0 KiB" "Operation not permitted" "LimitMEMLOCK=" "ulimit -l"; do
  grep -qF -- "$want" <<<"$warn" || fail "bob's warning does not say '$want': $warn"
done
[ -z "$(locked_logged "${CLIENT_LOG[2]}")" ] || fail "bob claims locked keys: $(locked_logged "${CLIENT_LOG[2]}")"
log "bob: $warn"
