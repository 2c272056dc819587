--[[
  Removes a job that is not active from the read models: appends `removed` (the fold deletes
  the job hash and its index entries). Its events stay in the log.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  reason: 'manual' or 'retention'
  Output: the state the job was removed from.
  Errors: SLUICE_ERR_JOB_NOT_FOUND, SLUICE_ERR_INVALID_STATE (active: cancel it first).
  Events: removed
]]
--- @keys events meta counts priority delayed jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/flows"
local K = sluiceKeys()
local jobId = ARGV[3]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'traceparent', 'dedupeKey')
local state = job[1]
if not state then return redis.error_reply('SLUICE_ERR_JOB_NOT_FOUND ' .. K.queue .. ' ' .. jobId) end
if state == 'active' then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is active; cancel it before removing it')
end
if state == 'delayed' then redis.call('ZREM', K.delayed, jobId) end
-- Before the event: the fold deletes the job hash the TTL is read from.
releaseDedupe(K, jobId, job[3])
appendEvent(K, jobId, 'removed', { fromState = state, reason = ARGV[4] })
if state ~= 'completed' and state ~= 'dead' and state ~= 'cancelled' then
  redis.call('DEL', K.depsPrefix .. jobId)
  settleDependants(K, jobId, 'removed')
end
return state
