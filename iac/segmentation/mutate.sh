# Sourced by iac/segmentation/run.sh once the zones, daemons and canaries are
# up (it uses run.sh's ZONES, PORTS, ADDR, NS, ALLOW, probe_src, nsx, record,
# is_zone, PLAN, NFT_DIR, WORK, HERE, P). Two things:
#
#  - each chain alone (PCI DSS 11.4.5: every control tested, not only the first
#    one a packet meets): the matrix is run again with every zone's output
#    chain and the edge's forward chain opened ("input" pass: only the
#    destination's input chain can refuse), then with every input chain opened
#    ("output" pass: only the sender's output chain can refuse);
#  - mutation testing: every mutant of every ruleset (mutants.pl) is loaded in
#    its zone, alone, and the checks that pass through that zone are run
#    against it until one fails (the mutant is "killed"). A mutant no check
#    kills "survives": the run fails unless survivors.tsv explains it.
#
# A chain is opened by inserting "accept" at its top; a ruleset is reset by
# deleting its table and loading plan + ruleset again.

MUT_MS=${SEG_MUTANT_PROBE_MS:-250}   # probe deadline per mutant batch (ms)

# load_zone ZONE FILE PASS: ZONE's table replaced by FILE (with the plan), then
# opened as PASS needs (normal: as written; input: output chain, and the
# edge's forward chain, accept; output: input chain accepts). Fails when nft
# refuses FILE.
load_zone() {
  local z=$1 f=$2 pass=$3
  { echo "table inet sr_$z"; echo "delete table inet sr_$z"; cat "$PLAN" "$f"
    case $pass in
      input)  echo "insert rule inet sr_$z output accept"
              [ "$z" != edge ] || echo "insert rule inet sr_$z forward accept" ;;
      output) echo "insert rule inet sr_$z input accept" ;;
    esac
  } | nsx "$z" nft -f - 2>/dev/null
}

# rows PASS ZONE: the probe rows of PASS that pass through ZONE's ruleset, as
# "SOURCE ADDR:PORT EXPECTED" (EXPECTED: open or timeout).
#   normal  every pair with a zone at one end: open iff flows.tsv allows it;
#           and every zone host to itself (loopback): open;
#   input   every host to every zone host, senders' egress open: open iff the
#           destination's input chain admits it (a flow from "outside" admits
#           any source there; the zones' own egress is the other chain's job);
#   output  every zone host to every host, receivers' input open: open iff
#           flows.tsv allows it.
# Left out: the CDE host to the edge's 443 in the input pass (the edge would
# hand the CDE host its own packet back: the kernel drops a packet from its own
# address, whatever the rulesets say).
rows() {
  local pass=$1 z=$2 s d p exp
  if [ "$pass" = normal ] && is_zone "$z"; then echo "$z ${ADDR[$z]}:22 open"; fi
  for s in "${probe_src[@]}"; do
    for d in "${ZONES[@]}" psp site; do
      [ "$d" = "$s" ] || [ "${NS[$d]}" = "$s" ] && continue
      case $pass in
        normal) is_zone "$s" || is_zone "$d" || continue
                [ "$s" = "$z" ] || [ "$d" = "$z" ] || [ "$z:$d" = cde:edge ] || continue ;;
        input)  is_zone "$d" || continue
                [ "$d" = "$z" ] || [ "$z:$d" = cde:edge ] || continue ;;
        output) [ "$s" = "$z" ] || continue ;;
      esac
      for p in "${PORTS[@]}"; do
        [ "$z:$d" = cde:edge ] && [ "$s" != cde ] && [ "$p" != 443 ] && continue
        if [ "$pass" = input ]; then
          [ "$s:$d:$p" = cde:edge:443 ] && continue
          exp=${ALLOW_IN[$s:$d:$p]:+open}
        else
          exp=${ALLOW[$s:$d:$p]:+open}
        fi
        echo "$s ${ADDR[$d]}:$p ${exp:-timeout}"
      done
    done
  done
}
declare -A ALLOW_IN=() FLOW_TO=()
while IFS=$'\t' read -r id src dst port _desc; do
  case "$id" in ''|'#'*) continue ;; esac
  FLOW_TO[$dst:$port]=$id
  if [ "$src" = outside ]; then
    for s in "${probe_src[@]}"; do ALLOW_IN[$s:$dst:$port]=1; done
  else
    ALLOW_IN[$src:$dst:$port]=1
  fi
