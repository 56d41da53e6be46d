# Attack suite, issue 17 item 3: the control matrix covers every PCI DSS v4.0
# requirement, and `make compliance` (compliance/check.sh, which runs
# compliance/check_matrix.sh) fails when it does not. Each test hands the
# checker a mutant of the committed matrix through SR_COMPLIANCE_MATRIX and
# expects a failure that names the requirement. Sourced by
# tests/integration/run.sh (helpers: fail).

MATRIX17=compliance/pci_dss/control_matrix.md

# matrix17_mutant WHAT ID SED-EXPR: the checker refuses the matrix edited by SED-EXPR, naming ID.
matrix17_mutant() {
  local what=$1 id=$2 expr=$3 m=$TMP/matrix17.md out
  sed -E "$expr" "$MATRIX17" > "$m"
  cmp -s "$m" "$MATRIX17" && { fail "$what: the mutation changed nothing"; return; }
  out=$(SR_COMPLIANCE_MATRIX=$m compliance/check.sh 2>&1) && { fail "$what: make compliance passed"; return; }
  grep -q "$id" <<<"$out" || fail "$what: $id not named: $(tail -3 <<<"$out")"
}

t_attack_17_matrix_row_deleted() {
  compliance/check.sh >/dev/null 2>&1 || fail "make compliance fails on the tree"
  matrix17_mutant "row 3.5.1 deleted" 3.5.1 '/^\| 3\.5\.1 \|/d'
  matrix17_mutant "row 12.10.1 deleted" 12.10.1 '/^\| 12\.10\.1 \|/d'
  matrix17_mutant "row 8.4.2 deleted" 8.4.2 '/^\| 8\.4\.2 \|/d'
}

t_attack_17_matrix_status_missing_or_unknown() {
  matrix17_mutant "status of 1.3.1 blanked" 1.3.1 's/^(\| 1\.3\.1 \|[^|]*\|)[^|]*\|/\1 |/'
  matrix17_mutant "status of 1.3.1 unknown" 1.3.1 's/^(\| 1\.3\.1 \|[^|]*\|)[^|]*\|/\1 done |/'
}
