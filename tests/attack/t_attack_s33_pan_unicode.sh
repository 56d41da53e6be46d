# Attack suite, session 33: a card number in full-width or Arabic-Indic
# digits (what Japanese, Chinese, Arabic and Persian keyboards type) in a
# customer's fields passed every scan (ADR 0106 read ASCII digits only) and
# was stored in the gateway's database. Sourced by tests/integration/run.sh
# (helpers: http, j, eq, fail, pg).

as33u_stored() { pg -d gateway -At <<<"SELECT count(*) FROM customers WHERE concat_ws('|', name, description, metadata::text) ~ '４２４２|٤٢٤٢'"; }

t_attack_s33_pan_unicode_customer() {
  local body n0
  n0=$(as33u_stored)
  for body in '{"name":"Jenny ４２４２ ４２４２ ４２４２ ４２４２"}' \
              '{"description":"\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12"}' \
              '{"metadata":{"note":"٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"}}'; do
    http POST "$GATEWAY_URL/v1/customers" "$STRONGROOM_SK" "$body"
    eq "$body" "$STATUS/$(j .error.code)" 400/pan_not_allowed
  done
  eq "nothing stored" "$(as33u_stored)" "$n0"
}
