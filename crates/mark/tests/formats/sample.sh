#!/bin/sh
set -eu
name="world"
greeting="hello ${name}"
multi='first

# not a comment

last'
echo "$greeting" a#b ${#name}
@FILLER@
printf '%s\n' "$multi"
cat <<EOT
heredoc

# not a comment
EOT
