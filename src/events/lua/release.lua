--[[
  Gives jobs back on worker shutdown for immediate redelivery: for every attempt that still owns
  its job, appends `timed-out` with reason `released` (the attempt does not count), deletes the
  attempt's lane entry and adds a fresh one.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  worker id
    ARGV[4]  number of attempts N, then N pairs: jobId, token
  Output: number of jobs released.
  Events: timed-out
]]
--- @keys events meta counts priority jobPrefix groups groupState groupsParked groupWaitPrefix groupLane wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/dispatch"
local K = sluiceKeys()
local worker = ARGV[3]
local n = tonumber(ARGV[4])
local released = 0
for i = 1, n do
  local jobId, token = ARGV[3 + i * 2], ARGV[4 + i * 2]
  local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt', 'priority', 'traceparent', 'group')
  if job[1] == 'active' and job[2] == token then
    local lane = tonumber(job[4])
    appendEvent(K, jobId, 'timed-out', { attempt = tonumber(job[3]), worker = worker, idleMs = 0,
      reason = 'released' })
    dropEntry(K, lane, token)
    if job[6] then groupSlotFree(K, job[6]) end
    dispatchJob(K, jobId, lane, job[6])
    released = released + 1
  end
end
return released
