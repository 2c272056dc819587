--[[
  Stream entry ids as values.

  idAtMost(a, b)   true when complete stream id a (`<ms>-<seq>`) is at or before b
  Output: none. Events: none.
]]
local function idAtMost(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as <= bs)
end
