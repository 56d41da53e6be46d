#!/usr/bin/perl
# compliance/citations.pl FILE.md...: resolve every citation in the documents
# (run by compliance/check.sh, make compliance). Prints one line per problem,
# "file:line: `citation`: why", and last "citations: N checked, M problems".
#
# A citation is a backticked repository path (its first component is a tracked
# top-level entry: `vault/...`, `etc/...`, `Makefile`), optionally naming
# something defined in that file:
#   `path:NAME`   NAME is defined there: a C function, macro, struct, enum,
#                 typedef or file-scope variable (.c .h); a shell function or
#                 variable (.sh); a JSON key (.json); a `key =`/`key:` setting
#                 (.conf .service .yaml ...); a Makefile target or variable; a
#                 SQL table, function, trigger, view, index or type (.sql); a
#                 perl sub; a JS/Lua function or constant; an nftables table,
#                 chain, set or define, or a flow id in a rule comment; the
#                 first field of a .tsv row (a flow id); a sysusers.d line.
#   `doc.md#anchor`  the heading exists (GitHub's anchor of it).
#   `path` alone  only a directory or a document (.md .txt, a .tsv table); a code,
#                 configuration or test file must name what is meant.
# Names in comments do not count (C: an indented `NAME,` only inside an enum).
# A `..` in a cited path is refused (it may leave the repository), and so is a
# `<!-- name:begin -->` with no end (nothing after it would be checked).
# Line numbers (`path:123`) are refused: they rot. `build/` and `var/` paths
# (generated, git-ignored), code blocks and generated reports (between
# <!-- name:begin --> and <!-- name:end -->) are not checked.
use strict;
use warnings;

my %top;    # tracked top-level entries
for (`git ls-files 2>/dev/null`) { chomp; $top{(split m{/})[0]} = 1; }
if (!%top) { opendir my $d, '.' or die; $top{$_} = 1 for grep { !/^\.|^(?:build|var|node_modules)$/ } readdir $d; }
delete @top{qw(build var)};

# Kinds of file: what NAME may be in each, as a regex builder.
my %kind = (
	c => [qw(c h inc)], sh => [qw(sh bash)], json => ['json'], sql => ['sql'],
	pl => [qw(pl pm)], js => [qw(js mjs cjs)], lua => ['lua'], py => ['py'],
	nft => ['nft'], tsv => ['tsv'],
	conf => [qw(conf service socket timer slice in ini env yaml yml toml cnf)],
);
my %ext2kind;
for my $k (keys %kind) { $ext2kind{$_} = $k for @{ $kind{$k} } }
my %whole_ok = map { $_ => 1 } qw(md txt sri csv pem crt lock css html svg png);

sub kind_of {
	my ($p) = @_;
	return 'make' if $p =~ m{(?:^|/)(?:Makefile|[\w-]+\.mk)$};
	return $ext2kind{$1} if $p =~ /\.(\w+)$/ && $ext2kind{$1};
	return 'whole' if $p =~ /\.(\w+)$/ && $whole_ok{$1};
	open my $fh, '<', $p or return 'other';
	my $first = <$fh> // '';
	return $first =~ /^#!.*\b(?:ba)?sh\b/ ? 'sh' : $first =~ /^#!.*perl/ ? 'pl' : 'other';
}

