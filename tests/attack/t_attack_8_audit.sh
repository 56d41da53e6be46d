# Attack suite, issue 15 item 8: the PAN decryption audit (pan_audit) cannot
# be silently shortened. The vault's own database role may only append (no
# DELETE, UPDATE or TRUNCATE of records or checkpoints, no head moved back);
# a superuser who deletes the newest records and rewrites the head to match
# the shortened chain is caught by `vaultctl audit verify`: the head's MAC
# (HSM audit key) no longer matches, and a signed checkpoint names the gap.
# Sourced by tests/integration/run.sh (vault_variant is in t_vault_lifecycle.sh).

a8_vault_sql() {  # SQL as the vault's own database role; exit status of psql
  PGPASSWORD=$(cat var/secrets/vault-db-password) "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PGPORT" -U vault -d vault -c "$1" >/dev/null 2>&1
}
a8_super_sql() {  # SQL as the superuser with user triggers off (a DBA bypassing them)
  pg -d vault -At <<<"BEGIN; SET LOCAL session_replication_role = replica; $1 COMMIT;"
}
a8_verify() { "$SR_BIN/vaultctl" --config var/etc/vaultd.json audit verify 2>&1; }
a8_head_records() {  # the head's record count column where it exists (not on the starting commit)
  a8_super_sql "UPDATE pan_audit_head SET records = $1;" >/dev/null 2>&1 || true
}

# Authorize through a vaultd (the main one, or a variant on PORT) N times.
a8_authorize() {  # N [INTERNAL_PORT]
  local i tok key port=${2:-$VAULT_INTERNAL_PORT}
  for i in $(seq "$1"); do
    tokenize 4242424242424242; tok=$(j .id); key="a8-$(openssl rand -hex 6)"
    curl -sS --cacert var/pki/ca.crt --resolve "vault-internal.strongroom.test:$port:127.0.0.1" \
      --cert var/pki/gateway-client.crt --key var/pki/gateway-client.key -o /dev/null \
      -H 'Content-Type: application/json' "https://vault-internal.strongroom.test:$port/v1/authorizations" \
      --data-binary "{\"merchant\":\"$STRONGROOM_MERCHANT\",\"token\":\"$tok\",\"payment_id\":\"pay_it$key\",\"amount\":300,\"currency\":\"usd\",\"capture\":true,\"idempotency_key\":\"$key\"}"
  done
}

t_attack_8_audit_vault_role_cannot_shorten() {
  local n
  a8_authorize 3
  n=$(vsql "SELECT coalesce(max(seq), 0) FROM pan_audit")
  [ "${n:-0}" -ge 3 ] || { fail "no decryption records"; return; }
  a8_vault_sql "DELETE FROM pan_audit WHERE seq = $n" && fail "vault role deleted the newest record"
  a8_vault_sql "TRUNCATE pan_audit" && fail "vault role truncated pan_audit"
  a8_vault_sql "UPDATE pan_audit SET result = 'x' WHERE seq = $n" && fail "vault role altered a record"
  a8_vault_sql "UPDATE pan_audit_head SET seq = seq - 1" && fail "vault role moved the head back"
  a8_vault_sql "DELETE FROM pan_audit_head" && fail "vault role deleted the head"
  a8_vault_sql "DELETE FROM pan_audit_checkpoint" && fail "vault role deleted checkpoints"
  a8_vault_sql "UPDATE pan_audit_checkpoint SET seq = seq" && fail "vault role altered checkpoints"
  a8_vault_sql "TRUNCATE pan_audit_checkpoint" && fail "vault role truncated checkpoints"
  # Even the superuser meets the append-only triggers unless it turns them off.
  pg -d vault -q <<<"DELETE FROM pan_audit WHERE seq = $n" >/dev/null 2>&1 && fail "pan_audit accepted a DELETE (no trigger)"
  eq "still $n records" "$(vsql "SELECT count(*) FROM pan_audit")" "$n"
  a8_verify >/dev/null; eq "verify after the refused attempts" "$?" 0
}

