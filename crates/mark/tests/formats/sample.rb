#!/usr/bin/env ruby
# frozen_string_literal: true

TEXT = <<~EOT
  heredoc

  # not a comment
EOT
@FILLER@
s = "frozen"
begin
  s << "!"
  puts "not frozen"
rescue FrozenError
  puts "frozen"
end
puts TEXT
