--[[
  Changes the priority of a job that has not started: appends `reprioritized` {from, to}.
  A waiting job gets a new entry in its new lane; the entry in its old lane is left as a stale
  hint that claim.lua acknowledges and deletes (it claims a job only through an entry of the
  lane its priority names), so the job is claimed once, from the new lane, after the jobs
  already waiting there. A delayed or blocked job has no lane entry yet: the promoter (or the
  last prerequisite) adds one to the lane of its new priority.
  Grouped jobs are refused: the fair group scheduler dispatches them, not the priority lanes.
  Setting the priority the job already has appends nothing.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  new priority, an integer 0..4 (checked by the caller)
  Output: { state, from, to }
  Errors: SLUICE_ERR_JOB_NOT_FOUND, SLUICE_ERR_INVALID_STATE (active or finished, or grouped).
  Events: reprioritized
]]
--- @keys events counts priority jobPrefix groupLane lanes states
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
local jobId = ARGV[3]
local to = tonumber(ARGV[4])
local job = redis.call('HMGET', K.jobPrefix .. jobId, unpack(contextAnd({ 'group' })))
local state = job[1]
if not state then return redis.error_reply('SLUICE_ERR_JOB_NOT_FOUND ' .. K.queue .. ' ' .. jobId) end
if state ~= 'waiting' and state ~= 'delayed' and state ~= 'blocked' then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is ' .. state ..
    '; only waiting, delayed or blocked jobs can change priority')
end
if job[7] then
  return redis.error_reply('SLUICE_ERR_INVALID_STATE job ' .. jobId .. ' is in group ' .. job[7] ..
    '; grouped jobs are dispatched by their group, not by priority')
end
local from = tonumber(job[2])
if from == to then return { state, from, to } end
appendEvent(K, jobId, 'reprioritized', { from = from, to = to }, job)
if state == 'waiting' then
  -- Workers blocked on the lanes wake on this entry.
  redis.call('XADD', K.lanes[to], '*', 'j', jobId)
end
return { state, from, to }
