#!/usr/bin/env bash
# make compliance (part of make check): the documents (every markdown file of
# the repository: compliance/, docs/, hsm/ceremonies/, README.md ...) cannot
# drift from the code, and the repository stands alone.
#   1. every citation (a backticked repository path, `file:NAME` or
#      `doc.md#heading`) resolves: compliance/citations.pl says how;
#   2. every test cited (`t_name` integration, `test_name` cmocka) exists, and
#      every `make target` cited is a Makefile target;
#   3. every PCI DSS requirement ID cited in compliance/ (control matrix rows,
#      "PCI DSS x.y.z", "Req. x.y.z") is a PCI DSS v4.0 requirement listed in
#      compliance/pci_dss/requirements_v4.0.txt (or a section such as "3.6" holding one);
#   4. every "PCI DSS x.y.z" citation in the code (common vault gateway hsm
#      tools iac systemd migrations scripts tests) appears in
#      compliance/pci_dss/control_matrix.md: a row with that ID, or, for a
#      section-level citation ("3.4"), a row inside that section;
#   5. no file refers to a document outside the repository: no "BRIEF",
#      "STYLE.md" or "the brief", no markdown link or cited path leaving it
#      (`../` above the root; a `file:` URL), and every link inside it
#      (`[text](target "title")`, `[label]: target`) resolves;
#   6. the flow ids of iac/segmentation/flows.tsv are contiguous, or a comment
#      line says why a number is skipped ("# F3: ...");
#   7. the checker's own mutation tests (compliance/check_selftest.sh): each
#      kind of bogus citation above must make this script fail.
# Citations that wrap over comment lines are joined first.
# Prints each problem; exits 1 when there is one.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DOCS=compliance
MATRIX=compliance/pci_dss/control_matrix.md
REQS=compliance/pci_dss/requirements_v4.0.txt
CODE_DIRS=(common vault gateway hsm tools iac systemd migrations scripts tests ${SR_COMPLIANCE_EXTRA_CODE:-})
DOC_DIRS=(${SR_COMPLIANCE_EXTRA_DOCS:-})   # the extras: for the checker's own tests
mapfile -t DOC_FILES < <( { git ls-files '*.md' 2>/dev/null | grep -v node_modules/; \
  [ ${#DOC_DIRS[@]} -eq 0 ] || find "${DOC_DIRS[@]}" -name '*.md'; } | sort -u)
TMPD=$(mktemp -d); trap 'rm -rf "$TMPD"' EXIT
problems=0
bad() { echo "  $*"; problems=$((problems + 1)); }
[ -f "$MATRIX" ] || { echo "compliance: $MATRIX missing"; exit 1; }
[ -f "$REQS" ] || { echo "compliance: $REQS missing"; exit 1; }

# ids_in FILE...: "file<TAB>id" for every "PCI DSS [v4.0] [requirement(s)] ID[, / and ID]..."
ids_in() {
  perl -0777 -ne '
    my $f = $ARGV; my $t = $_;
    $t =~ s/\n[ \t]*(?:\*+|--|#+|\/\/|;)?[ \t]*/ /g;
    while ($t =~ /PCI[ ]DSS(?:[ ]v4\.0(?:\.1)?)?(?:[ ](?i:requirements?))?[ ]*((?:(?:[ ]*(?:,|\/|and|&)[ ]*)?(?:A[1-3]|\d{1,2})(?:\.\d{1,2}){1,3}(?![\d.]*\d))+)/g) {
      my $list = $1;
      print "$f\t$_\n" for ($list =~ /((?:A[1-3]|\d{1,2})(?:\.\d{1,2}){1,3})/g);
    }
    while ($t =~ /\bReq\.[ ]?(\d{1,2}(?:\.\d{1,2}){1,3})/g) { print "$f\t$1\n"; }
  ' "$@"
}

# Known requirement IDs (first field of each non-comment line).
declare -A KNOWN=()
while read -r id _; do case "$id" in ''|'#'*) continue ;; esac; KNOWN[$id]=1; done < "$REQS"
# Matrix rows: "| 3.5.1.1 | ..." (first column, optionally bold).
declare -A ROW=()
while read -r id; do ROW[$id]=1; done < <(sed -n 's/^| *\**\(\(A[1-3]\|[0-9]\{1,2\}\)\(\.[0-9]\{1,2\}\)\{1,3\}\)\**  *|.*/\1/p' "$MATRIX")
[ ${#ROW[@]} -gt 0 ] || bad "$MATRIX: no requirement rows"

# 1. Citations of repository paths, functions, keys and headings.
perl compliance/citations.pl "${DOC_FILES[@]}" > "$TMPD/cite" || true
ncite=$(sed -n 's/^citations: \([0-9]*\) checked.*/\1/p' "$TMPD/cite")
while read -r l; do bad "$l"; done < <(grep '^  ' "$TMPD/cite")

# 2. Tests and make targets cited in the documents.
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
      [ -f "tests/unit/$ref.c" ] || [ -f "tests/attack/$ref.c" ] ||   # a test program, or a test in one
        grep -qE "\b${ref}\(" tests/unit/*.c tests/attack/*.c 2>/dev/null || bad "$f: unit test $ref not found in tests/unit/*.c or tests/attack/*.c" ;;
  esac
done < <(perl -ne '
  while (/`([^`\s][^`]*?)`/g) {
    my $r = $1;
    print "$ARGV\t$r\n" if $r =~ /^make [a-z][a-z0-9_-]*$/ || $r =~ /^(?:t|test)_[a-z0-9_]+$/;
  }' "${DOC_FILES[@]}")

# 3. Requirement IDs cited in the documents are PCI DSS v4.0 requirements.
is_known() { local k; [ -n "${KNOWN[$1]:-}" ] && return 0; for k in "${!KNOWN[@]}"; do [[ $k == "$1".* ]] && return 0; done; return 1; }
while IFS=$'\t' read -r f id; do
  is_known "$id" || bad "$f: cites PCI DSS $id, not in $REQS"
done < <(ids_in "${DOC_FILES[@]}")
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

# 5. The repository stands alone: nothing refers to a document outside it.
mapfile -t ALL < <( { git ls-files 2>/dev/null | grep -v -e node_modules/ -e '^compliance/check\(_selftest\)\?\.sh$'; \
  for d in ${SR_COMPLIANCE_EXTRA_DOCS:-} ${SR_COMPLIANCE_EXTRA_CODE:-}; do find "$d" -type f; done; } )
while IFS= read -r l; do
  bad "${l:0:160}: refers to a document outside the repository (write it down in docs/ and cite that)"
done < <(grep -nIE '\bBRIEF\b|\bSTYLE\.md\b|\b[Tt]he brief\b' "${ALL[@]}" 2>/dev/null)
while IFS= read -r l; do bad "$l"; done < <(perl -MCwd=abs_path -MFile::Basename=dirname -ne '
  BEGIN { $root = abs_path(".") }
  my @t = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;        # [text](target "title")
  push @t, $1 if /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)/;  # [label]: target
  push @t, $1 while /`(\.\.\/[^`\s]*)`/g;
  for my $t (@t) {
    if ($t =~ m{^file:}i) { print "$ARGV:$.: link $t: outside the repository\n"; next }
    next if $t =~ m{^(?:[a-z]+:|#)};
    (my $p = $t) =~ s/#.*//;
    my $f = dirname($ARGV) . "/$p";
    my $a = abs_path($f);
    if (!defined $a || !-e $a) { print "$ARGV:$.: link $t: no such file\n" }
    elsif (index("$a/", "$root/") != 0) { print "$ARGV:$.: link $t: outside the repository\n" }
  }
  close ARGV if eof;' "${DOC_FILES[@]}")

# 6. The flow list is contiguous, or says why a number is skipped.
FLOWS=${SR_COMPLIANCE_FLOWS:-iac/segmentation/flows.tsv}
max=$(sed -n 's/^F\([0-9]\{1,\}\)\t.*/\1/p' "$FLOWS" | sort -n | tail -1)
for ((n = 1; n <= ${max:-0}; n++)); do
  grep -qE "^F$n"$'\t' "$FLOWS" || grep -qE "^# *F$n: [a-z]" "$FLOWS" ||
    bad "$FLOWS: flow F$n is missing and no '# F$n: <why>' line explains the gap"
done

# 7. Every v4.0 requirement has one row (check_matrix.sh).
compliance/check_matrix.sh || problems=$((problems + 1))

# 8. The checker's own mutation tests.
if [ -z "${SR_COMPLIANCE_NO_SELFTEST:-}" ]; then
  compliance/check_selftest.sh > "$TMPD/selftest" 2>&1 || { cat "$TMPD/selftest"; bad "the checker's mutation tests failed"; }
  sed -n 's/^selftest: //p' "$TMPD/selftest"
fi

echo "compliance: ${#ROW[@]} matrix rows, ${ncite:-0} citations resolved, $ncode code citations, $problems problems"
[ "$problems" -eq 0 ]
