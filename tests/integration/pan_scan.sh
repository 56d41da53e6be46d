#!/usr/bin/env bash
# pan_scan.sh [FILE...]: print every Luhn-valid 13-19 digit number (a whole word:
# a hex or base62 string that happens to hold a run of digits is not a number)
# found in the files or stdin. Exit 0 when none, 1 when some.
# Used for invariant 1 (no PAN outside the CDE).
for f in "$@"; do [ -r "$f" ] || { echo "pan_scan: cannot read $f" >&2; exit 2; }; done
grep -ahoE '\b[0-9]{13,}\b' "$@" | awk '
  length($0) >= 13 && length($0) <= 19 {
    s = 0; n = length($0); alt = 0
    for (i = n; i >= 1; i--) {
      d = substr($0, i, 1) + 0
      if (alt) { d *= 2; if (d > 9) d -= 9 }
      s += d; alt = !alt
    }
    if (s % 10 == 0) { print; found = 1 }
  }
  END { exit found ? 1 : 0 }'
