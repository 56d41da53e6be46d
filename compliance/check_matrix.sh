#!/usr/bin/env bash
# make compliance, the control matrix's coverage of PCI DSS v4.0 (run by
# compliance/check.sh). compliance/pci_dss/requirements_v4.0.txt lists every
# numbered v4.0 requirement; compliance/pci_dss/control_matrix.md must give
# each exactly one row:
#   | ID | subject | status | what the appliance does / the operator must do / why not | evidence | merchant |
#   status    implemented     the code meets it: the row cites code and a test;
#             operator        the operator's: the row cites the document that
#                             tells the operator what to do (`path.md[#anchor]`);
#             shared          both: the row says the split and cites that document;
#             not applicable  the row gives the reason.
#   merchant  who meets the requirement for a merchant whose card data Strongroom
#             handles (PCI DSS 12.8.5, 12.9.2): TPSP (Strongroom's operator),
#             merchant, both, or n/a. A service-provider-only requirement (its
#             subject in the list starts "service providers:" or "multi-tenant
#             service providers:") can only be the TPSP's.
# A row in an HTML comment or a code block is no row; a cited document or test
# file must exist. Every row's ID must be in the list. Prints each problem and the rows by status.
# Then, unless SR_MATRIX_SELFTEST=0, it checks itself: mutants of the matrix (a
# row deleted or duplicated, a status blanked or unknown, a test or a document
# removed, a service-provider row given to the merchant, a row for no
# requirement) must each fail, naming the requirement.
# Inputs (for the self-tests and tests/attack/t_attack_17_matrix.sh):
# SR_COMPLIANCE_MATRIX, SR_COMPLIANCE_REQS. Exit 1 on any problem.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MATRIX=${SR_COMPLIANCE_MATRIX:-compliance/pci_dss/control_matrix.md}
REQS=${SR_COMPLIANCE_REQS:-compliance/pci_dss/requirements_v4.0.txt}
[ -f "$MATRIX" ] || { echo "compliance: $MATRIX missing"; exit 1; }
[ -f "$REQS" ] || { echo "compliance: $REQS missing"; exit 1; }

