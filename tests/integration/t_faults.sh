# Faults in the window after an external effect (issue 16): a write that fails
# after the PSP answered must never leave a wrong answer saved for the key.
# Faults are real: a trigger installed by the superuser makes PostgreSQL
# refuse exactly the write under test.

gw_sql() { psql -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d gateway -v ON_ERROR_STOP=1 -c "$1"; }

# The payment's UPDATE after the authorization fails: the merchant gets a 500,
# but the key is not answered with that 500 forever; a retry with the same key
# returns the payment as it is now (captured), and the customer is charged once.
t_fault_update_after_authorization_keeps_key_resolvable() {
  local key before after
  gw_sql "CREATE FUNCTION pg_temp_fault() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'fault injected by t_faults'; END \$\$;
          CREATE TRIGGER t_faults_update BEFORE UPDATE ON payments FOR EACH ROW
            WHEN (NEW.amount = 4207 AND NEW.status <> 'processing') EXECUTE FUNCTION pg_temp_fault();" \
    || { fail "cannot install the fault"; return; }
  tokenize 4242424242424242; local tok; tok=$(j .id)
  key="fault-$(openssl rand -hex 8)"
  before=$(psp_intents)
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "the failed write is reported" "$STATUS" 500
  eq "as an api_error" "$(j .error.type)" api_error
  gw_sql "DROP TRIGGER t_faults_update ON payments; DROP FUNCTION pg_temp_fault();"
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "a retry with the key answers the payment" "$STATUS" 201
  eq "as it is now" "$(j .status)" captured
  eq "not a replayed error" "$(grep -ci '^Idempotent-Replayed: true' <<<"$HEADERS")" 0
  pay "$tok" 4207 -H "Idempotency-Key: $key"
  eq "then the saved truth is replayed" "$STATUS/$(j .status)" 201/captured
  after=$(psp_intents)
  eq "charged once" "$((after - before))" 1
}
