<?php
declare(strict_types=1);

$text = <<<EOT
heredoc

// not a comment
EOT;
@FILLER@
echo $text, "\n";
