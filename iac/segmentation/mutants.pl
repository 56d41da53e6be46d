#!/usr/bin/perl
# mutants.pl ZONE RULESET OUTDIR : write the mutants of one zone ruleset
# (iac/nftables/<zone>.nft) to OUTDIR/<zone>-<n>.nft and print one line per
# mutant: "FILE<TAB>NAME<TAB>RULE", NAME being "<zone>/<chain>/<kind>" with
# kind one of
#   delete#<i>                the chain's i-th rule deleted;
#   widen#<i> <clause>        one match of the i-th rule removed: an address
#                             (ip saddr/daddr), a port (tcp dport), an
#                             interface (iif/oif/iifname/oifname) or a ct
#                             status; the rule then matches more packets;
#   accept-at-top             an "accept" rule added before the chain's rules.
# Rules are the lines of a chain after its "type" line (one rule a line, the
# layout of every ruleset in iac/nftables/). Used by iac/segmentation/mutate.sh.
use strict;
use warnings;

my ($zone, $file, $out) = @ARGV;
open my $in, '<', $file or die "$file: $!";
my @lines = <$in>;
close $in;
my $CLAUSE = qr/(?:ip [sd]addr (?:!= )?\S+|tcp dport \S+|(?:iif|oif|iifname|oifname) "[^"]*"|ct status \S+)/;
my $n = 0;
sub emit {
    my ($name, $rule, @text) = @_;
    my $path = sprintf "%s/%s-%03d.nft", $out, $zone, ++$n;
    open my $fh, '>', $path or die "$path: $!";
    print $fh @text;
    close $fh;
    $rule =~ s/^\s+|\s+$//g;
    print "$path\t$name\t$rule\n";
}
my ($chain, $i);
for my $k (0 .. $#lines) {
    my $l = $lines[$k];
    if ($l =~ /^\s*chain (\S+) \{/) { $chain = $1; $i = undef; next; }
    next unless defined $chain;
    if ($l =~ /^\s*type /) {
        $i = 0;
        emit("$zone/$chain/accept-at-top", "accept", @lines[0 .. $k], "\t\taccept\n", @lines[$k + 1 .. $#lines]);
        next;
    }
    if ($l =~ /^\s*\}/) { $chain = undef; next; }
    next unless defined $i && $l =~ /\S/ && $l !~ /^\s*#/;
    $i++;
    my @rest = @lines[$k + 1 .. $#lines];
    my @head = @lines[0 .. $k - 1];
    emit("$zone/$chain/delete#$i", $l, @head, @rest);
    (my $body = $l) =~ s/ comment ".*//;
    while ($body =~ /($CLAUSE)/g) {
        my $c = $1;
        (my $m = $l) =~ s/\Q$c\E ?//;
        emit("$zone/$chain/widen#$i $c", $l, @head, $m, @rest);
    }
}
