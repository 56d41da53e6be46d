#!/usr/bin/perl
# lint.pl PLAN FLOWS ZONE RULESET PORT... : ZONE's ruleset; what the matrix cannot see must not be
# in a ruleset. The probes are TCP over IPv4, from the harness's hosts, to the
# harness's PORTS, with ephemeral source ports, as root; so every rule that
# lets a packet through (accept, dnat) must be the loopback, the return
# traffic (ct state established,related), or one flow of FLOWS: its comment
# names the flow ("F<n> ..."), it matches a TCP destination port among PORTS
# (a `define` of PLAN or a number), and otherwise only plan addresses
# (ip saddr/daddr $NAME), interfaces, ct state/status and counter; no UDP,
# source port, meta, IPv6, set or literal address; forward chains only on the
# edge host. Prints each offending rule; exit 1 when there is one.
# Used by iac/segmentation/run.sh and mutate.sh (issue 17, attack 17x).
use strict;
use warnings;
my ($plan, $flows, $zone, $file, @ports) = @ARGV;
my (%def, %flow, %port, $chain, $bad);
open my $p, '<', $plan or die "$plan: $!";
while (<$p>) { $def{$1} = $2 if /^define (\w+)\s*=\s*(\d+)\b/ }
open my $f, '<', $flows or die "$flows: $!";
while (<$f>) { $flow{$1} = 1 if /^(F\d+)\t/ }
%port = map { $_ => 1 } @ports;
open my $r, '<', $file or die "$file: $!";
while (my $l = <$r>) {
	$chain = $1 if $l =~ /^\s*chain (\S+) \{/;
	next if $l =~ /^\s*(?:#|$|type |chain |table |counter \w+ \{|\}|define )/ || $l !~ /\b(?:accept|dnat)\b/;
	(my $rule = $l) =~ s/^\s+|\s+$//g;
	next if $rule =~ /^(?:iif|oif) "lo" accept$|^ct state established,related accept$/;
	my ($id) = $rule =~ / comment "(F\d+)\b/;
	(my $m = $rule) =~ s/ comment ".*//;
	my ($dport) = $m =~ /\btcp dport (\$\w+|\d+) /;
	$dport = $def{substr $dport, 1} // '' if defined $dport && $dport =~ /^\$/;
	$m =~ s/(?<!\S)(?:ip [sd]addr (?:!= )?\$\w+|tcp dport (?:\$\w+|\d+)|(?:iif|oif|iifname|oifname) "[\w-]+"|ct (?:state|status) [\w,]+|counter|accept|dnat ip to \$\w+:\$\w+)(?=\s|$)//g;
	my $why = !$id || !$flow{$id} ? "names no flow of $flows"
	        : !defined $dport || !$port{$dport} ? "no TCP destination port the harness probes (@ports)"
	        : $m =~ /\S/ ? "matches what the harness cannot probe: '" . ($m =~ s/^\s+|\s+$//gr) . "'"
	        : $chain eq 'forward' && $zone ne 'edge' ? "a forward rule on a host that routes nothing" : '';
	if ($why) { print "$file: chain $chain: '$rule': $why\n"; $bad = 1 }
}
exit($bad ? 1 : 0);
