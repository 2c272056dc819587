--[[
  Last step of rebuild: folds the log entries appended since the replay's last id into the
  shadow read model, then swaps it in for the live one, atomically. Publishing and workers may
  run during the rebuild: nothing they append can fall between the replay and the swap. When the
  archiver trimmed entries the replay has not folded, or the history folded does not add up to
  the stream's, nothing is swapped (see finishReplay in includes/replay.lua).

  Input: the keys of its @keys line twice (@blocks 2): the live ones, then the shadow ones (see
    applyEvents.lua),
    ARGV[1..2] as usual, then
    ARGV[3]  id of the last log entry the replay applied ('0-0' for none)
    ARGV[4]  number of events the replay applied
  Output: { 'ok', eventsCaughtUp, jobs }, or { 'behind', firstId } or
    { 'mismatch', folded, appended } with nothing swapped
  Events: none
]]
--- @keys events counts priority jobPrefix groupLane lanes states
--- @blocks 2
--- @include "includes/keys"
--- @include "includes/replay"
local K = sluiceKeys()
local S = shadowKeys()
local stop, caught = finishReplay(S, ARGV[3], tonumber(ARGV[4]))
if stop then return stop end
for _, id in ipairs(jobIds(K)) do redis.call('DEL', K.jobPrefix .. id) end
local shadowIds = jobIds(S)
for _, id in ipairs(shadowIds) do
  redis.call('RENAME', S.jobPrefix .. id, K.jobPrefix .. id)
end
local function swap(from, to)
  if redis.call('EXISTS', from) == 1 then redis.call('RENAME', from, to) else redis.call('DEL', to) end
end
swap(S.counts, K.counts)
swap(S.priority, K.priority)
for state, key in pairs(S.states) do swap(key, K.states[state]) end
return { 'ok', caught, #shadowIds }
