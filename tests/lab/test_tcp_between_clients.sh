#!/usr/bin/env bash
# TCP between clients through the hub: ssh from c1 to an sshd in c2's
# namespace (own keys and config in the run's temp dir), then a 20 MiB
# transfer c1 -> c2 with socat whose sha256 must match.
source "$(dirname "$0")/lib.sh"
lab_init tcp_between_clients
lab_require_tools ssh ssh-keygen socat sha256sum unshare
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || lab_skip "sshd not found"
lab_topology 2
start_server
start_client 1
start_client 2
wait_client 1
wait_client 2
c2=${CLIENT_ADDR[2]}

# --- ssh -------------------------------------------------------------------
lab_start_sshd "$(c_ns 2)"
log "ssh from c1 to root@$c2"
lab_ssh "$(c_ns 1)" "$c2" echo hello-from-c2
assert_eq "$SSH_OUT" hello-from-c2 "ssh output"
grep -q "Accepted publickey for root from ${CLIENT_ADDR[1]}" "$LAB_TMP/sshd.log" ||
  fail "sshd did not log the login from c1's tunnel address ${CLIENT_ADDR[1]}"
log "ok: sshd saw the login come from ${CLIENT_ADDR[1]}"

# --- 20 MiB over TCP ------------------------------------------------------
lab_transfer "$(c_ns 1)" "$(c_ns 2)" "$c2" 20 90
