--[[
  Manual retry of a failed, dead or cancelled job: appends `retried` (the attempt count starts
  over) and adds a fresh lane entry.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  who asked, or ''
  Output: the state the job was retried from.
  Errors: SLUICE_ERR_JOB_NOT_FOUND, SLUICE_ERR_INVALID_STATE (waiting, delayed, active or completed).
  Events: retried
]]
--- @keys events meta counts priority jobPrefix groups groupState groupsParked groupWaitPrefix groupLane wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/dispatch"
local K = sluiceKeys()
local jobId = ARGV[3]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'priority', 'traceparent', 'group')
local state = job[1]
if not state then return redis.error_reply('SLUICE_ERR_JOB_NOT_FOUND ' .. K.queue .. ' ' .. jobId) end
if state ~= 'failed' and state ~= 'dead' and state ~= 'cancelled' then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is ' .. state ..
    '; only failed, dead or cancelled jobs can be retried')
end
local data = { fromState = state }
if ARGV[4] ~= '' then data.by = ARGV[4] end
appendEvent(K, jobId, 'retried', data)
dispatchJob(K, jobId, tonumber(job[2]), job[4])
return state
