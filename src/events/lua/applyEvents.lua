--[[
  Replays a batch of events through the projection fold into the read model named by KEYS —
  the shadow read model during rebuild and verify. Appends nothing: the events are already in
  the log (or the archive).

  Input: the keys of its @keys line (includes/keys.lua) pointed at the shadow read model
    (sluice:{<queue>}:shadow:counts, :shadow:priority, :shadow:job:, :shadow:state:<state>),
    ARGV[1..2] as usual, then
    ARGV[3]  number of events N, then N triples: type, data JSON, meta JSON
  Output: N
  Events: none
]]
--- @keys counts priority jobPrefix states
--- @include "includes/keys"
--- @include "projections/fold"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
for i = 1, n do
  local b = 4 + (i - 1) * 3
  local meta = cjson.decode(ARGV[b + 2])
  applyEvent(K, meta.jobId, ARGV[b], cjson.decode(ARGV[b + 1]), meta)
end
return n
