# Integration tests of issue 9 (operability): configuration checks, secrets
# via $CREDENTIALS_DIRECTORY, /healthz /readyz /metrics, request-id
# correlation, SIGHUP certificate reload, SIGTERM drain under load, restart
# consistency. Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pay, pg).

ADM=(--cacert var/pki/ca.crt -sS)
GW_ADMIN=https://localhost:$GW_ADMIN_PORT
VAULT_ADMIN=https://localhost:$VAULT_ADMIN_PORT

# ops_cfg NAME: copy of var/etc/NAME.json in $TMP, path printed.
ops_cfg() { cp "var/etc/$1.json" "$TMP/$1.json"; echo "$TMP/$1.json"; }
# json_edit FILE JQ: rewrite FILE through jq, pretty-printed (one key a line).
json_edit() { jq "$2" "$1" > "$1.new" && mv "$1.new" "$1"; }

t_ops_check_config() {
  local d out f
  for d in vaultd gatewayd pspsim; do
    out=$("$SR_BIN/$d" --config "var/etc/$d.json" --check-config 2>&1) || fail "$d: good config refused: $out"
    grep -q "configuration OK" <<<"$out" || fail "$d: no OK line: $out"
  done
  # An unknown key: refused, with file, line and key.
  for d in vaultd gatewayd pspsim; do
    f=$(ops_cfg $d); json_edit "$f" '. + {"listen_adress": "127.0.0.1"}'
    local line; line=$(grep -n '"listen_adress"' "$f" | cut -d: -f1)
    out=$("$SR_BIN/$d" --config "$f" --check-config 2>&1) && fail "$d: unknown key accepted"
    grep -q "$f:$line: unknown key 'listen_adress'" <<<"$out" || fail "$d: unknown key message: $out"
  done
  # A bad value: the key and its line.
  f=$(ops_cfg vaultd); json_edit "$f" '.cvc_ttl_seconds = 7200'
  out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "vaultd: cvc_ttl_seconds 7200 accepted"
  grep -q "$f:$(grep -n '"cvc_ttl_seconds"' "$f" | cut -d: -f1): cvc_ttl_seconds: must be 1..3599" <<<"$out" || fail "vaultd bad value message: $out"
  f=$(ops_cfg gatewayd); json_edit "$f" '.admin_port = "x"'
  out=$("$SR_BIN/gatewayd" --config "$f" --check-config 2>&1) && fail "gatewayd: admin_port \"x\" accepted"
  grep -q "$f:$(grep -n '"admin_port"' "$f" | cut -d: -f1): admin_port: must be" <<<"$out" || fail "gatewayd bad value message: $out"
  # A syntax error: its line (jansson's position).
  f=$(ops_cfg gatewayd); printf '{\n  "port": 1,\n  "listen": "127.0.0.1",,\n}\n' > "$f"
  out=$("$SR_BIN/gatewayd" --config "$f" --check-config 2>&1) && fail "gatewayd: syntax error accepted"
  grep -q "$f:3:" <<<"$out" || fail "syntax error line: $out"
  # A group-readable secret is refused at check and at start (names key and path).
  cp var/secrets/hsm-user-pin "$TMP/pin"; chmod 0640 "$TMP/pin"
  f=$(ops_cfg vaultd); json_edit "$f" ".hsm_pin_file = \"$TMP/pin\""
  out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "vaultd: group-readable PIN accepted"
  grep -q "hsm_pin_file: $TMP/pin: mode 640 is readable by group or others" <<<"$out" || fail "PIN mode message: $out"
  cp var/pki/gateway.key "$TMP/gw.key"; chmod 0644 "$TMP/gw.key"
  f=$(ops_cfg gatewayd); json_edit "$f" ".tls_key = \"$TMP/gw.key\""
  out=$("$SR_BIN/gatewayd" --config "$f" --check-config 2>&1) && fail "gatewayd: world-readable TLS key accepted"
  grep -q "tls_key: $TMP/gw.key: mode 644" <<<"$out" || fail "TLS key mode message: $out"
  f=$(ops_cfg vaultd); json_edit "$f" ".db_password_file = \"$TMP/gw.key\""
  out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "vaultd: world-readable secret accepted"
  true
}

