#!/usr/bin/awk -f
# Strict checker for the Prometheus text exposition format 0.0.4
# (https://prometheus.io/docs/instrumenting/exposition_formats/), for
# tests: prints one "promcheck: line N: reason" per problem, exits 1 if any.
#  - comment lines: "# HELP name text" / "# TYPE name type" (once per family,
#    TYPE before the family's samples); other "#" lines are comments
#  - samples: name[{label="value",...}] value [timestamp]; metric and label
#    names match [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*; label
#    values use only the escapes \\ \" \n; no duplicate label names or series
#  - a family's samples are contiguous; counters end in _total and are >= 0
#  - histograms: _bucket series carry le, buckets are cumulative and end
#    with le="+Inf" equal to _count; _sum and _count present
#  - no label value that could be a card number, token or key (Strongroom
#    invariant 1): 12+ digit runs, tok_/sk_/pk_/rk_ prefixes
function bad(msg) { printf "promcheck: line %d: %s\n", NR, msg; errors++ }
function isnum(v) { return v ~ /^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$/ || v ~ /^[-+]?Inf$/ || v == "NaN" }
function family_of(n,   b) {
  if (n in type) return n
  b = n; sub(/_(bucket|sum|count)$/, "", b)
  if (b in type && type[b] == "histogram") return b
  return n
}
BEGIN { errors = 0; nsamples = 0; current = "" }
/^#/ {
  if ($0 ~ /^# (HELP|TYPE) /) {
    name = $3
    if (name !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/) { bad("bad metric name in comment"); next }
    if ($2 == "TYPE") {
      if (name in type) bad("second TYPE for " name)
      if (name in seen_family) bad("TYPE after samples of " name)
      if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4) bad("bad TYPE line")
      type[name] = $4
    } else {
      if (name in help) bad("second HELP for " name)
      help[name] = 1
    }
  }
  next
}
/^[ \t]*$/ { next }
{
  line = $0
  if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { bad("bad metric name"); next }
  name = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
  labels = ""; le = ""; delete lnames
  if (substr(rest, 1, 1) == "{") {
    i = 2; n = length(rest); ok = 0
    while (i <= n) {
      c = substr(rest, i, 1)
      if (c == "}") { ok = 1; i++; break }
      if (!match(substr(rest, i), /^[a-zA-Z_][a-zA-Z0-9_]*="/)) { bad("bad label"); break }
      lname = substr(rest, i, RLENGTH - 2); i += RLENGTH
      if (lname in lnames) bad("duplicate label " lname)
      lnames[lname] = 1
      val = ""; closed = 0
      while (i <= n) {
        c = substr(rest, i, 1)
        if (c == "\\") {
          d = substr(rest, i + 1, 1)
          if (d != "\\" && d != "\"" && d != "n") { bad("bad escape in label value"); break }
          val = val c d; i += 2; continue
        }
        if (c == "\"") { closed = 1; i++; break }
        val = val c; i++
      }
      if (!closed) { bad("unterminated label value"); break }
      if (val ~ /[0-9]{12}/ || val ~ /[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]/ || val ~ /^(tok|sk|pk|rk)_/) bad("label value looks like a card number, token or key")
      if (lname == "le") le = val; else labels = labels lname "=" val ","
      c = substr(rest, i, 1)
      if (c == ",") { i++; continue }
      if (c != "}") { bad("expected , or } after label"); break }
    }
    if (!ok) { if (i > n) bad("unterminated label set"); next }
    rest = substr(rest, i)
  }
  if (rest !~ /^ /) { bad("no space before value"); next }
  nf = split(substr(rest, 2), parts, " ")
  if (nf < 1 || nf > 2 || !isnum(parts[1])) { bad("bad value"); next }
  if (nf == 2 && parts[2] !~ /^-?[0-9]+$/) { bad("bad timestamp"); next }
  v = parts[1]
  fam = family_of(name)
  if (fam != current) {
    if (fam in seen_family) bad("samples of " fam " are not contiguous")
    seen_family[fam] = 1; current = fam
  }
  key = name "{" labels "le=" le "}"
  if (key in series) bad("duplicate series " key)
  series[key] = 1; nsamples++
  t = (fam in type) ? type[fam] : "untyped"
  if (t == "counter") {
    if (name !~ /_total$/) bad("counter " name " does not end in _total")
    if (v + 0 < 0) bad("negative counter")
  }
  if (t == "histogram") {
    if (name == fam "_bucket") {
      if (le == "") { bad("bucket without le"); next }
      if ((fam, labels) in last_bucket && v + 0 < last_bucket[fam, labels]) bad("buckets not cumulative")
      last_bucket[fam, labels] = v + 0
      if (le == "+Inf") inf[fam, labels] = v + 0
    } else if (name == fam "_count") {
      cnt[fam, labels] = v + 0
      if (!((fam, labels) in inf)) bad("no +Inf bucket before _count")
      else if (inf[fam, labels] != v + 0) bad("+Inf bucket differs from _count")
    } else if (name == fam "_sum") {
      sum[fam, labels] = 1
    } else bad("unexpected histogram sample " name)
  }
}
END {
  for (k in inf) { if (!(k in cnt)) { split(k, kk, SUBSEP); bad("histogram " kk[1] " without _count") } }
  if (nsamples == 0) bad("no samples")
  exit errors > 0 ? 1 : 0
}
