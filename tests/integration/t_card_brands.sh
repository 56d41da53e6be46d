# Integration tests of card brands (issue 19 item 9): the vault reports the
# brand the network publishes for each IIN range and accepts the lengths it
# issues (vault/tokens/vault_card.c); numbers written with spaces or dashes
# are normalized. Sourced by run.sh (helpers: http, j, eq, fail, tokenize, pay).

t_card_brands_detected() {
  local pair number want
  for pair in 4242424242424242:visa 400000000000000002:visa 2223003122003222:mastercard \
              378282246310005:amex 6011111111111117:discover 36227206271667:diners \
              3566002020360505:jcb 6200000000000005:unionpay 6200000000000006:unionpay \
              675900000000:maestro 6304000000000000000:maestro 2200000000000004:mir \
              4011780000000006:elo 6500310000000005:elo 6062820000000003:hipercard \
              9792000000000003:troy 5061000000000005:verve 6073000000000009:rupay; do
    number=${pair%%:*}; want=${pair##*:}
    tokenize "$number" "$([ "$want" = amex ] && echo 1234 || echo 123)"
    eq "$number status" "$STATUS" 201
    eq "$number brand" "$(j .card.brand)" "$want"
    eq "$number last4" "$(j .card.last4)" "${number: -4}"
  done
  # refused: visa at 12 digits, elo at 19 (no fallback to visa)
  for number in 400000000002 4011780000000000009; do
    tokenize "$number"
    [[ $STATUS == 4* ]] || fail "$number accepted ($STATUS)"
    eq "$number code" "$(j .error.code)" incorrect_number
    grep -q "$number" <<<"$BODY" && fail "error echoes the number"
  done
  return 0
}

t_card_brands_separators_and_pay() {
  tokenize "4242 4242 4242 4242"
  eq "spaced status" "$STATUS" 201; eq "spaced brand" "$(j .card.brand)" visa
  eq "spaced last4" "$(j .card.last4)" 4242
  tokenize "4242-4242-4242-4242"
  eq "dashed status" "$STATUS" 201
  tokenize "4242  4242 4242 4242"
  eq "double space refused" "$(j .error.code)" incorrect_number
  # the new lengths and a UnionPay number outside Luhn reach the PSP
  for number in 675900000000 6200000000000006 400000000000000002; do
    tokenize "$number"; pay "$(j .id)"
    eq "$number pay status" "$STATUS" 201; eq "$number payment" "$(j .status)" captured
  done
}