t_ops_credentials_directory() {
  # systemd credentials: relative secret paths resolve in $CREDENTIALS_DIRECTORY.
  local cd=$TMP/creds f out
  mkdir -p -m 0700 "$cd"
  cp -p var/secrets/hsm-user-pin "$cd/hsm-pin"
  cp -p var/secrets/vault-db-password "$cd/db-password"
  f=$(ops_cfg vaultd)
  # With CREDENTIALS_DIRECTORY set, every relative secret path is a credential name
  # (no key file: the vault's TLS keys are in the HSM, ADR 0118; the platform's
  # PSP secrets are sealed in the HSM, ADR 0120).
  json_edit "$f" '.hsm_pin_file = "hsm-pin" | .db_password_file = "db-password"'
  out=$(CREDENTIALS_DIRECTORY=$cd "$SR_BIN/vaultd" --check-config "$f" 2>&1) || fail "credentials directory refused: $out"
  out=$("$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "relative secrets found without CREDENTIALS_DIRECTORY"
  chmod 0644 "$cd/hsm-pin"
  out=$(CREDENTIALS_DIRECTORY=$cd "$SR_BIN/vaultd" --check-config "$f" 2>&1) && fail "group-readable credential accepted"
  grep -q "hsm_pin_file: $cd/hsm-pin: mode 644" <<<"$out" || fail "credential message: $out"
  true
}

# metric FILE NAME LABELS-SUBSTRING: the value of the first matching sample (0 if none).
metric() { awk -v n="$2" -v l="$3" 'index($0, n) == 1 && index($0, l) { v = $NF; exit } END { print v == "" ? 0 : v }' "$1"; }

t_ops_health_and_metrics() {
  local s
  for u in $GW_ADMIN $VAULT_ADMIN; do
    s=$(curl "${ADM[@]}" -o "$TMP/hz" -w '%{http_code}' "$u/healthz"); eq "$u healthz" "$s" 200
    eq "$u healthz body" "$(jq -r .status "$TMP/hz")" ok
    s=$(curl "${ADM[@]}" -o "$TMP/rz" -w '%{http_code}' "$u/readyz"); eq "$u readyz" "$s" 200
    eq "$u db check" "$(jq -r .checks.database "$TMP/rz")" ok
  done
  eq "vault hsm check" "$(jq -r .checks.hsm "$TMP/rz")" ok
  # Admin listeners are loopback TLS, not the API: no API routes there.
  s=$(curl "${ADM[@]}" -o /dev/null -w '%{http_code}' -X POST "$GW_ADMIN/v1/payments"); eq "no API on admin" "$s" 404
  curl "${ADM[@]}" "$GW_ADMIN/metrics" > "$TMP/g0"; curl "${ADM[@]}" "$VAULT_ADMIN/metrics" > "$TMP/v0"
  grep -q '^content-type: text/plain; version=0.0.4' <(curl "${ADM[@]}" -D - -o /dev/null "$GW_ADMIN/metrics" | tr 'A-Z' 'a-z') || fail "metrics content type"
  # tok_ tokens are single-use (issue 3): one per payment.
  tokenize 4242424242424242; local tok; tok=$(j .id)
  pay "$tok"; eq "pay" "$STATUS" 201
  local key="ops-$(openssl rand -hex 6)"
  tokenize 4242424242424242; tok=$(j .id)
  pay "$tok" 1500 -H "Idempotency-Key: $key"; pay "$tok" 1500 -H "Idempotency-Key: $key"
  curl "${ADM[@]}" "$GW_ADMIN/metrics" > "$TMP/g1"; curl "${ADM[@]}" "$VAULT_ADMIN/metrics" > "$TMP/v1"
  local f
  for f in g0 v0 g1 v1; do
    awk -f tests/integration/promcheck.awk "$TMP/$f" > "$TMP/pc" || fail "$f is not valid Prometheus text: $(head -3 "$TMP/pc")"
  done
  local r='strongroom_http_requests_total{listener="gateway",method="POST",route="/v1/payments",status="201"}'
  [ "$(metric "$TMP/g1" "$r" "")" -ge $(( $(metric "$TMP/g0" "$r" "") + 3 )) ] || fail "gateway request counter did not move by 3"
  r='strongroom_http_requests_total{listener="vault-public",method="POST",route="/v1/tokens",status="201"}'
  [ "$(metric "$TMP/v1" "$r" "")" -gt "$(metric "$TMP/v0" "$r" "")" ] || fail "vault token counter did not move"
  r='strongroom_psp_requests_total{connector="stripe",outcome="captured"}'
  [ "$(metric "$TMP/v1" "$r" "")" -ge $(( $(metric "$TMP/v0" "$r" "") + 2 )) ] || fail "PSP outcome counter did not move by 2"
  r='strongroom_hsm_operation_duration_seconds_count{op="encrypt"}'
  [ "$(metric "$TMP/v1" "$r" "")" -gt "$(metric "$TMP/v0" "$r" "")" ] || fail "HSM encrypt count did not move"
  r='strongroom_idempotency_replays_total{scope="gateway_payments"}'
  [ "$(metric "$TMP/g1" "$r" "")" -ge $(( $(metric "$TMP/g0" "$r" "") + 1 )) ] || fail "idempotency replay counter did not move"
  grep -q '^strongroom_outbox_pending [0-9]' "$TMP/g1" || fail "no outbox depth"
  grep -q '^strongroom_db_pool_connections{pool="vault",state="idle"} [0-9]' "$TMP/v1" || fail "no vault pool gauge"
  grep -q 'strongroom_http_request_duration_seconds_bucket{listener="gateway",route="/v1/payments",le="+Inf"}' "$TMP/g1" || fail "no latency histogram"
  # No label carries a card number, token or key (promcheck checks label
  # values; this checks the whole text for the ones just used).
  grep -qE "4242424242424242|$tok|$STRONGROOM_SK|$STRONGROOM_PK" "$TMP/g1" "$TMP/v1" && fail "metrics carry a PAN, token or key"
  # A path with a card number and a token in it is labelled by its route pattern.
  http GET "$GATEWAY_URL/v1/payments/4242424242424242" "$STRONGROOM_SK"
  http GET "$GATEWAY_URL/v1/payments/$tok" "$STRONGROOM_SK"
  curl "${ADM[@]}" "$GW_ADMIN/metrics" > "$TMP/g2"
  grep -qE "4242424242424242|$tok" "$TMP/g2" && fail "metrics carry a path's card number or token"
  grep -q 'route="/v1/payments/{}"' "$TMP/g2" || fail "route pattern label missing"
  true
}

# wait_ready URL WANT SECONDS: until /readyz answers WANT.
wait_ready() {
  local i s
  for ((i = 0; i < $3 * 4; i++)); do
    s=$(curl "${ADM[@]}" -o /dev/null -w '%{http_code}' "$1/readyz" 2>/dev/null)
    [ "$s" = "$2" ] && return 0
    sleep 0.25
  done
  return 1
}

t_ops_readyz_follows_database() {
  scripts/pg.sh stop >/dev/null 2>&1
  wait_ready $GW_ADMIN 503 10 || fail "gateway still ready without PostgreSQL"
  wait_ready $VAULT_ADMIN 503 10 || fail "vault still ready without PostgreSQL"
  curl "${ADM[@]}" "$GW_ADMIN/readyz" > "$TMP/rz"
  eq "unready reason" "$(jq -r .checks.database "$TMP/rz")" unreachable
  s=$(curl "${ADM[@]}" -o /dev/null -w '%{http_code}' "$GW_ADMIN/healthz"); eq "alive while unready" "$s" 200
  scripts/pg.sh start >/dev/null 2>&1
  wait_ready $GW_ADMIN 200 20 || fail "gateway not ready again after PostgreSQL returned"
  wait_ready $VAULT_ADMIN 200 20 || fail "vault not ready again after PostgreSQL returned"
  # The daemons reconnect by themselves: payments work again, first try.
  tokenize 4242424242424242; eq "tokenize after restart" "$STATUS" 201
  pay "$(j .id)"; eq "pay after restart" "$STATUS" 201
  tokenize 4242424242424242; pay "$(j .id)"; eq "second pay after restart" "$STATUS" 201
}

t_ops_request_id_everywhere() {
  local rid="req_ops$(openssl rand -hex 8 | tr '0-9' 'g-p')"  # few digits: an id with 12+ digits is replaced (could be a PAN)
  tokenize 4242424242424242
  pay "$(j .id)" 1500 -H "X-Request-Id: $rid"
  eq "pay" "$STATUS" 201
  grep -qi "^x-request-id: $rid" <<<"$HEADERS" || fail "response lacks the request id"
  local f
  for f in gatewayd vaultd pspsim; do
    grep -q "\"request_id\":\"$rid\"" var/log/$f.log || fail "request id not in $f's log"
  done
  # Error responses carry it too.
  pay "tok_doesnotexist0000000000" 1500 -H "X-Request-Id: ${rid}e"
  eq "error request_id" "$(j .error.request_id)" "${rid}e"
}

serial_of() { openssl s_client -connect "127.0.0.1:$1" -servername localhost -CAfile var/pki/ca.crt </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2; }

t_ops_sighup_reloads_certificate() {
  local pid s0 s1 s2 i
  pid=$(cat var/run/gatewayd.pid)
  s0=$(serial_of $GW_PORT)
  [ -n "$s0" ] || { fail "no serial from the gateway"; return; }
  # Renew: new key and certificate from the appliance CA, same names.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/new.key" 2>/dev/null
  openssl req -new -key "$TMP/new.key" -subj "/O=Strongroom dev/CN=gateway.strongroom.test" -out "$TMP/new.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:gateway.strongroom.test,DNS:localhost,IP:127.0.0.1\n' > "$TMP/ext"
  openssl x509 -req -in "$TMP/new.csr" -CA var/pki/ca.crt -CAkey var/pki/ca.key -CAcreateserial \
    -CAserial "$TMP/ca.srl" -days 30 -sha256 -extfile "$TMP/ext" -out "$TMP/new.crt" 2>/dev/null
  # First a mismatched pair (new certificate, old key): refused, old one kept.
  cp var/pki/gateway.crt "$TMP/old.crt"
  cp "$TMP/new.crt" var/pki/gateway.crt
  kill -HUP "$pid"; sleep 0.5
  kill -0 "$pid" || { fail "gatewayd died on SIGHUP"; return; }
  eq "mismatched pair refused: serial" "$(serial_of $GW_PORT)" "$s0"
  grep -q '"event":"http.tls_reload_failed"' var/log/gatewayd.log || fail "no reload failure logged"
  # Then the full renewal.
  (umask 077; cp "$TMP/new.key" var/pki/gateway.key)
  kill -HUP "$pid"
  for ((i = 0; i < 20; i++)); do s1=$(serial_of $GW_PORT); [ "$s1" != "$s0" ] && break; sleep 0.1; done
  eq "serial after SIGHUP" "$s1" "$(openssl x509 -noout -serial -in "$TMP/new.crt" | cut -d= -f2)"
  s2=$(serial_of $GW_ADMIN_PORT); eq "admin listener serial" "$s2" "$s1"
  eq "same process" "$(cat var/run/gatewayd.pid)" "$pid"
  # Requests keep working over the new certificate.
  tokenize 4242424242424242; pay "$(j .id)"; eq "pay after reload" "$STATUS" 201
  # The vault reloads too (public listener).
  s0=$(serial_of $VAULT_PUBLIC_PORT); kill -HUP "$(cat var/run/vaultd.pid)"; sleep 0.3
  eq "vault unchanged pair keeps serial" "$(serial_of $VAULT_PUBLIC_PORT)" "$s0"
  grep -q '"event":"http.tls_reloaded".*"listener":"vault-public"\|"listener":"vault-public".*"event":"http.tls_reloaded"' var/log/vaultd.log || fail "vault did not log the reload"
}

# start_gatewayd: as scripts/up.sh does (down.sh stops it by its pid file).
start_gatewayd() {
  "$SR_BIN/gatewayd" --config var/etc/gatewayd.json >>var/log/gatewayd.log 2>&1 &
  echo $! > var/run/gatewayd.pid
  wait_port $GW_PORT 30 && wait_port $GW_ADMIN_PORT 30
}

t_ops_sigterm_drains_under_load() {
  local pid tok body i n_ok=0 n_refused=0 n_bad=0 codes
  pid=$(cat var/run/gatewayd.pid)
  tokenize 4242424242424242; tok=$(j .id)
  # A slow request: its body trickles in at 100 bytes/s (about 4 s), so it
  # is certainly in flight when SIGTERM arrives.
  body="{\"amount\":777,\"currency\":\"usd\",\"payment_method\":\"$tok\",\"capture_method\":\"automatic\"$(printf '%*s' 300 '')}"
  curl -sS --cacert "$STRONGROOM_CA" -H "Authorization: Bearer $STRONGROOM_SK" -H 'Content-Type: application/json' \
    --limit-rate 100 --data-binary "$body" -o "$TMP/slow.json" -w '%{http_code}' "$GATEWAY_URL/v1/payments" > "$TMP/slow.code" 2>"$TMP/slow.err" &
  local slow=$! loaders=()
  # Load: four clients paying in a loop until the gateway refuses connections.
  for i in 1 2 3 4; do
    ( for ((k = 0; k < 200; k++)); do
        # tok_ tokens are single-use (issue 3): a fresh one per payment.
        t=$(curl -sS --cacert "$STRONGROOM_CA" -H "Authorization: Bearer $STRONGROOM_PK" -H 'Content-Type: application/json' \
             --data-binary "{\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":$EXP_YEAR}}" \
             "$VAULT_URL/v1/tokens" 2>/dev/null | jq -r .id)
        c=$(curl -sS --cacert "$STRONGROOM_CA" -H "Authorization: Bearer $STRONGROOM_SK" -H 'Content-Type: application/json' \
             --data-binary "{\"amount\":555,\"currency\":\"usd\",\"payment_method\":\"$t\",\"capture_method\":\"automatic\"}" \
             -o /dev/null -w '%{http_code}' "$GATEWAY_URL/v1/payments" 2>/dev/null); rc=$?
        echo "$c $rc"; [ $rc = 7 ] || [ $rc = 35 ] && break
      done > "$TMP/load.$i" ) &
    loaders+=($!)
  done
  sleep 1.5
  kill -TERM "$pid"
  local t0=$SECONDS
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "gatewayd still running 15 s after SIGTERM"
  wait "$slow" "${loaders[@]}"   # only this test's clients: daemons are children too
  eq "slow in-flight request answered" "$(cat "$TMP/slow.code")" 201
  eq "slow payment captured" "$(jq -r .status "$TMP/slow.json" 2>/dev/null)" captured
  codes=$(cat "$TMP"/load.*)
  # Refused: no connection (curl 7), or a connection the kernel queued but
  # the quiescing listener never accepted, reset before the TLS handshake
  # ended (curl 35): either way no request was sent. Cut off: anything else.
  n_ok=$(grep -c '^201 0$' <<<"$codes"); n_refused=$(grep -c -e ' 7$' -e '^000 35$' <<<"$codes")
  n_bad=$(grep -vc -e '^201 0$' -e ' 7$' -e '^000 35$' <<<"$codes")
  [ "$n_ok" -gt 0 ] || fail "no load request succeeded"
  [ "$n_bad" = 0 ] && true || fail "requests cut off during drain: $(grep -v -e '^201 0$' -e ' 7$' -e '^000 35$' <<<"$codes" | sort | uniq -c | tr '\n' ' ')"
  grep -q '"event":"http.drained","listener":"gateway","abandoned":0\|"listener":"gateway","abandoned":0' var/log/gatewayd.log || fail "no clean drain logged"
  # Restart: nothing half-written, no event without its outbox row (invariant 7).
  start_gatewayd || fail "gatewayd did not restart"
  eq "payments without an event" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments p WHERE NOT EXISTS (SELECT 1 FROM payment_events e WHERE e.payment_id = p.id)")" 0
  eq "events without an outbox row" "$(pg -d gateway -At <<<"SELECT count(*) FROM payment_events e WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id)")" 0
  eq "payments left processing" "$(pg -d gateway -At <<<"SELECT count(*) FROM payments WHERE status = 'processing'")" 0
  eq "slow payment stored" "$(pg -d gateway -At <<<"SELECT status FROM payments WHERE id = '$(jq -r .id "$TMP/slow.json")'")" captured
  tokenize 4242424242424242; pay "$(j .id)"; eq "pay after restart" "$STATUS" 201
  echo "    (drain: $n_ok payments served during the load, $n_refused clients refused after SIGTERM, took $((SECONDS - t0)) s)"
}

