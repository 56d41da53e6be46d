# Integration tests for issue 8's evidence tools: panscan (the PAN scanner a QSA
# runs) and compliance/check.sh (make compliance). Sourced by run.sh.

t_panscan_cli() {
  local d=$TMP/panscan out rc
  mkdir -p "$d/sub"
  # Ordinary data: hashes, UUIDs, long ids, millisecond timestamps, a 13-digit invoice number, dates.
  printf 'ok: sha=deadbeefdeadbeef4000000000009995cafecafecafecafe id=42424242424242424242 ts=1765118001234\n' > "$d/clean.log"
  printf 'uuid=3f1c0b4e-8a7d-4c55-9d0e-2b9a1f6c7e21 Invoice 4123456789012 at 2026-12-07 14:33:21.123456+00\n' >> "$d/clean.log"
  "$SR_BIN/panscan" "$d/clean.log" >/dev/null 2>&1; eq "clean file exit" $? 0
  printf 'line1\ncard 4242 4242 4242 4242 seen\n' > "$d/sub/spaced.log"
  printf '{"n":"5555-5555-5555-4444"}\n' > "$d/sub/dashed.json"
  # Every shape issue 15 named: wide gaps, tabs, dots, ____, mixed, glued, _-glued, %-encoded, \u-escaped.
  printf '%s\n' '4111    1111    0000    0028' $'4111\t1111\t0000\t0028' 4111.1111.0000.0028 4111____1111____0000____0028 \
    '4111 -/1111._0000 , 0028' abc4111111100000028x pay_4111111100000028 %34%31%31%31%31%31%31%31%30%30%30%30%30%30%32%38 \
    '\u0034\u0031\u0031\u0031\u0031\u0031\u0031\u0031\u0030\u0030\u0030\u0030\u0030\u0030\u0032\u0038' > "$d/sub/shapes.txt"
  # A socket (a running PostgreSQL's, say) is skipped with a warning, not an error.
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/sub/.s.PGSQL.5432" 2>/dev/null
  out=$("$SR_BIN/panscan" "$d" 2>"$d.err"); rc=$?
  eq "findings exit" "$rc" 1
  grep -q "spaced.log:2:6: 424242\*\*\*\*\*\*4242 (16 digits)" <<<"$out" || fail "spaced PAN not reported with its position: $out"
  grep -q "dashed.json:1:7: 555555\*\*\*\*\*\*4444" <<<"$out" || fail "dashed PAN not reported: $out"
  eq "every shape found" "$(grep -c 'shapes.txt:.*411111\*\*\*\*\*\*0028' <<<"$out")" 9
  if [ -S "$d/sub/.s.PGSQL.5432" ]; then
    grep -q 'PGSQL.5432: skipped (socket' "$d.err" || fail "the socket was not reported as skipped: $(cat "$d.err")"
  fi
  grep -q '1 special file(s) skipped\|0 special file(s) skipped' "$d.err" || fail "no report: $(cat "$d.err")"
  mkdir -p "$d/pg_wal" && printf 'x 4242424242424242 y' > "$d/pg_wal/000000010000000000000001"
  "$SR_BIN/panscan" -- "$d/pg_wal" >/dev/null 2>"$d.err"
  grep -q '1 of them PostgreSQL WAL segments' "$d.err" && grep -q 'not decompressed' "$d.err" ||
    fail "the report does not say how WAL is read: $(cat "$d.err")"
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
  # a requirement cited in code but missing from the control matrix (every v4.0
  # requirement has a row: this one is not a v4.0 requirement)
  printf '/* PCI DSS v4.0 %s: made up for this test */\n' 12.11.1 > "$cx/code/x.c"
  out=$(SR_COMPLIANCE_EXTRA_CODE=$cx/code compliance/check.sh 2>&1) && fail "an uncovered code citation passed"
  grep -q '12.11.1' <<<"$out" || fail "the uncovered citation is not named: $out"
  rm -f "$cx/code/x.c"
  # a document citing a path, a test and a requirement that do not exist
  printf 'See `vault/no_such_file.c`, `t_no_such_test` and PCI DSS %s.\n' 13.1.1 > "$cx/docs/bad.md"
  out=$(SR_COMPLIANCE_EXTRA_DOCS=$cx/docs compliance/check.sh 2>&1) && fail "bad citations in a document passed"
  grep -q 'no_such_file' <<<"$out" || fail "missing path not reported"
  grep -q 't_no_such_test' <<<"$out" || fail "missing test not reported"
  grep -q '13.1.1' <<<"$out" || fail "unknown requirement not reported"
  true
}
