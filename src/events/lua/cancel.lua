--[[
  Cancels a waiting, delayed, blocked or active job: appends `cancelled`; its dependants see the
  outcome `cancelled`. A delayed job leaves the
  delayed set; an active job's lane entry is acknowledged and deleted, so its worker's late
  outcome is refused and its next heartbeat aborts the handler. A waiting job's lane entry is
  left as a stale hint that claim discards.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  reason, or ''
  Output: the state the job was cancelled from.
  Errors: SLUICE_ERR_JOB_NOT_FOUND, SLUICE_ERR_INVALID_STATE (already finished).
  Events: cancelled
]]
--- @keys events meta counts priority delayed jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/groups"
--- @include "includes/flows"
local K = sluiceKeys()
local jobId = ARGV[3]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'priority', 'traceparent', 'dedupeKey', 'group')
local state = job[1]
if not state then return redis.error_reply('SLUICE_ERR_JOB_NOT_FOUND ' .. K.queue .. ' ' .. jobId) end
if state ~= 'waiting' and state ~= 'delayed' and state ~= 'active' and state ~= 'blocked' then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is ' .. state .. ' and cannot be cancelled')
end
if state == 'delayed' then redis.call('ZREM', K.delayed, jobId) end
if state == 'active' and job[2] and job[2] ~= '' then
  dropEntry(K, tonumber(job[3]), job[2])
  if job[6] then groupSlotFree(K, job[6]) end
end
-- A waiting grouped job's id stays in its group's list as a stale hint that claim drops.
local data = { fromState = state }
if ARGV[4] ~= '' then data.reason = ARGV[4] end
appendEvent(K, jobId, 'cancelled', data)
releaseDedupe(K, jobId, job[5])
redis.call('DEL', K.depsPrefix .. jobId)
settleDependants(K, jobId, 'cancelled')
return state
