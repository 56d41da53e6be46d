#!/usr/bin/perl
# listen.pl ADDR PORT... : accept TCP connections on every port and close them
# at once (a "canary" service), so that a refused probe in the segmentation
# matrix can only be the firewall's doing. Runs until killed.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my $addr = shift @ARGV;
my $sel = IO::Select->new;
for my $p (@ARGV) {
    my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $p, Listen => 64,
                                  ReuseAddr => 1, Proto => 'tcp')
        or die "listen $addr:$p: $!";
    $sel->add($s);
}
$| = 1;
print "listening\n";
while (1) {
    for my $s ($sel->can_read) {
        my $c = $s->accept;
        close $c if $c;
    }
}
