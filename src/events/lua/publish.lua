--[[
  Publishes a batch of jobs: appends `created` for each new job (and `scheduled` when it starts
  delayed) and puts it in its priority lane or in the delayed set. A job id that already exists
  is left untouched (idempotent publish) and reported as a duplicate.

  Input: the fixed KEYS block and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of jobs N
    for each job i (11 values from ARGV[4 + (i-1)*11]):
      jobId, name, priority (0..4), maxAttempts, backoff JSON, timeoutMs or '',
      payload ref JSON or '', runAt (ms) or '', traceparent or '', correlationId or '',
      causationId or ''
  Output: array of N integers: 1 created, 0 duplicate id (nothing changed for that job).
  Events: created, scheduled
]]
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local b = 4 + (i - 1) * 11
  local jobId = ARGV[b]
  if redis.call('EXISTS', K.jobPrefix .. jobId) == 1 then
    out[i] = 0
  else
    local priority = tonumber(ARGV[b + 2])
    local data = {
      name = ARGV[b + 1], priority = priority, maxAttempts = tonumber(ARGV[b + 3]),
      backoff = cjson.decode(ARGV[b + 4]),
    }
    if ARGV[b + 5] ~= '' then data.timeoutMs = tonumber(ARGV[b + 5]) end
    if ARGV[b + 6] ~= '' then data.payload = cjson.decode(ARGV[b + 6]) end
    local runAt = tonumber(ARGV[b + 7])
    if runAt and runAt > K.now then data.runAt = runAt else runAt = nil end
    appendEvent(K, jobId, 'created', data,
      { traceparent = ARGV[b + 8], correlationId = ARGV[b + 9], causationId = ARGV[b + 10] })
    if runAt then
      appendEvent(K, jobId, 'scheduled', { runAt = runAt, reason = 'delay' })
      redis.call('ZADD', K.delayed, runAt, jobId)
    else
      redis.call('XADD', K.lanes[priority], '*', 'j', jobId)
    end
    out[i] = 1
  end
end
return out
