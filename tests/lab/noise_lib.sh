# tests/lab/noise_lib.sh: helpers for the cipher_noise lab tests (sourced
# after lib.sh, whose start_server/start_client are for cipher_xor). With
# LAB_TRANSPORT=udp they use the secure UDP manifests (secure-*-udp).
SECURE_SERVER=$LAB_SOURCE_DIR/manifests/secure-server.manifest
SECURE_CLIENT=$LAB_SOURCE_DIR/manifests/secure-client.manifest
if [ "$LAB_TRANSPORT" = udp ]; then
  SECURE_SERVER=$LAB_SOURCE_DIR/manifests/secure-server-udp.manifest
  SECURE_CLIENT=$LAB_SOURCE_DIR/manifests/secure-client-udp.manifest
fi
declare -A PUB=()
noise_key() {  # noise_key NAME: $LAB_TMP/NAME.key (0600) and PUB[NAME], checked with vpnhost pubkey
  local n=$1
  "$VPNHOST" keygen "$LAB_TMP/$n.key" >"$LAB_TMP/$n.pub" 2>"$LAB_TMP/keygen-$n.err" || fail "keygen $n: $(cat "$LAB_TMP/keygen-$n.err")"
  PUB[$n]=$(cat "$LAB_TMP/$n.pub")
  [ ${#PUB[$n]} = 44 ] || fail "keygen $n printed '${PUB[$n]}', not a base64 public key"
  [ "$("$VPNHOST" pubkey <"$LAB_TMP/$n.key")" = "${PUB[$n]}" ] || fail "vpnhost pubkey disagrees with keygen for $n"
}
# noise_authorize NAME[=ADDR]...: keys for the server and each client
# (noise_key), and $LAB_TMP/authorized_clients (opening with a comment line)
# listing the clients, each with its fixed tunnel address ADDR if given.
noise_authorize() {
  local c n
  noise_key server
  echo "# lab clients" >"$LAB_TMP/authorized_clients"
  for c in "$@"; do
    n=${c%%=*}
    noise_key "$n"
    if [ "$n" = "$c" ]; then
      echo "${PUB[$n]} $n"
    else
      echo "${PUB[$n]} $n ${c#*=}"
    fi >>"$LAB_TMP/authorized_clients"
  done
}
noise_start_server() {  # like start_server, with the secure manifest
  log "starting secure $LAB_TRANSPORT server in $SRV_NS"
  lab_bg "$SRV_NS" "$LAB_TMP/srv.log" "$VPNHOST" --plugins "$SECURE_SERVER" \
    --set "cipher.private_key_file=$LAB_TMP/server.key" --set "cipher.authorized_clients=$LAB_TMP/authorized_clients" \
    --stats-file "$LAB_TMP/srv.stats" --log-level "$LAB_LOG_LEVEL" "$@"
  SRV_PID=$LAB_LAST_PID
  local end=$((SECONDS + 15))
  until lab_listening "$SRV_NS" "$LAB_PORT"; do
    lab_alive "$SRV_PID" || fail "server exited during start-up: $(tail -n 5 "$LAB_TMP/srv.log")"
    [ "$SECONDS" -ge "$end" ] && fail "server not listening on $LAB_TRANSPORT :$LAB_PORT after 15 s"
    sleep 0.1
  done
  log "server pid $SRV_PID listening on :$LAB_PORT"
}
# NOISE_WRAP: a command noise_start_client runs vpnhost under (e.g. prlimit
# ... setpriv ...), empty by default.
NOISE_WRAP=()
noise_start_client() {  # noise_start_client I KEYNAME [EXTRA ARGS...]: like start_client, secure manifest
  local i=$1 key=$2
  shift 2
  local n=$((${CLIENT_STARTS[$i]:-0} + 1))
  CLIENT_STARTS[$i]=$n
  CLIENT_LOG[$i]=$LAB_TMP/c$i-$n.log
  CLIENT_ADDR[$i]=
  log "starting secure $LAB_TRANSPORT client $i ($key) in $(c_ns "$i")"
  lab_bg "$(c_ns "$i")" "${CLIENT_LOG[$i]}" ${NOISE_WRAP[@]+"${NOISE_WRAP[@]}"} "$VPNHOST" --plugins "$SECURE_CLIENT" \
    --set "transport.connect=$(srv_underlay "$i")" --set "cipher.private_key_file=$LAB_TMP/$key.key" \
    --set "cipher.server_public_key=\"${PUB[server]}\"" --set "device.name=$P-t$i" \
    --stats-file "$LAB_TMP/c$i.stats" --log-level "$LAB_LOG_LEVEL" "$@"
  CLIENT_PID[$i]=$LAB_LAST_PID
}