done < "$HERE/flows.tsv"

# probe_rows FILE MS [stop]: probes FILE's rows, one probe.pl per source, in
# parallel: a drop is MS without an answer, an allowed flow gets PROBE_MS to
# answer. Writes "SOURCE ADDR:PORT EXPECTED OBSERVED" lines to FILE.out;
# returns 1 when any observation differs from its expectation. With "stop",
# FILE.out holds only the first difference found, and the other probes are
# stopped then (one failing probe is enough to kill a mutant).
probe_rows() {
  local f=$1 ms=$2 mode=${3:-} s pids=() st=0
  rm -f "$f".by.*
  for s in $(cut -d' ' -f1 "$f" | sort -u); do
    ip netns exec "$P${NS[$s]}" perl "$HERE/probe.pl" "$ms" --rows "$f" "$s" "$PROBE_MS" $mode > "$f.by.$s" &
    pids+=($!)
  done
  if [ -n "$mode" ]; then   # a probe that prints anything found a difference
    while :; do
      wait -n "${pids[@]}" 2>/dev/null; st=$?
      [ "$st" -ne 127 ] || break
      if [ -n "$(cat "$f".by.* 2>/dev/null)" ]; then kill "${pids[@]}" 2>/dev/null || true; break; fi
    done
    wait "${pids[@]}" 2>/dev/null || true
    cat "$f".by.* 2>/dev/null | head -1 > "$f.out"
    [ ! -s "$f.out" ]; return
  fi
  wait "${pids[@]}"
  cat "$f".by.* > "$f.out" 2>/dev/null || : > "$f.out"
  ! awk '$3 != $4 { bad = 1 } END { exit !bad }' "$f.out"
}

