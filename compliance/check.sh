#!/usr/bin/env bash
# make compliance (part of make check): the documents in compliance/ cannot
# drift from the code.
#   1. every repository path cited in compliance/ (in `backticks`) exists;
#   2. every test cited (`t_name` integration, `test_name` cmocka) exists, and
#      every `make target` cited is a Makefile target;
#   3. every PCI DSS requirement ID cited in compliance/ (control matrix rows,
#      "PCI DSS x.y.z", "Req. x.y.z") is a PCI DSS v4.0 requirement listed in
#      compliance/pci_dss/requirements_v4.0.txt (or a section such as "3.6" holding one);
#   4. every "PCI DSS x.y.z" citation in the code (common vault gateway hsm
#      tools iac systemd migrations scripts tests) appears in
#      compliance/pci_dss/control_matrix.md: a row with that ID, or, for a
#      section-level citation ("3.4"), a row inside that section.
# Citations that wrap over comment lines are joined first.
# Prints each problem; exits 1 when there is one.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DOCS=compliance
MATRIX=compliance/pci_dss/control_matrix.md
REQS=compliance/pci_dss/requirements_v4.0.txt
CODE_DIRS=(common vault gateway hsm tools iac systemd migrations scripts tests ${SR_COMPLIANCE_EXTRA_CODE:-})
DOC_DIRS=("$DOCS" ${SR_COMPLIANCE_EXTRA_DOCS:-})   # the extras: for the checker's own tests
problems=0
bad() { echo "  $*"; problems=$((problems + 1)); }
[ -f "$MATRIX" ] || { echo "compliance: $MATRIX missing"; exit 1; }
[ -f "$REQS" ] || { echo "compliance: $REQS missing"; exit 1; }

# ids_in FILE...: "file<TAB>id" for every "PCI DSS [v4.0] [requirement(s)] ID[, / and ID]..."
ids_in() {
  perl -0777 -ne '
    my $f = $ARGV; my $t = $_;
    $t =~ s/\n[ \t]*(?:\*+|--|#+|\/\/|;)?[ \t]*/ /g;
    while ($t =~ /PCI[ ]DSS(?:[ ]v4\.0(?:\.1)?)?(?:[ ]requirements?)?[ ]*((?:(?:[ ]*(?:,|\/|and|&)[ ]*)?\d{1,2}(?:\.\d{1,2}){1,3}(?![\d.]*\d))+)/g) {
      my $list = $1;
      print "$f\t$_\n" for ($list =~ /(\d{1,2}(?:\.\d{1,2}){1,3})/g);
    }
    while ($t =~ /\bReq\.[ ]?(\d{1,2}(?:\.\d{1,2}){1,3})/g) { print "$f\t$1\n"; }
  ' "$@"
}

# Known requirement IDs (first field of each non-comment line).
declare -A KNOWN=()
while read -r id _; do case "$id" in ''|'#'*) continue ;; esac; KNOWN[$id]=1; done < "$REQS"
# Matrix rows: "| 3.5.1.1 | ..." (first column, optionally bold).
declare -A ROW=()
while read -r id; do ROW[$id]=1; done < <(sed -n 's/^| *\**\([0-9]\{1,2\}\(\.[0-9]\{1,2\}\)\{1,3\}\)\**  *|.*/\1/p' "$MATRIX")
[ ${#ROW[@]} -gt 0 ] || bad "$MATRIX: no requirement rows"

# 1-2. Paths, tests and make targets cited in the documents.
declare -A TARGETS=()
while read -r t; do TARGETS[$t]=1; done < <(sed -n 's/^\([a-z][a-z0-9_-]*\):.*/\1/p' Makefile)
while IFS=$'\t' read -r f ref; do
  case "$ref" in
    make\ *)
      t=${ref#make }; t=${t%% *}
      [ -n "${TARGETS[$t]:-}" ] || bad "$f: \`$ref\`: no Makefile target '$t'" ;;
    t_*)
      grep -qE "^${ref}\(\)" tests/integration/t_*.sh tests/attack/t_*.sh 2>/dev/null || bad "$f: integration test $ref not found in tests/integration/t_*.sh or tests/attack/t_*.sh" ;;
    test_*)
      grep -qE "\b${ref}\(" tests/unit/*.c tests/attack/*.c 2>/dev/null || bad "$f: unit test $ref not found in tests/unit/*.c or tests/attack/*.c" ;;
    *)
      p=${ref%%:*}; p=${p%%#*}
      case "$p" in build/*|var/*|/*) continue ;; esac   # generated or installed paths
      [ -e "$p" ] || bad "$f: cited path $p does not exist" ;;
  esac
done < <(perl -ne '
  while (/`([^`\s][^`]*?)`/g) {
    my $r = $1;
    if ($r =~ /^make [a-z][a-z0-9_-]*$/ || $r =~ /^(?:t|test)_[a-z0-9_]+$/
        || $r =~ m{^(?:common|vault|gateway|hsm|tools|iac|systemd|compliance|tests|scripts|migrations|docs)/[\w./-]*[\w/](?::[\w./-]+)?$}
        || $r =~ /^(?:Makefile|README\.md)$/) { print "$ARGV\t$r\n"; }
  }' $(find "${DOC_DIRS[@]}" -name '*.md'))

# 3. Requirement IDs cited in the documents are PCI DSS v4.0 requirements.
is_known() { local k; [ -n "${KNOWN[$1]:-}" ] && return 0; for k in "${!KNOWN[@]}"; do [[ $k == "$1".* ]] && return 0; done; return 1; }
while IFS=$'\t' read -r f id; do
  is_known "$id" || bad "$f: cites PCI DSS $id, not in $REQS"
done < <(ids_in $(find "${DOC_DIRS[@]}" -name '*.md'))
for id in "${!ROW[@]}"; do
  [ -n "${KNOWN[$id]:-}" ] || bad "$MATRIX: row $id is not in $REQS"
done

# 4. Every citation in the code is in the control matrix.
covered() {
  local id=$1 r
  [ -n "${ROW[$id]:-}" ] && return 0
  for r in "${!ROW[@]}"; do [[ $r == "$id".* ]] && return 0; done
  return 1
}
ncode=0
while IFS=$'\t' read -r f id; do
  ncode=$((ncode + 1))
  covered "$id" || bad "$f: cites PCI DSS $id, which $MATRIX does not list"
done < <(find "${CODE_DIRS[@]}" -type f \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.sql' \
            -o -name '*.nft' -o -name '*.service' -o -name '*.conf' -o -name '*.pl' -o -name '*.tsv' \) -print0 2>/dev/null \
         | xargs -0 -r perl -0777 -ne 'print "$ARGV\n"' | while read -r f; do ids_in "$f"; done | sort -u)

compliance/check_matrix.sh || problems=$((problems + 1))   # 5. every v4.0 requirement has one row (check_matrix.sh)
echo "compliance: ${#ROW[@]} matrix rows, $ncode code citations, $problems problems"
[ "$problems" -eq 0 ]
