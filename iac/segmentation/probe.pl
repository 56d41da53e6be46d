#!/usr/bin/perl
# probe.pl TIMEOUT_MS ADDR:PORT... : open a TCP connection to every target at
# once; print "ADDR:PORT open|refused|timeout|error SPORT" for each (SPORT:
# the local port used, which the harness matches with nftables traces). Run inside a
# network namespace by iac/segmentation/run.sh. Perl core modules only.
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_ERROR inet_aton sockaddr_in);
use IO::Select;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EINPROGRESS ECONNREFUSED);
use Time::HiRes qw(time);

my $timeout = (shift @ARGV) / 1000.0;
my (%sock, %result, %sport);
my $sel = IO::Select->new;
for my $t (@ARGV) {
    my ($a, $p) = split /:/, $t;
    socket(my $fh, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    fcntl($fh, F_SETFL, fcntl($fh, F_GETFL, 0) | O_NONBLOCK);
    bind($fh, sockaddr_in(0, inet_aton("0.0.0.0"))) or die "bind: $!";
    ($sport{$t}) = sockaddr_in(getsockname($fh));
    if (connect($fh, sockaddr_in($p, inet_aton($a)))) { $result{$t} = 'open'; close $fh; next; }
    if ($! == EINPROGRESS) { $sock{fileno $fh} = [$t, $fh]; $sel->add($fh); next; }
    $result{$t} = $! == ECONNREFUSED ? 'refused' : 'error';
}
my $deadline = time + $timeout;
while ($sel->count && (my $left = $deadline - time) > 0) {
    for my $fh ($sel->can_write($left)) {
        my ($t) = @{$sock{fileno $fh}};
        my $err = unpack('i', getsockopt($fh, SOL_SOCKET, SO_ERROR));
        $result{$t} = $err == 0 ? 'open' : $err == ECONNREFUSED ? 'refused' : 'error';
        $sel->remove($fh); close $fh;
    }
}
$result{$_} //= 'timeout' for @ARGV;
print "$_ $result{$_} $sport{$_}\n" for @ARGV;
