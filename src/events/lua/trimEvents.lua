--[[
  Trims the event log behind the archiver: removes the entries strictly before the last archived
  one (which stays as the seam replay uses), but never past a replay hold. While `verify` or
  `rebuild` replays the queue, the meta hash holds `replayHold` = `<stream id> <expires at ms>`:
  entries after that id (the last event the replay folded) stay in the stream until the replay
  ends or the hold expires, so the replay's final, atomic step finds them there instead of
  chasing the archive.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  id of the last archived entry
  Output: number of entries removed
  Events: none
]]
--- @keys events meta
--- @include "includes/keys"
--- @include "includes/streamid"
local K = sluiceKeys()
local minId = ARGV[3]
local hold = redis.call('HGET', K.meta, 'replayHold')
if hold then
  local id, expires = string.match(hold, '^(%d+%-%d+) (%d+)$')
  if id and tonumber(expires) > K.now and idAtMost(id, minId) then minId = id end
end
return redis.call('XTRIM', K.events, 'MINID', minId)