sub defined_in {
	my ($kind, $text, $n) = @_;
	my $q = quotemeta $n;
	my @re = (
		$kind eq 'c'    ? (qr/^[A-Za-z_][^;{}()\n]*\b$q\s*\(/m, qr/^\s*#\s*define\s+$q\b/m,
		                   qr/\b(?:struct|enum|union)\s+$q\s*\{/, qr/\}\s*$q\s*(?:\[[^\]]*\]\s*)*[;=]/, qr/^typedef\b[^;]*\b$q\s*;/m,
		                   qr/\benum\b[^{;]*\{(?:[^}]*,)?\s*$q\s*(?:=[^,}]*)?(?:,|\})/, qr/^[A-Za-z_][^;(\n]*\b$q\s*(?:\[[^\]]*\]\s*)*(?:=|;)/m)
		: $kind eq 'sh'   ? (qr/^\s*(?:function\s+)?$q\s*\(\)/m, qr/^\s*(?:export\s+|local\s+|readonly\s+)?$q=/m)
		: $kind eq 'json' ? (qr/"$q"\s*:/)
		: $kind eq 'sql'  ? (qr/\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?:TABLE|FUNCTION|TRIGGER|VIEW|INDEX|TYPE|SEQUENCE|ROLE|POLICY)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:\w+\.)?$q\b/i)
		: $kind eq 'pl'   ? (qr/^\s*sub\s+$q\b/m)
		: $kind eq 'js'   ? (qr/\bfunction\s*\*?\s+$q\s*\(/, qr/\b(?:const|let|var)\s+$q\s*=/, qr/^\s*(?:async\s+)?$q\s*\([^)]*\)\s*\{/m)
		: $kind eq 'lua'  ? (qr/\bfunction\s+(?:[\w.]+[.:])?$q\s*\(/, qr/^\s*(?:local\s+)?$q\s*=/m)
		: $kind eq 'py'   ? (qr/^\s*(?:def|class)\s+$q\b/m, qr/^$q\s*=/m)
		: $kind eq 'nft'  ? (qr/\b(?:table\s+\w+|chain|set|map|define)\s+$q\b/, qr/\bcomment\s+"$q\b/)
		: $kind eq 'tsv'  ? (qr/^$q\t/m)
		: $kind eq 'conf' ? (qr/^\s*$q\s*[=:]/m, qr/^\s*\[$q\]/m, qr/^[ugmr]\s+$q\s/m)
		: $kind eq 'make' ? (qr/^$q\s*:(?!=)/m, qr/^(?:export\s+)?$q\s*[:?+]?=/m)
		: ());
	# Comments name things without defining them.
	if ($kind eq 'c') { $text =~ s{/\*.*?\*/}{ }gs; $text =~ s{^\s*//.*$}{}mg }
	elsif ($kind ne 'json' && $kind ne 'js') { $text =~ s/^\s*#(?!\s*define\b).*$//mg }
	for (@re) { return 1 if $text =~ $_ }
	return 0;
}

# GitHub's anchor of a heading: lower case, punctuation dropped, spaces -> '-'.
sub anchors {
	my ($text) = @_;
	my %a;
	$text =~ s/^```.*?^```//msg;
	for ($text =~ /^#{1,6}[ \t]+(.+?)[ \t#]*$/mg) {
		my $h = lc $_;
		$h =~ s/[^\w\- ]//g;
		$h =~ s/ /-/g;
		my $base = $h; my $i = 0;
		$h = "$base-" . ++$i while $a{$h};
		$a{$h} = 1;
	}
	return \%a;
}

my %cache;
sub slurp { my ($p) = @_; $cache{$p} //= do { local $/; open my $fh, '<', $p or return ''; <$fh> // '' } }

my ($checked, $problems) = (0, 0);
sub bad { my ($where, $c, $why) = @_; print "  $where: `$c`: $why\n"; $problems++ }

for my $doc (@ARGV) {
	open my $fh, '<', $doc or die "$doc: $!";
	my ($fence, $generated, $gen_at) = (0, 0, '');   # code blocks; generated reports (their files named with their hashes)
	while (my $line = <$fh>) {
		if ($line =~ /^\s*```/) { $fence = !$fence; next }
		if ($line =~ /^<!-- ([\w-]+):(begin|end) -->/) { $generated = $2 eq 'begin'; $gen_at = "$doc:$.\t$1"; next }
		next if $fence || $generated;
		while ($line =~ /`([^`\s]+)`/g) {
			my $c = $1;
			(my $cc = $c) =~ s{^(?:\./)+}{};
			my ($path, $sep, $name) = $cc =~ m{^([\w.@+-]+(?:/[\w.@+-]+)*/?)(?:([:#])([\w./\$-]*))?$} or next;
			my $first = (split m{/}, $path)[0];
			next unless $top{$first} && ($path =~ m{/} || -f $path || $sep);
			$checked++;
			my $at = "$doc:$.";
			if ($path =~ m{(?:^|/)\.\.(?:/|$)}) { bad($at, $c, "a '..' in a cited path: it may leave the repository (cite it from the root)"); next }
			if (!-e $path) { bad($at, $c, "no such file or directory $path"); next }
			my $kind = -d $path ? 'dir' : kind_of($path);
			if (!defined $sep) {
				next if $kind eq 'dir' || $kind eq 'whole' || $kind eq 'tsv';   # a .tsv is a table
				bad($at, $c, "a whole $path is cited: name the function, test or key meant (`$path:NAME`)");
			} elsif ($name eq '') {
				bad($at, $c, "empty name after '$sep'");
			} elsif ($sep eq ':' && $name =~ /^\d[\d-]*$/) {
				bad($at, $c, "a line number: cite the function, test or key instead (line numbers rot)");
			} elsif ($sep eq '#') {
				if ($path !~ /\.md$/) { bad($at, $c, "an #anchor only follows a markdown document") }
				elsif (!anchors(slurp($path))->{$name}) { bad($at, $c, "$path has no heading with the anchor #$name") }
			} elsif ($kind eq 'dir' || $kind eq 'whole' || $kind eq 'other') {
				bad($at, $c, "$path is not a file with named definitions (cite it whole, or a heading with #)");
			} elsif (!defined_in($kind, slurp($path), $name)) {
				bad($at, $c, "$path defines no $name");
			}
		}
	}
	close $fh;
	if ($generated) { my ($at, $n) = split /\t/, $gen_at; bad($at, "<!-- $n:begin -->", "has no end: nothing after it was checked") }
}
print "citations: $checked checked, $problems problems\n";
exit($problems ? 1 : 0);