t_ops_help_pages() {
  local out cmd
  while IFS= read -r cmd; do
    out=$(eval "$cmd" 2>&1) || fail "$cmd: exit $?"
    [[ $out == NAME* ]] || fail "$cmd: not a manual page"
    grep -q "SYNOPSIS" <<<"$out" || fail "$cmd: no SYNOPSIS"
  done <<EOC
"$SR_BIN/vaultd" --help
"$SR_BIN/gatewayd" --help
"$SR_BIN/pspsim" --help
"$SR_BIN/vaultctl" --help
"$SR_BIN/vaultctl" help init-token
"$SR_BIN/vaultctl" help keys create
"$SR_BIN/vaultctl" keys list --help
"$SR_BIN/gatewayctl" --help
"$SR_BIN/gatewayctl" --help merchant create
"$SR_BIN/gatewayctl" merchant list --help
EOC
  "$SR_BIN/vaultctl" help no-such-command >/dev/null 2>&1; eq "unknown command help" "$?" 2
}

t_ops_sample_config_documented() {
  # Every key of the shipped samples is accepted (no "unknown key": the only
  # errors are the absent /etc/strongroom files) and documented.
  local d k out
  for d in vaultd gatewayd; do
    jq -e 'type == "object"' "etc/$d.json" >/dev/null || fail "etc/$d.json is not a JSON object"
    out=$("$SR_BIN/$d" --config "etc/$d.json" --check-config 2>&1)
    grep -q "unknown key" <<<"$out" && fail "etc/$d.json: $out"
    for k in $(jq -r 'keys[]' "etc/$d.json"); do
      grep -q "\`$k\`" docs/configuration.md || fail "$k ($d) not in docs/configuration.md"
    done
  done
  # The dev configuration uses no key the samples lack.
  for d in vaultd gatewayd; do
    for k in $(jq -r 'keys[]' "var/etc/$d.json"); do
      jq -e --arg k "$k" 'has($k)' "etc/$d.json" >/dev/null || fail "$k ($d) missing from etc/$d.json"
    done
  done
}

