#!/usr/bin/env perl
# A JSON-mode bolt: appends "!!!" to each word, anchored to its input, and
# fails one tuple in 50 (EXCLAIM_FAIL_EVERY) to show the spout's replays.
use strict;
use warnings;
use JSON::PP;

$| = 1;
my $json = JSON::PP->new->canonical;
my $every = $ENV{EXCLAIM_FAIL_EVERY} // 50;
my $n = 0;
while (my $line = <STDIN>) {
    my $msg = eval { $json->decode($line) } or next;
    next unless ($msg->{type} // '') eq 'tuple';
    my $id = $msg->{id};
    if (defined $id && $every > 0 && ++$n % $every == 0) {
        print $json->encode({fail => $id}), "\n";
        next;
    }
    my @anchors = defined $id ? ($id) : ();
    print $json->encode({emit => [$msg->{values}[0] . '!!!'], anchors => \@anchors}), "\n";
    print $json->encode({ack => $id}), "\n" if defined $id;
}
