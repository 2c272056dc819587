--[[
  Moves due delayed jobs to their lanes, in one atomic batch: appends `promoted` and adds a
  lane entry for each. Idempotent: a job already promoted (or cancelled) is only removed from
  the delayed set. Safe to run in every worker at once.

  Input: the fixed KEYS block and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  most jobs to promote
  Output: { promoted, nextDueMs } — nextDueMs is the due time of the earliest job still
    delayed, or -1 when none is.
  Events: promoted
]]
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/groups"
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
    if job[4] then
      dispatchGrouped(K, jobId, job[4])
    else
      redis.call('XADD', K.lanes[lane], '*', 'j', jobId)
    end
    promoted = promoted + 1
  end
end
local nextDue = redis.call('ZRANGE', K.delayed, 0, 0, 'WITHSCORES')
return { promoted, nextDue[2] and tonumber(nextDue[2]) or -1 }