t_ops_make_install() {
  local root=$TMP/root san=0 f
  [[ $SR_BIN == */asan/bin ]] && san=1
  env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory install SAN=$san DESTDIR="$root" PREFIX=/usr >"$TMP/inst.log" 2>&1 \
    || { fail "make install: $(tail -3 "$TMP/inst.log")"; return; }
  # The daemons where the units start them (systemd/install_check.sh checks the rest).
  for f in usr/libexec/strongroom/vaultd usr/libexec/strongroom/gatewayd usr/bin/vaultctl usr/bin/gatewayctl; do
    [ -x "$root/$f" ] || fail "$f not installed"
  done
  [ -n "$(find "$root" -name pspsim -o -name whsink)" ] && fail "pspsim or whsink installed"
  for f in etc/strongroom/vaultd.json etc/strongroom/gatewayd.json usr/share/strongroom/migrations/migrate.sh \
           usr/share/strongroom/migrations/vault/0001_init.sql usr/share/strongroom/migrations/gateway/0001_init.sql; do
    [ -s "$root/$f" ] || fail "$f not installed"
  done
  eq "config mode" "$(stat -c %a "$root/etc/strongroom/vaultd.json")" 644
  for f in systemd/*.service; do
    [ -e "$f" ] || continue
    # systemd's unit directory: /lib/systemd/system on Debian 12 (pkg-config systemd).
    [ -s "$root$(pkg-config --variable=systemdsystemunitdir systemd)/$(basename "$f")" ] || fail "unit $f not installed"
  done
  "$root/usr/libexec/strongroom/gatewayd" --help >/dev/null || fail "installed gatewayd --help"
  # A second install keeps edited configuration.
  echo '{}' > "$root/etc/strongroom/gatewayd.json"
  env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory install SAN=$san DESTDIR="$root" PREFIX=/usr >/dev/null 2>&1 || fail "second install"
  eq "edited config kept" "$(cat "$root/etc/strongroom/gatewayd.json")" '{}'
  [ -s "$root/etc/strongroom/gatewayd.json.new" ] || fail "no .json.new beside the kept config"
  # PREFIX=/usr/local puts configuration under /usr/local/etc.
  env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory install SAN=$san DESTDIR="$TMP/root2" >/dev/null 2>&1 || fail "install with default PREFIX"
  [ -x "$TMP/root2/usr/local/libexec/strongroom/vaultd" ] && [ -s "$TMP/root2/usr/local/etc/strongroom/vaultd.json" ] || fail "default PREFIX layout"
}
