#!/usr/bin/env bash
# The mutation tests of compliance/check.sh (run by it, so by make compliance):
# a document holding one bogus citation of each kind the checker exists to
# catch, and a flow list with an unexplained gap. Each must be reported on a
# line of its own, and nothing else about the fixture; then the same kinds of
# citation, valid, must pass. Prints what the checker said of each mutation;
# the last line is "selftest: N of N mutations caught".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/docs"
# Only the fixture's lines: the tree's own problems are the checker's business.
run() { SR_COMPLIANCE_NO_SELFTEST=1 SR_COMPLIANCE_EXTRA_DOCS=$T/docs SR_COMPLIANCE_FLOWS=$T/flows.tsv \
        compliance/check.sh 2>&1 | grep -F -- "$T"; }

# name <TAB> the fixture's text <TAB> what the checker's complaint must contain
mutations=$(cat <<'EOF'
line number	see `vault/vaultd.c:99999`	`vault/vaultd.c:99999`: a line number
missing function	see `vault/vaultd.c:no_such_function`	vault/vaultd.c defines no no_such_function
missing config file	see `etc/ghost.json`	no such file or directory etc/ghost.json
missing example	see `examples/ghost.js`	no such file or directory examples/ghost.js
missing JSON key	see `etc/vaultd.json:no_such_key`	etc/vaultd.json defines no no_such_key
missing heading	see `docs/architecture.md#no-such-heading`	has no heading with the anchor #no-such-heading
whole code file	see `vault/vaultd.c` (the sweeper)	a whole vault/vaultd.c is cited
BRIEF reference	as BRIEF.md says	as BRIEF.md says: refers to a document outside the repository
link outside	see [the design](../../DESIGN.md)	link ../../DESIGN.md: no such file
unclosed report marker	<!-- report:begin -->\nsee `vault/vaultd.c:no_such_function_b`	has no end
dot-slash path	see `./vault/vaultd.c:no_such_function_c`	vault/vaultd.c defines no no_such_function_c
name only in a comment	see `iac/nftables/addresses-harness.nft:NAME`	addresses-harness.nft defines no NAME
C call argument	see `hsm/ceremonies/hsm_custodian.c:master`	hsm_custodian.c defines no master
link with a title	see [the design](../../TITLED.md "design")	link ../../TITLED.md: no such file
reference link	[design]: ../../../DESIGN.md	link ../../../DESIGN.md: no such file
file URL	see [notes](file:///home/ops/DESIGN.md)	file:///home/ops/DESIGN.md: outside the repository
dot-dot inside a path	see `docs/../../../../../../../../../../../../tmp/`	may leave the repository
Requirement capitalised	as PCI DSS Requirement 13.9.1 says	cites PCI DSS 13.9.1, not in
appendix requirement	as PCI DSS A3.9.9 says	cites PCI DSS A3.9.9, not in
EOF
)
# One fixture file a mutation (\n in the text: a new line), so that none hides another.
i=0
while IFS=$'\t' read -r _ text _; do i=$((i + 1)); printf '%b\n' "$text" > "$T/docs/bad$i.md"; done <<<"$mutations"
printf 'F1\ta\tb\t1\tx\nF2\ta\tb\t2\tx\nF4\ta\tb\t4\tx\n' > "$T/flows.tsv"
out=$(run)
n=0 caught=0 ok=1
while IFS=$'\t' read -r name _ want; do
  n=$((n + 1))
  if line=$(grep -F -m1 -- "$want" <<<"$out"); then caught=$((caught + 1)); echo "caught ($name):$line"
  else echo "MISSED ($name): expected \"$want\""; fi
done <<<"$mutations"
n=$((n + 1))
if line=$(grep -F -m1 'flow F3 is missing' <<<"$out"); then caught=$((caught + 1)); echo "caught (flow gap):$line"
else echo "MISSED (flow gap)"; fi
got=$(grep -c '^  ' <<<"$out")
[ "$got" -eq "$n" ] || { echo "expected $n problems in the fixture, the checker reported $got:"; echo "$out"; ok=0; }

# The same kinds, valid: nothing reported.
rm -f "$T"/docs/bad*.md
cat > "$T/docs/bad.md" <<'EOF'
`vault/vaultd.c:main`, `common/sr_secret.h:sr_secret_read_file`, `etc/vaultd.json:db_port`,
`docs/architecture.md#folder-map`, `vault/api/`, `docs/invariants.md`, `Makefile:compliance`,
`tests/integration/t_compliance.sh:t_compliance_check`, `iac/segmentation/flows.tsv:F1`,
`compliance/check.sh:bad`, `migrations/vault/0001_init.sql:tokens`.
EOF
printf 'F1\ta\tb\t1\tx\n# F2: unused, for this test\nF3\ta\tb\t3\tx\n' > "$T/flows.tsv"
out=$(run); if [ -n "$out" ]; then echo "valid citations were refused:"; echo "$out"; ok=0; fi

echo "selftest: $caught of $n mutations caught"
[ "$ok" -eq 1 ] && [ "$caught" -eq "$n" ]
