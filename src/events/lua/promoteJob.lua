--[[
  Manual promotion of one delayed job (a delay or a retry backoff not yet due): appends
  `promoted` (reason `manual`) and adds the job to its lane (or its group) now.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
  Output: the state the job was promoted from ('delayed').
  Errors: SLUICE_ERR_JOB_NOT_FOUND, SLUICE_ERR_INVALID_STATE (any state but delayed).
  Events: promoted
]]
--- @keys events meta counts priority delayed jobPrefix groups groupState groupsParked groupWaitPrefix groupLane wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/dispatch"
local K = sluiceKeys()
local jobId = ARGV[3]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'priority', 'group')
local state = job[1]
if not state then return redis.error_reply('SLUICE_ERR_JOB_NOT_FOUND ' .. K.queue .. ' ' .. jobId) end
if state ~= 'delayed' then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is ' .. state ..
    '; only delayed jobs can be promoted')
end
redis.call('ZREM', K.delayed, jobId)
local lane = tonumber(job[2])
appendEvent(K, jobId, 'promoted', { lane = lane, reason = 'manual' })
dispatchJob(K, jobId, lane, job[3])
return state
