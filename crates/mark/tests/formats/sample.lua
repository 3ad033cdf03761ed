#!/usr/bin/env lua
local long = [[
first

-- not a comment
]]
--[[ a long
comment ]]
@FILLER@
print(long)
