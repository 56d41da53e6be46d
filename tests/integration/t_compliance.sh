# Integration tests for issue 8's evidence tools: panscan (the PAN scanner a QSA
# runs) and compliance/check.sh (make compliance). Sourced by run.sh.

t_panscan_cli() {
  local d=$TMP/panscan out rc
  mkdir -p "$d/sub"
  printf 'ok: tok_4242424242424242 sha=deadbeef4000000000009995 id=42424242424242424242\n' > "$d/clean.log"
  "$SR_BIN/panscan" "$d/clean.log" >/dev/null; eq "clean file exit" $? 0
  printf 'line1\ncard 4242 4242 4242 4242 seen\n' > "$d/sub/spaced.log"
  printf '{"n":"5555-5555-5555-4444"}\n' > "$d/sub/dashed.json"
  out=$("$SR_BIN/panscan" "$d"); rc=$?
  eq "findings exit" "$rc" 1
  grep -q "spaced.log:2:6: 424242\*\*\*\*\*\*4242 (16 digits)" <<<"$out" || fail "spaced PAN not reported with its position: $out"
  grep -q "dashed.json:1:7: 555555\*\*\*\*\*\*4444" <<<"$out" || fail "dashed PAN not reported: $out"
  awk '{print $2}' <<<"$out" | grep -Eq '[0-9]{7}' && fail "panscan printed more than BIN and last four"
  echo "x 378282246310005 y" | "$SR_BIN/panscan" -q; eq "stdin finding, quiet" $? 1
  "$SR_BIN/panscan" "$d/missing" 2>/dev/null; eq "unreadable input exit" $? 2
  "$SR_BIN/panscan" --bogus 2>/dev/null; eq "unknown option exit" $? 2
  true
}

t_compliance_check() {
  local cx=$TMP/cx out
  compliance/check.sh >/dev/null 2>&1 || fail "make compliance fails on the tree"
  mkdir -p "$cx/code" "$cx/docs"
  # a requirement cited in code but missing from the control matrix
  printf '/* PCI DSS v4.0 %s: made up for this test */\n' 9.4.7 > "$cx/code/x.c"
  out=$(SR_COMPLIANCE_EXTRA_CODE=$cx/code compliance/check.sh 2>&1) && fail "an uncovered code citation passed"
  grep -q '9.4.7' <<<"$out" || fail "the uncovered citation is not named: $out"
  rm -f "$cx/code/x.c"
  # a document citing a path, a test and a requirement that do not exist
  printf 'See `vault/no_such_file.c`, `t_no_such_test` and PCI DSS %s.\n' 13.1.1 > "$cx/docs/bad.md"
  out=$(SR_COMPLIANCE_EXTRA_DOCS=$cx/docs compliance/check.sh 2>&1) && fail "bad citations in a document passed"
  grep -q 'no_such_file' <<<"$out" || fail "missing path not reported"
  grep -q 't_no_such_test' <<<"$out" || fail "missing test not reported"
  grep -q '13.1.1' <<<"$out" || fail "unknown requirement not reported"
  true
}
