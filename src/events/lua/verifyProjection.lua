--[[
  Last step of verify: folds the log entries appended since the replay's last id into the
  shadow read model, then compares it with the live read model, atomically, and reports every
  difference (at most ARGV[4]). The shadow keys are left for the caller to delete. When the
  archiver trimmed entries the replay has not folded, or the history folded does not add up to
  the stream's, nothing is compared (see finishReplay in includes/replay.lua).

  Input: the keys of its @keys line twice (@blocks 2): the live ones, then the shadow ones (see
    applyEvents.lua),
    ARGV[1..2] as usual, then
    ARGV[3]  id of the last log entry the replay applied ('0-0' for none)
    ARGV[4]  most differences to report
    ARGV[5]  number of events the replay applied
  Output: { 'ok', eventsCaughtUp, jobsCompared, difference... } where each difference is a
    string `<where> live=<value> rebuilt=<value>`; or { 'behind', firstId } or
    { 'mismatch', folded, appended }
  Events: none
]]
--- @keys events counts priority jobPrefix groupLane lanes states
--- @blocks 2
--- @include "includes/keys"
--- @include "includes/replay"
local K = sluiceKeys()
local S = shadowKeys()
local stop, caught = finishReplay(S, ARGV[3], tonumber(ARGV[5]))
if stop then return stop end
local limit = tonumber(ARGV[4])
local diffs = {}
local function diff(where, live, rebuilt)
  if #diffs < limit then
    diffs[#diffs + 1] = where .. ' live=' .. tostring(live) .. ' rebuilt=' .. tostring(rebuilt)
  end
end
local function toMap(flat)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end
local function compareMaps(where, live, rebuilt)
  for k, v in pairs(live) do
    if rebuilt[k] ~= v then diff(where .. ' ' .. k, v, rebuilt[k] or '(none)') end
  end
  for k, v in pairs(rebuilt) do
    if live[k] == nil then diff(where .. ' ' .. k, '(none)', v) end
  end
end
compareMaps('counts', toMap(redis.call('HGETALL', K.counts)), toMap(redis.call('HGETALL', S.counts)))
compareMaps('priority', toMap(redis.call('ZRANGE', K.priority, 0, -1, 'WITHSCORES')),
  toMap(redis.call('ZRANGE', S.priority, 0, -1, 'WITHSCORES')))
for state, key in pairs(K.states) do
  compareMaps('state:' .. state, toMap(redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')),
    toMap(redis.call('ZRANGE', S.states[state], 0, -1, 'WITHSCORES')))
end
local seen = {}
local compared = 0
local function compareJob(id)
  if seen[id] then return end
  seen[id] = true
  compared = compared + 1
  compareMaps('job ' .. id, toMap(redis.call('HGETALL', K.jobPrefix .. id)),
    toMap(redis.call('HGETALL', S.jobPrefix .. id)))
end
for _, id in ipairs(jobIds(K)) do compareJob(id) end
for _, id in ipairs(jobIds(S)) do compareJob(id) end
local out = { 'ok', caught, compared }
for _, d in ipairs(diffs) do out[#out + 1] = d end
return out
