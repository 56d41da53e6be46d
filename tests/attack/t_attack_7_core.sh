# Attack suite, issue 15 item 7: nothing readable is left behind. After a
# mixed load of tokenizations (large headers, keep-alive and not, some
# refused), a core of vaultd taken by root (gcore, as a debugger or a crash
# dump would) holds no card number and no CVC: not the digits, not the raw
# JSON body, not a CVC in its JSON context. Sourced by tests/integration/run.sh
# (helpers: fail, eq, TMP, EXP_YEAR, STRONGROOM_PK).
#
# The vaultd is a fresh process started as scripts/up.sh starts it (binary
# and --config, only the ports moved), so the core holds this load alone. It
# is the plain build (glibc's allocator, the production path) even when the
# suite runs the ASan build: a core of an ASan process is its shadow memory
# too, tens of GiB.

# luhn_pan PREFIX LENGTH: a random Luhn-valid number (ISO/IEC 7812-1 Annex B).
luhn_pan() {
  local p=$1 len=$2 sum=0 i d n
  while [ ${#p} -lt $((len - 1)) ]; do p+=$((RANDOM % 10)); done
  n=${#p}
  for ((i = 0; i < n; i++)); do
    d=${p:n-1-i:1}
    if ((i % 2 == 0)); then d=$((d * 2)); ((d > 9)) && d=$((d - 9)); fi
    sum=$((sum + d))
  done
  echo "$p$(((10 - sum % 10) % 10))"
}

# core_load URL: the mixed load; sets CORE_PANS and CORE_CVCS (what to look
# for) and CORE_CODES (the statuses).
core_load() {
  local url=$1 i k pan cvc body yr pad args=() batch pids=()
  CORE_PANS=() CORE_CVCS=()
  pad=$(head -c 4096 /dev/zero | tr '\0' 'h')
  for batch in 0 1 2 3; do
    args=()
    for i in 0 1 2 3 4 5; do
      k=$((batch * 6 + i))
      if ((k % 3 == 2)); then
        pan=$(luhn_pan 37 15); cvc=$((1000 + RANDOM % 9000))   # American Express: 4-digit CVC
      else
        pan=$(luhn_pan 4 16); cvc=$((200 + RANDOM % 700))      # Visa
      fi
      yr=$EXP_YEAR
      case $((k % 6)) in
        4) yr=2001 ;;                                          # refused: expired_card
        5) pan=${pan%?}$(((${pan: -1} + 1) % 10)) ;;          # refused: fails Luhn
      esac
      CORE_PANS+=("$pan"); CORE_CVCS+=("$cvc")
      body="{\"card\":{\"number\":\"$pan\",\"exp_month\":12,\"exp_year\":$yr,\"cvc\":\"$cvc\"}}"
      ((${#args[@]} > 0)) && args+=(--next)
      args+=(-sS --cacert "$STRONGROOM_CA" -o /dev/null -w '%{http_code} ' -X POST
             -H "Authorization: Bearer $STRONGROOM_PK" -H 'Content-Type: application/json')
      # 6 to 12 KiB of extra headers on two requests in three.
      if ((k % 3 != 1)); then
        args+=(-H "X-Pad-A: $pad" -H "X-Pad-B: $pad")
        ((k % 2 == 0)) && args+=(-H "X-Pad-C: $pad")
      fi
      # Batches 0 and 2 close each connection; 1 and 3 keep one alive.
      ((batch % 2 == 0)) && args+=(-H 'Connection: close')
      args+=(--data-binary "$body" "$url/v1/tokens")
    done
    curl "${args[@]}" > "$TMP/core_load.$batch" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  CORE_CODES=$(cat "$TMP/core_load".[0-3])
}

# core_scan NAME BINARY: start a fresh vaultd, load it, gcore it, count the hits.
core_scan() {
  local name=$1 bin=$2 port=$((VAULT_PUBLIC_PORT + 60)) pid codes core hits=0 n i
  local pans=0 bodies=0 cvcs=0
  jq ".public_port = $port | .internal_port = $((port + 1)) | .admin_port = 0" \
    var/etc/vaultd.json > "var/etc/vaultd-core.json"
  "$bin" --config var/etc/vaultd-core.json >>var/log/vaultd-core.log 2>&1 &
  pid=$!
  if ! wait_port $port 30; then
    fail "$name: vaultd did not start"; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return
  fi
  core_load "https://localhost:$port"; codes=$CORE_CODES
  [[ $codes == *201* && $codes == *400* ]] || fail "$name: the load did not both succeed and fail: $codes"
  [[ $codes == *000* || $codes == *5??* ]] && fail "$name: transport or server errors: $codes"
  sleep 1   # the connections' threads finish
  # At most 4 GiB of core file, whatever happens.
  (ulimit -f 4194304; gcore -o "$TMP/vaultd-core" "$pid") >"$TMP/gcore.log" 2>&1
  core=$TMP/vaultd-core.$pid
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ ! -s "$core" ]; then
    fail "$name: gcore took no core: $(tail -2 "$TMP/gcore.log")"; return
  fi
  # Two passes over the core (it can be GiBs), each with every pattern at once.
  printf '%s\n' "${CORE_PANS[@]}" > "$TMP/core_pats"
  for ((i = 0; i < ${#CORE_CVCS[@]}; i++)); do printf '"cvc":"%s"\n' "${CORE_CVCS[i]}"; done >> "$TMP/core_pats"
  grep -aoF -f "$TMP/core_pats" "$core" > "$TMP/core_hits"
  pans=$(grep -c '^[0-9]' "$TMP/core_hits"); cvcs=$(grep -c '^"cvc"' "$TMP/core_hits")
  for ((i = 0; i < ${#CORE_PANS[@]}; i++)); do printf '"number":"%s"\n' "${CORE_PANS[i]}"; done > "$TMP/core_pats"
  bodies=$(grep -aoF -f "$TMP/core_pats" "$core" | wc -l)
  hits=$((pans + cvcs))
  echo "    $name: core $(($(stat -c %s "$core") / 1048576)) MiB, ${#CORE_PANS[@]} cards: PAN hits $pans (in a JSON body $bodies), CVC hits $cvcs"
  [ -n "${CORE_KEEP:-}" ] && cp "$core" "$CORE_KEEP"; rm -f "$core"
  eq "$name: card numbers and CVCs in the core" "$hits" 0
}

t_attack_7_core_holds_no_card_data() {
  local bin=$SR_BIN/vaultd
  command -v gcore >/dev/null || { fail "gcore (gdb) is not installed"; return; }
  # A core of an ASan process holds its whole shadow memory (tens of GiB):
  # the plain build instead, which is the production allocator's path.
  if ldd "$bin" 2>/dev/null | grep -q libasan; then
    bin=$ROOT/build/bin/vaultd
    [ -x "$bin" ] || { fail "build/bin/vaultd missing (make all)"; return; }
  fi
  core_scan "vaultd (${bin#$ROOT/})" "$bin"
}
