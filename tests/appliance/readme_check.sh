#!/usr/bin/env bash
# README.md's "Install on a server" is the appliance test's steps: the
# "# N. title" lines of its shell block are, in order, the `step "N. title"`
# lines of tests/appliance/run.sh, and every command of the block (a line
# that is neither empty nor a comment) is, verbatim, a line or part of a
# line of the test, and every command the test runs as the operator is a
# line of the block. Needs nothing but the two files; run by
# tests/appliance/run.sh first, also when the appliance test skips.
# Prints "appliance readme-check: N commands, N steps, N problems".
set -uo pipefail
cd "$(dirname "$0")/../.."
T=tests/appliance/run.sh
sec=$(awk '/^## Install on a server/{on=1; next} on && /^## /{exit} on' README.md)
code=$(awk '/^```/{c = !c; next} c' <<<"$sec")
problems=0 n=0
readme_steps=$(sed -n 's/^# \([0-9][0-9]*\. .*\)/\1/p' <<<"$code")
test_steps=$(sed -n 's/^step "\([0-9][0-9]*\. [^"]*\)".*/\1/p' "$T")
if [ -z "$readme_steps" ] || [ "$readme_steps" != "$test_steps" ]; then
  echo "appliance readme-check: README.md's steps (<) differ from $T's (>):"
  diff <(echo "$readme_steps") <(echo "$test_steps") | grep '^[<>]'
  problems=$((problems + 1))
fi
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  n=$((n + 1))
  grep -qF -- "$line" "$T" || { echo "appliance readme-check: not in $T: $line"; problems=$((problems + 1)); }
done <<<"$code"
# And the other way: every operator command of the test (its `os <<'EOF'`
# blocks and $VC_DEF) is a line of the README's block.
while IFS= read -r line; do
  grep -qxF -- "$line" <<<"$code" || { echo "appliance readme-check: not in README.md: $line"; problems=$((problems + 1)); }
done < <(awk '/^(os .*|VC_DEF=.*)<<.EOF.$/{on=1; next} on && /^EOF$/{on=0; next} on' "$T")
[ "$n" -gt 0 ] || { echo "appliance readme-check: no commands in README.md's \"Install on a server\""; problems=$((problems + 1)); }
echo "appliance readme-check: $n commands, $(grep -c . <<<"$readme_steps") steps, $problems problems"
[ "$problems" -eq 0 ]