# Checks that need a route of their own, one at a time; each prints
# "NAME EXPECTED OBSERVED" and returns 1 when they differ.
# drop_count ZONE COUNTER: the packets ZONE's named drop counter counted.
drop_count() {
  nsx "$1" nft -j list counter inet "sr_$1" "$2" 2>/dev/null | jq '.nftables[] | select(.counter) | .counter.packets' 2>/dev/null || echo 0
}
# around_edge: the internet reaches vaultd's public address by a route around
# the edge (straight to the CDE host): the CDE's input chain takes that port
# from the edge link only, so it drops (and counts) the SYN.
around_edge() {
  local o b a
  b=$(drop_count cde drop_in)
  nsx core ip route add "$CDE_PUBLIC/32" via "${ADDR[cde]}"
  o=$(nsx inet perl "$HERE/probe.pl" "$1" "$CDE_PUBLIC:8444" | cut -d' ' -f2)
  nsx core ip route del "$CDE_PUBLIC/32" via "${ADDR[cde]}"
  a=$(drop_count cde drop_in)
  [ "${a:-0}" -gt "${b:-0}" ] || o="$o,not-dropped-by-cde-input"
  echo "inet->$CDE_PUBLIC:8444(around-the-edge) timeout $o"; [ "$o" = timeout ]
}
# through_edge: the internet sends vaultd's public address and port itself to
# the edge (routed there, not translated by the edge's DNAT): the edge's
# forward chain forwards only what its DNAT translated.
through_edge() {
  local o
  nsx core ip route add "$CDE_PUBLIC/32" via "${ADDR[edge]}"
  o=$(nsx inet perl "$HERE/probe.pl" "$1" "$CDE_PUBLIC:8444" | cut -d' ' -f2)
  nsx core ip route del "$CDE_PUBLIC/32" via "${ADDR[edge]}"
  echo "inet->$CDE_PUBLIC:8444(through-the-edge-untranslated) timeout $o"; [ "$o" = timeout ]
}
# edge_link (input pass: the edge's forward chain is open): the internet
# reaches the CDE host over the edge link on every other address and port than
# vaultd's public listener: the CDE's input chain drops them all.
edge_link() {
  local o p t=()
  for p in "${PORTS[@]}"; do
    [ "$p" = 443 ] || t+=("${ADDR[cde]}:$p")        # 443: the edge's DNAT (F1)
    [ "$p" = 8444 ] || [ "$p" = 443 ] || t+=("$CDE_PUBLIC:$p")
  done
  nsx core ip route replace "${ADDR[cde]}/32" via "${ADDR[edge]}"
  nsx core ip route add "$CDE_PUBLIC/32" via "${ADDR[edge]}"
  nsx edge ip route add "${ADDR[cde]}/32" dev sr-cde
  nsx cde ip rule add from "${ADDR[cde]}" to "${ADDR[inet]}" lookup 13 priority 12
  o=$(nsx inet perl "$HERE/probe.pl" "$1" "${t[@]}" | awk '$2 != "timeout" {print $1 "=" $2}' | paste -sd, -)
  nsx cde ip rule del priority 12
  nsx edge ip route del "${ADDR[cde]}/32" dev sr-cde
  nsx core ip route del "$CDE_PUBLIC/32" via "${ADDR[edge]}"
  nsx core ip route replace "${ADDR[cde]}/32" dev v-cde
  echo "inet->cde(over-the-edge-link) timeout ${o:-timeout}"; [ -z "$o" ]
}
# foreign_dnat (output pass: the CDE's input chain is open): a harness table
# on the edge translates three more ports, as a mistaken extra DNAT rule
# would: to vaultd's public address on another port (8081), to the CDE host's
# own address routed over the edge link (8082), to vaultd's public listener
# routed over the edge's other link (8083). The edge's forward chain alone
# must refuse all three: it forwards only to vaultd's public address and port,
# over the edge link.
foreign_dnat() {
  local o
  nsx edge nft -f - <<NFT
table ip sr_harness {
	chain pre {
		type nat hook prerouting priority dstnat - 1; policy accept;
		tcp dport 8081 dnat to $CDE_PUBLIC:22
		tcp dport 8082 meta mark set 2 dnat to ${ADDR[cde]}:8444
		tcp dport 8083 meta mark set 3 dnat to $CDE_PUBLIC:8444
	}
}
NFT
  nsx edge ip route add "${ADDR[cde]}/32" dev sr-cde table 202
  nsx edge ip rule add fwmark 2 lookup 202 priority 202
  nsx edge ip route add "$CDE_PUBLIC/32" via "$ROUTER" dev eth0 onlink table 203
  nsx edge ip rule add fwmark 3 lookup 203 priority 203
  nsx core ip route add "$CDE_PUBLIC/32" via "${ADDR[cde]}"
  nsx cde ip rule add from "${ADDR[cde]}" to "${ADDR[inet]}" lookup 13 priority 12
  o=$(nsx inet perl "$HERE/probe.pl" "$1" "${ADDR[edge]}:8081" "${ADDR[edge]}:8082" "${ADDR[edge]}:8083" \
      | awk '$2 != "timeout" {print $1 "=" $2}' | paste -sd, -)
  nsx cde ip rule del priority 12
  nsx core ip route del "$CDE_PUBLIC/32" via "${ADDR[cde]}"
  nsx edge ip rule del priority 203
  nsx edge ip rule del priority 202
  nsx edge ip route flush table 203
  nsx edge ip route flush table 202
  nsx edge nft delete table ip sr_harness
  echo "inet->edge:8081-8083(foreign-dnat) timeout ${o:-timeout}"; [ -z "$o" ]
}
# forwarding ZONE: ZONE's host routes a packet on (the internet host to the
# PSP's port 22, sent to ZONE by the router and back from it to the PSP), with
# IP forwarding switched on for the test: its forward chain must drop it.
forwarding() {
  local z=$1 ms=$2 o fw
  fw=$(nsx "$z" sysctl -n net.ipv4.ip_forward)
  nsx "$z" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  nsx core ip route add "${ADDR[psp]}/32" via "${ADDR[$z]}" dev "v-$z" onlink table 200
  nsx core ip rule add iif v-inet to "${ADDR[psp]}/32" lookup 200 priority 200
  o=$(nsx inet perl "$HERE/probe.pl" "$ms" "${ADDR[psp]}:22" | cut -d' ' -f2)
  nsx core ip rule del priority 200
  nsx core ip route del "${ADDR[psp]}/32" table 200
  nsx "$z" sysctl -qw net.ipv4.ip_forward="$fw"
  echo "inet->psp:22(forwarded-by-$z) timeout $o"; [ "$o" = timeout ]
}
# specials PASS ZONE CHAIN MS: the route checks of PASS that a change to
# ZONE's CHAIN can affect (CHAIN empty: all of them), one result a line.
specials() {
  local pass=$1 z=$2 c=$3 ms=$4 r=0
  case $pass:$z:$c in
    normal:*:forward|normal:*:prerouting|normal:*:) forwarding "$z" "$ms" || r=1 ;;
  esac
  case $pass:$z:$c in
    normal:cde:input|normal:cde:)                 around_edge "$ms" || r=1 ;;
    normal:edge:forward|normal:edge:prerouting|normal:edge:) through_edge "$ms" || r=1 ;;
    input:cde:input|input:cde:)                   edge_link "$ms" || r=1 ;;
    output:edge:forward|output:edge:prerouting|output:edge:) foreign_dnat "$ms" || r=1 ;;
  esac
  return $r
}
# drops_counted ZONE ROWS: in the normal pass, the zone's drop counters grew
# where it refused probes (outside -> zone: drop_in; zone -> anywhere:
# drop_out; the edge's forwarding check: drop_fwd). Prints what is missing.
drops_counted() {
  local z=$1 want=drop_in miss
  awk -v z="$z" '$1 == z && $3 == "timeout" { out = 1 } END { exit !out }' "$2" && want+=" drop_out"
  [ "$z" = edge ] && want+=" drop_fwd"
  miss=$(nsx "$z" nft -j list counters table inet "sr_$z" 2>/dev/null \
    | jq -r --arg w "$want" '[.nftables[] | select(.counter and .counter.packets > 0) | .counter.name] as $c
                             | $w | split(" ") | map(select(. as $n | $c | any(.[]; . == $n) | not)) | join(" ")' 2>/dev/null) || miss=$want
  [ -z "$miss" ] || { echo "counters-not-counting: $miss"; return 1; }
}
# mutant_check PASS ZONE CHAIN: the checks of PASS that concern ZONE (its
# ruleset being a mutant); prints the first failure and returns 1 if any.
mutant_check() {
  local pass=$1 z=$2 c=$3 r=$WORK/rows.$1.$2 o
  if ! probe_rows "$r" "$MUT_MS" stop; then
    awk '{print $1 "->" $2 " expected " $3 ", " $4; exit}' "$r.out"; return 1
  fi
  if ! o=$(specials "$pass" "$z" "$c" "$MUT_MS"); then
    awk '$2 != $3 {print $1 " expected " $2 ", " $3; exit}' <<<"$o"; return 1
  fi
  [ "$pass" != normal ] || drops_counted "$z" "$r" || return 1
}

# ------------------------------------------------------------ each chain alone
for pass in input output; do
  for z in "${ZONES[@]}"; do load_zone "$z" "$NFT_DIR/$z.nft" "$pass"; done
  { for z in "${ZONES[@]}"; do rows "$pass" "$z"; done; } | sort -u > "$WORK/pass.rows"
  probe_rows "$WORK/pass.rows" "$PROBE_MS" || true
  while read -r s t exp obs; do
    d=${HOSTOF[${t%:*}]}
    if [ "$pass" = input ]; then by="$d input (senders' output chains opened)"; else by="$s output (receivers' input chains opened)"; fi
    record "$pass-alone" "$( [ "$exp" = open ] && echo "${FLOWID[$s:$d:${t#*:}]:-${FLOW_TO[$d:${t#*:}]}}" || echo -)" "$s" "$d" "${t#*:}" "$exp" "$obs" "$by"
  done < "$WORK/pass.rows.out"
  if [ "$pass" = input ]; then
    # Self-test (issue 17): an extra CDE input rule for the gateway's host, which
    # the app's own egress hides from the normal matrix, is seen here.
    nsx cde nft insert rule inet sr_cde input ip saddr "${ADDR[app]}" tcp dport '{22,5432,8444}' accept comment '"selftest"'
    o=$(nsx app perl "$HERE/probe.pl" "$PROBE_MS" "${ADDR[cde]}:22" "${ADDR[cde]}:5432" "${ADDR[cde]}:8444" | cut -d' ' -f2 | paste -sd, -)
    load_zone cde "$NFT_DIR/cde.nft" input
    record selftest - app cde 22,5432,8444 open,open,open "$o" "cde input: a temporary rule 'ip saddr APP_HOST tcp dport {22,5432,8444} accept' (removed again) opens them in the input pass"
  fi
  specials "$pass" cde "" "$PROBE_MS" > "$WORK/pass.special" || true
  specials "$pass" edge "" "$PROBE_MS" >> "$WORK/pass.special" || true
  while read -r name exp obs; do
    record "$pass-alone" - "${name%%->*}" "${name#*->}" - "$exp" "$obs" "route check, $([ "$pass" = input ] && echo "senders' output chains and the edge's forward chain opened" || echo "receivers' input chains opened")"
  done < <(sort -u "$WORK/pass.special")
done
for z in "${ZONES[@]}"; do load_zone "$z" "$NFT_DIR/$z.nft" normal; done
{ for z in "${ZONES[@]}"; do forwarding "$z" "$PROBE_MS" || true; done
  around_edge "$PROBE_MS" || true; through_edge "$PROBE_MS" || true; } > "$WORK/pass.special"
while read -r name exp obs; do
  record route - "${name%%->*}" "${name#*->}" - "$exp" "$obs" "route check, rulesets as written (forwarding: IP forwarding switched on in the zone for the test)"
done < "$WORK/pass.special"

# ------------------------------------------------------------ mutation testing
MUT_DIR=$WORK/mutants
mkdir -p "$MUT_DIR"
: > "$WORK/mutants.tsv"     # file name rule zone
for z in "${ZONES[@]}"; do
  perl "$HERE/mutants.pl" "$z" "$NFT_DIR/$z.nft" "$MUT_DIR" | awk -F'\t' -v z="$z" -v OFS='\t' '{print $1, $2, $3, z}' >> "$WORK/mutants.tsv"
done
declare -A KILLED=()        # mutant name -> the check that killed it
mut_start=$(date +%s)
if [ "${SEG_MUTANTS:-1}" != 0 ]; then
  for pass in normal input output; do
    for z in "${ZONES[@]}"; do rows "$pass" "$z" > "$WORK/rows.$pass.$z"; load_zone "$z" "$NFT_DIR/$z.nft" "$pass"; done
    cur=
    while IFS=$'\t' read -r f name _rule z; do
      [ -z "${KILLED[$name]:-}" ] || continue
      [ -z "$cur" ] || [ "$cur" = "$z" ] || load_zone "$cur" "$NFT_DIR/$cur.nft" "$pass"
      cur=$z
      if ! load_zone "$z" "$f" "$pass"; then KILLED[$name]="nft refuses to load it (the harness stops)"; continue; fi
      c=${name#*/}
      if ! o=$(mutant_check "$pass" "$z" "${c%%/*}"); then KILLED[$name]="$pass pass: $o"; fi
    done < "$WORK/mutants.tsv"
    [ -z "$cur" ] || load_zone "$cur" "$NFT_DIR/$cur.nft" "$pass"
    log "mutants: $pass pass done, ${#KILLED[@]} killed ($(( $(date +%s) - mut_start )) s)"
  done
  for z in "${ZONES[@]}"; do load_zone "$z" "$NFT_DIR/$z.nft" normal; done
fi
mut_seconds=$(( $(date +%s) - mut_start ))
mut_total=$(wc -l < "$WORK/mutants.tsv")
: > "$WORK/survivors.tsv"
[ "${SEG_MUTANTS:-1}" = 0 ] || while IFS=$'\t' read -r f name rule z; do
  [ -n "${KILLED[$name]:-}" ] && continue
  why=$(awk -F'\t' -v n="$name" '$1 == n {print $2}' "$HERE/survivors.tsv" 2>/dev/null || true)
  printf '%s\t%s\t%s\n' "$name" "$rule" "${why:-UNEXPLAINED}" >> "$WORK/survivors.tsv"
  [ -n "$why" ] || record mutant - "$z" - - killed "survived, unexplained" "$name: $rule (survivors.tsv explains none)"
done < "$WORK/mutants.tsv"
while IFS=$'\t' read -r f name rule z; do
  printf '%s\t%s\t%s\n' "$name" "$rule" "${KILLED[$name]:-$([ "${SEG_MUTANTS:-1}" = 0 ] && echo "not run" || echo survived)}"
done < "$WORK/mutants.tsv" > "$WORK/mutants.out"
mut_killed=${#KILLED[@]}
mut_rate=$(awk -v k="$mut_killed" -v t="$mut_total" 'BEGIN { printf "%.1f", t ? 100 * k / t : 0 }')
log "mutants: $mut_killed of $mut_total killed ($mut_rate%) in $mut_seconds s"

# ------------------------------------------------------------ attack self-tests
# Hand-written ruleset changes that open a flow (issue 17, attack 17x): each
# must be killed by some check, as the generated mutants are. One a line:
# ZONE<TAB>CHAIN<TAB>the rule added at the top of CHAIN<TAB>what it opens.
attacks=$(cat <<'ATT'
cde	input	tcp dport 9000 ct state new accept comment "F8 SSH, another port"	a CDE port outside the harness's port list
cde	input	udp dport 161 accept comment "F8 SNMP"	UDP (SNMP) into the CDE: no UDP is probed inbound
cde	input	tcp sport 53 accept comment "F6 replies"	every CDE port to a sender using source port 53
cde	output	meta skuid 65534 accept comment "F7 vaultd"	any destination to the CDE's unprivileged daemons (the probes run as root)
cde	input	meta nfproto ipv6 accept comment "F4 IPv6"	everything over IPv6 (the harness disables IPv6)
cde	input	ip saddr 198.18.0.0/15 tcp dport $SSH_PORT accept comment "F8 new admin range"	SSH from a range no probe comes from
cde	forward	ip saddr $APP_HOST tcp dport $VAULT_INTERNAL_PORT accept comment "F4 routed"	the CDE host routing the application zone's packets on
ATT
)
while IFS=$'\t' read -r z c rule what; do
  f=$WORK/attack-$z-$c.nft
  perl -pe 'BEGIN { ($c, $r) = splice @ARGV, 0, 2 } $in = 1 if /^\s*chain \Q$c\E \{/; if ($in && /^\s*type /) { $_ .= "\t\t$r\n"; $in = 0 }' \
    "$c" "$rule" "$NFT_DIR/$z.nft" > "$f"
  killed=survived
  perl "$HERE/lint.pl" "$PLAN" "$HERE/flows.tsv" "$z" "$f" "${PORTS[@]}" >/dev/null || killed=killed
  [ "$killed" = killed ] || for pass in normal input output; do
    for y in "${ZONES[@]}"; do rows "$pass" "$y" > "$WORK/rows.$pass.$y"; load_zone "$y" "$NFT_DIR/$y.nft" "$pass"; done
    if ! load_zone "$z" "$f" "$pass"; then killed="nft refuses it"; break; fi
    if ! o=$(mutant_check "$pass" "$z" "$c"); then killed=killed; break; fi
  done
  load_zone "$z" "$NFT_DIR/$z.nft" normal
  record selftest - "$z" - - killed "$killed" "attack: '$rule' in $z $c opens $what"
done <<<"$attacks"
for y in "${ZONES[@]}"; do load_zone "$y" "$NFT_DIR/$y.nft" normal; done
