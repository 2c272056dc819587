--[[
  Moves due delayed jobs to their lanes, in one atomic batch: appends `promoted` and adds a
  lane entry for each. Idempotent: a job already promoted (or cancelled) is only removed from
  the delayed set. Safe to run in every worker at once.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  most jobs to promote
  Output: { promoted, nextDueMs } — nextDueMs is the due time of the earliest job still
    delayed, or -1 when none is.
  Events: promoted
]]
--- @keys events meta counts priority delayed jobPrefix groups groupState groupsParked groupWaitPrefix groupLane wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/dispatch"
local K = sluiceKeys()
local limit = tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', K.delayed, '-inf', K.now, 'LIMIT', 0, limit)
local promoted = 0
for _, jobId in ipairs(due) do
  redis.call('ZREM', K.delayed, jobId)
  local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'priority', 'traceparent', 'group')
  if job[1] == 'delayed' then
    local lane = tonumber(job[2])
    appendEvent(K, jobId, 'promoted', { lane = lane })
    dispatchJob(K, jobId, lane, job[4])
    promoted = promoted + 1
  end
end
local nextDue = redis.call('ZRANGE', K.delayed, 0, 0, 'WITHSCORES')
return { promoted, nextDue[2] and tonumber(nextDue[2]) or -1 }
