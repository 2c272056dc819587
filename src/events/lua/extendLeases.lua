--[[
  Heartbeat: resets the idle time of this worker's pending entries (XCLAIM ... JUSTID, which
  does not count a delivery) for every attempt that still owns its job, and marks the worker
  alive. Attempts that no longer own their job (cancelled, reclaimed) are reported so the
  worker aborts their handlers.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  consumer name (worker id)
    ARGV[4]  number of attempts N, then N pairs: jobId, token
  Output: array of the job ids whose attempt no longer owns the job.
  Events: none
]]
--- @keys events counts priority jobPrefix workers groupLane lanes states
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
local consumer = ARGV[3]
local n = tonumber(ARGV[4])
redis.call('ZADD', K.workers, K.now, consumer)
local lost = {}
for i = 1, n do
  local jobId, token = ARGV[3 + i * 2], ARGV[4 + i * 2]
  local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'priority')
  if job[1] == 'active' and job[2] == token then
    local stream, entryId = entryOf(K, tonumber(job[3]), token)
    redis.call('XCLAIM', stream, 'workers', consumer, 0, entryId, 'JUSTID')
  else
    lost[#lost + 1] = jobId
  end
end
return lost
