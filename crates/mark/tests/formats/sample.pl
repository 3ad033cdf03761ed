#!/usr/bin/perl
use strict;
use warnings;

my $s = <<'EOT';
heredoc

# not a comment
EOT
@FILLER@
print $s;
