#!/usr/bin/perl
# probe.pl TIMEOUT_MS ADDR:PORT... : open a TCP connection to every target at
# once and send a line that no service accepts ("GET / HTTP/1.0"); print
# "ADDR:PORT RESULT SPORT" for each (SPORT: the local port used, which the
# harness matches with nftables traces).
#
# probe.pl TIMEOUT_MS --rows FILE SOURCE [OPEN_MS [stop]] : the targets are the
# lines "SOURCE ADDR:PORT EXPECTED" of FILE for this SOURCE; print each such
# line with RESULT appended. A target expected "open" is given OPEN_MS
# (default TIMEOUT_MS) to answer, any other TIMEOUT_MS: a short deadline
# proves a drop, a long one keeps a busy machine's slow answer from looking
# like one. With "stop", print only the first line whose RESULT differs from
# EXPECTED, as soon as it is known, and exit 1 (exit 0 when none differs).
#
# RESULT is one of
#   open     connected, and the listener answered (data, close or reset): the
#            handshake completed on both ends, so both hosts' chains let the
#            whole connection through, not only its SYN and SYN-ACK;
#   silent   connected, but nothing came back before the deadline;
#   refused, timeout, error.
# Run inside a network namespace by iac/segmentation/run.sh and mutate.sh.
# Perl core modules only.
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_ERROR inet_aton sockaddr_in);
use IO::Select;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Errno qw(EINPROGRESS ECONNREFUSED);
use Time::HiRes qw(time);

my $timeout = (shift @ARGV) / 1000.0;
my ($open_timeout, $stop, @rows, %expect) = ($timeout, 0);
if (@ARGV && $ARGV[0] eq '--rows') {
    my (undef, $file, $src, $open_ms, $mode) = @ARGV;
    $open_timeout = $open_ms / 1000.0 if defined $open_ms;
    $stop = defined $mode && $mode eq 'stop';
    open my $in, '<', $file or die "$file: $!";
    @rows = grep { (split ' ', $_)[0] eq $src } map { chomp; $_ } <$in>;
    close $in;
    %expect = map { my @f = split ' ', $_; ($f[1] => $f[2]) } @rows;
    @ARGV = map { (split ' ', $_)[1] } @rows;
}
my $hello = "GET / HTTP/1.0\r\n\r\n";
my (%sock, %result, %sport, %deadline);
my $wsel = IO::Select->new;   # connecting
my $rsel = IO::Select->new;   # connected, waiting for the listener's answer

# done TARGET RESULT: record a result; in stop mode, a result that differs
# from the expectation ends the run.
sub done {
    my ($t, $r) = @_;
    $result{$t} = $r;
    return unless $stop && $r ne $expect{$t};
    my ($row) = grep { (split ' ', $_)[1] eq $t } @rows;
    print "$row $r\n";
    exit 1;
}

my $start = time;
for my $t (@ARGV) {
    my ($a, $p) = split /:/, $t;
    $deadline{$t} = $start + (($expect{$t} // '') eq 'open' ? $open_timeout : $timeout);
    socket(my $fh, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    fcntl($fh, F_SETFL, fcntl($fh, F_GETFL, 0) | O_NONBLOCK);
    bind($fh, sockaddr_in(0, inet_aton("0.0.0.0"))) or die "bind: $!";
    ($sport{$t}) = sockaddr_in(getsockname($fh));
    $sock{fileno $fh} = [$t, $fh];
    if (connect($fh, sockaddr_in($p, inet_aton($a)))) { syswrite($fh, $hello); $rsel->add($fh); next; }
    if ($! == EINPROGRESS) { $wsel->add($fh); next; }
    close $fh;
    done($t, $! == ECONNREFUSED ? 'refused' : 'error');
}
while ($wsel->count || $rsel->count) {
    my $now = time;
    for my $fh ($wsel->handles, $rsel->handles) {   # past their deadline
        my ($t) = @{$sock{fileno $fh}};
        next if $deadline{$t} > $now;
        my $connected = $rsel->exists($fh);
        $wsel->remove($fh); $rsel->remove($fh); close $fh;
        done($t, $connected ? 'silent' : 'timeout');
    }
    last unless $wsel->count || $rsel->count;
    my ($next) = sort { $a <=> $b } map { $deadline{$sock{fileno $_}[0]} } ($wsel->handles, $rsel->handles);
    my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $next - $now);
    for my $fh (@{$w || []}) {
        my ($t) = @{$sock{fileno $fh}};
        my $err = unpack('i', getsockopt($fh, SOL_SOCKET, SO_ERROR));
        $wsel->remove($fh);
        if ($err == 0) { syswrite($fh, $hello); $rsel->add($fh); next; }
        close $fh;
        done($t, $err == ECONNREFUSED ? 'refused' : 'error');
    }
    for my $fh (@{$r || []}) {
        my ($t) = @{$sock{fileno $fh}};
        sysread($fh, my $buf, 512);   # data, end of file or a reset: an answer
        $rsel->remove($fh); close $fh;
        done($t, 'open');
    }
}
exit 0 if $stop;
if (@rows) { print "$_ $result{(split ' ', $_)[1]}\n" for @rows; }
else { print "$_ $result{$_} $sport{$_}\n" for @ARGV; }