# The rows: one line per row, "ID<TAB>status<TAB>merchant<TAB>element<TAB>evidence<TAB>ncols".
rows() {
  perl -ne '
    next unless /^\|\s*\**((?:A[1-3]|\d{1,2})(?:\.\d{1,2}){2,4})\**\s*\|/;
    my $id = $1; chomp; s/^\|//; s/\|\s*$//;
    my @c = map { s/^\s+|\s+$//gr } split /\|/;
    print join("\t", $id, $c[2] // "", $c[5] // "", $c[3] // "", $c[4] // "", scalar @c), "\n";
  ' "$1"
}

check() {  # MATRIX REQS: prints problems, returns 1 when there is one
  local matrix=$1 reqs=$2
  perl -e '
    my ($matrix, $reqs) = @ARGV;
    my (%sp, @order, %known);
    open my $R, "<", $reqs or die;
    while (<$R>) {
      next if /^\s*(#|$)/;
      my ($id, $subj) = /^(\S+)\s+(.*)$/ or next;
      push @order, $id; $known{$id} = 1;
      $sp{$id} = 1 if $subj =~ /^(?:multi-tenant )?service providers:/;
    }
    my (%n, %by, $problems);
    my $bad = sub { print "  $matrix: @_\n"; $problems++ };
    open my $M, "<", $matrix or die;
    my ($hidden, $fence) = (0, 0);   # a row in an HTML comment or a code block is no row
    while (<$M>) {
      if (/^\s*```/) { $fence = !$fence; next }
      $hidden = 1 if /^\s*<!--(?!.*-->)/;
      if ($hidden) { $hidden = 0 if /-->/; next }
      next if $fence;
      next unless /^\|\s*\**((?:A[1-3]|\d{1,2})(?:\.\d{1,2}){2,4})\**\s*\|/;
      my $id = $1; chomp; s/^\|//; s/\|\s*$//;
      my @c = map { s/^\s+|\s+$//gr } split /\|/;
      $n{$id}++;
      $bad->("row $id: not a requirement in $reqs") unless $known{$id};
      if (@c != 6) { $bad->("row $id: " . scalar(@c) . " columns, not 6 (Req. | Subject | Status | Element | Evidence | Merchant)"); next; }
      my ($st, $el, $ev, $me) = @c[2..5];
      my @cites = ("$el $ev" =~ /`([^`]+)`/g);
      # A cited document or test file must exist (make compliance resolves the rest).
      my $doc  = grep { m{^([\w./-]+\.md)(?:#[\w-]+)?$} && -f $1 } @cites;
      my $test = grep { m{^(?:t|test)_[a-z0-9_]+$} || (m{^(tests/[^:]*)} && -e $1) || (m{^([\w./-]+):(?:t|test)_[a-z0-9_]+$} && -f $1)
                        || m{^make (?:segmentation|systemd-verify|compliance|layout|fuzz|fuzz-panscan|faults|check)$} } @cites;
      my $code = grep { m{^(?:common|vault|gateway|hsm|tools|iac|systemd|migrations|scripts)/[\w./-]+(?::[\w.-]+)?$} && !m{\.md(?:#|$)} } @cites;
      if ($st eq "implemented") {
        $bad->("row $id: implemented, but cites no test") unless $test;
        $bad->("row $id: implemented, but cites no code") unless $code;
      } elsif ($st eq "operator" || $st eq "shared") {
        $bad->("row $id: $st, but cites no document telling the operator what to do (`path.md` or `path.md#anchor`)") unless $doc;
        $bad->("row $id: shared, but says nothing of what Strongroom does") if $st eq "shared" && length($el) < 20;
      } elsif ($st eq "not applicable") {
        $bad->("row $id: not applicable, but gives no reason") if length($el) < 20;
      } else {
        $bad->("row $id: status \"$st\" is not one of implemented, operator, shared, not applicable");
        next;
      }
      $by{$st}++;
      if ($me !~ /^(?:TPSP|merchant|both|n\/a)$/) {
        $bad->("row $id: merchant responsibility \"$me\" is not one of TPSP, merchant, both, n/a");
      } elsif ($sp{$id} && $me ne "TPSP" && !($st eq "not applicable" && $me eq "n/a")) {
        $bad->("row $id: a service-provider requirement, but the merchant column says \"$me\", not TPSP");
      }
    }
    for my $id (@order) {
      my $k = $n{$id} // 0;
      $bad->("requirement $id has no row") if $k == 0;
      $bad->("requirement $id has $k rows") if $k > 1;
    }
    my $rows = 0; $rows += $_ for values %n;
    printf "compliance: control matrix: %d requirements, %d rows (implemented %d, shared %d, operator %d, not applicable %d), %d problems\n",
      scalar @order, $rows, map({ $by{$_} // 0 } "implemented", "shared", "operator", "not applicable"), $problems // 0;
    exit($problems ? 1 : 0);
  ' "$matrix" "$reqs"
}

check "$MATRIX" "$REQS"; rc=$?
[ "${SR_MATRIX_SELFTEST:-1}" = 0 ] && exit $rc

# Self-tests: each mutant of the matrix must fail, and the failure must name its
# requirement. The mutants pick their rows from the matrix itself.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
row_of() { rows "$MATRIX" | awk -F'\t' -v s="$1" '$2 == s { print $1; exit }'; }
first_req=$(awk '!/^[ \t]*(#|$)/ { print $1; exit }' "$REQS")
sp_req=$(awk '!/^[ \t]*(#|$)/ && $2 == "service" && $3 == "providers:" { print $1; exit }' "$REQS")
impl=$(row_of implemented); oper=$(row_of operator)
re() { printf '%s' "$1" | sed 's/\./\\./g'; }   # ID as a regular expression
kill=0 total=0
mutant() {  # NAME ID PERL-SUBSTITUTION
  local name=$1 id=$2 expr=$3 out
  total=$((total + 1))
  perl -pe "$expr" "$MATRIX" > "$tmp/m.md"
  if cmp -s "$tmp/m.md" "$MATRIX"; then echo "  self-test $name ($id): the mutation changed nothing"; return; fi
  out=$(SR_MATRIX_SELFTEST=0 SR_COMPLIANCE_MATRIX=$tmp/m.md "$0" 2>&1)
  if [ $? -ne 0 ] && grep -q "$(re "$id")[^.0-9]" <<<"$out"; then kill=$((kill + 1)); else echo "  self-test $name ($id): survived"; fi
}
I=$(re "$first_req"); P=$(re "$impl"); O=$(re "$oper"); S=$(re "$sp_req")
mutant "row deleted"                 "$first_req" "\$_ = '' if /^\\| *\\**$I\\** *\\|/"
mutant "row duplicated"              "$first_req" "\$_ .= \$_ if /^\\| *\\**$I\\** *\\|/"
mutant "status blanked"              "$impl" "s/^(\\| *$P *\\|[^|]*\\|)[^|]*\\|/\$1 |/"
mutant "status unknown"              "$impl" "s/^(\\| *$P *\\|[^|]*\\|)[^|]*\\|/\$1 done |/"
mutant "implemented without a test"  "$impl" "s/\`(?:t_|test_|tests\\/|make )[^\`]*\`//g if /^\\| *$P *\\|/"
mutant "operator without a document" "$oper" "s/\`[^\`]*\\.md(?:#[^\`]*)?\`//g if /^\\| *$O *\\|/"
mutant "operator citing a document that does not exist" "$oper" "s/\`[^\`]*\\.md(?:#[^\`]*)?\`/\`ghost.md\`/g if /^\\| *$O *\\|/"
mutant "implemented citing a test file that does not exist" "$impl" "s/\`(?:t_|test_|tests\\/|make )[^\`]*\`/\`ghost.sh:t_covers_it\`/g if /^\\| *$P *\\|/"
mutant "row hidden in an HTML comment" "$first_req" "\$_ = \"<!--\\n\$_-->\\n\" if /^\\| *\\**$I\\** *\\|/"
mutant "merchant column unknown"     "$impl" "s/\\|[^|]*\\|\\s*\$/| someone |\\n/ if /^\\| *$P *\\|/"
mutant "service provider's row given to the merchant" "$sp_req" "s/\\|[^|]*\\|\\s*\$/| merchant |\\n/ if /^\\| *$S *\\|/"
mutant "row for no requirement"      "12.11.1" "\$_ .= \"| 12.11.1 | made up | operator | x | \\\`compliance/pci_dss/control_matrix.md\\\` | TPSP |\\n\" if /^\\| *\\**$I\\** *\\|/"
echo "compliance: control matrix self-test: $kill of $total mutants caught"
[ "$kill" -eq "$total" ] || rc=1
exit $rc