t_attack_8_audit_truncate_and_rewrite_head() {
  local n k out rc
  a8_authorize 4
  n=$(vsql "SELECT coalesce(max(seq), 0) FROM pan_audit"); k=$((n - 3))
  a8_verify >/dev/null; eq "intact before" "$?" 0
  pg -d vault -q <<<"DROP TABLE IF EXISTS a8_saved, a8_head;
    CREATE TABLE a8_saved AS SELECT * FROM pan_audit WHERE seq > $k;
    CREATE TABLE a8_head AS SELECT * FROM pan_audit_head;"
  # The attack: delete the newest 3 records, point the head at record k.
  a8_super_sql "DELETE FROM pan_audit WHERE seq > $k;
    UPDATE pan_audit_head SET seq = $k, mac = (SELECT mac FROM pan_audit WHERE seq = $k);" >/dev/null
  a8_head_records "$k"
  out=$(a8_verify); rc=$?
  echo "    attack 8 (truncate + rewrite head): vaultctl said: $out"
  eq "truncation with a rewritten head: exit" "$rc" 3
  [[ $out == *"head MAC invalid"* ]] || fail "the rewritten head is not named: $out"
  # vaultd does not extend (and so re-MAC) a head it did not write: no decryption.
  tokenize 4242424242424242
  vault_authorize "$(j .id)" 300 "a8-$(openssl rand -hex 6)"
  [ "$STATUS" != 200 ] || fail "vaultd decrypted on a rewritten head"
  eq "no record after the rewritten head" "$(vsql "SELECT max(seq) FROM pan_audit")" "$k"
  # Put everything back so that the other tests see an intact chain.
  a8_super_sql "INSERT INTO pan_audit SELECT * FROM a8_saved; DELETE FROM pan_audit_head;
    INSERT INTO pan_audit_head SELECT * FROM a8_head;" >/dev/null
  pg -d vault -q <<<"DROP TABLE a8_saved, a8_head"
  a8_verify >/dev/null; eq "restored" "$?" 0
}

# With checkpoints every 4 records: the superuser deletes the tail and puts
# back an older head that vaultd itself MACed (a replay: its MAC is valid).
# The checkpoints written since name the records that are missing.
t_attack_8_audit_checkpoints_name_the_gap() {
  local v0 n c out rc
  vault_variant a8 '.audit_checkpoint_records = 4 | .audit_checkpoint_seconds = 3600'
  a8_authorize 1 $((VAULT_PUBLIC_PORT + 51))
  v0=$(vsql "SELECT coalesce(max(seq), 0) FROM pan_audit")
  pg -d vault -q <<<"DROP TABLE IF EXISTS a8_saved, a8_head; CREATE TABLE a8_head AS SELECT * FROM pan_audit_head;"
  a8_authorize 9 $((VAULT_PUBLIC_PORT + 51))
  variant_stop
  n=$(vsql "SELECT coalesce(max(seq), 0) FROM pan_audit")
  eq "9 more records" "$((n - v0))" 9
  c=$(vsql "SELECT coalesce(max(seq), 0) FROM pan_audit_checkpoint" 2>/dev/null)
  [ "${c:-0}" -gt "$v0" ] || { fail "no checkpoint written after record $v0 (got '${c:-}')"; c=$n; }
  grep -q '"pan_audit.checkpoint"' var/log/vaultd-a8.log || fail "checkpoint not in vaultd's log"
  a8_verify >/dev/null; eq "intact with checkpoints" "$?" 0
  pg -d vault -q <<<"CREATE TABLE a8_saved AS SELECT * FROM pan_audit WHERE seq > $v0;
    CREATE TABLE a8_head_now AS SELECT * FROM pan_audit_head;"
  a8_super_sql "DELETE FROM pan_audit WHERE seq > $v0; DELETE FROM pan_audit_head;
    INSERT INTO pan_audit_head SELECT * FROM a8_head;" >/dev/null
  out=$(a8_verify); rc=$?
  echo "    attack 8 (truncate + replay an old head): vaultctl said: $out"
  eq "truncation with a replayed head: exit" "$rc" 3
  [[ $out == *"records $((v0 + 1))-$c missing"* ]] || fail "the gap is not named: $out"
  a8_super_sql "INSERT INTO pan_audit SELECT * FROM a8_saved; DELETE FROM pan_audit_head;
    INSERT INTO pan_audit_head SELECT * FROM a8_head_now;" >/dev/null
  pg -d vault -q <<<"DROP TABLE a8_saved, a8_head, a8_head_now"
  a8_verify >/dev/null; eq "restored" "$?" 0
}
