--[[
  Records a failed attempt. Appends `failed`; then, when attempts remain and the caller asked
  for a retry, `scheduled` (reason retry) and puts the job in the delayed set at retryAt;
  otherwise `dead-lettered`. Acknowledges and deletes the attempt's lane entry.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  attempt token
    ARGV[5]  error JSON {name, message, stack?}
    ARGV[6]  retryAt (ms), `+<delay ms>` (retry that long after now), or '' for no retry
  Output: 'retry' or 'dead'.
  Errors: SLUICE_ERR_STALE_ATTEMPT when the token no longer owns the job (nothing changed).
  Events: failed, scheduled | dead-lettered
]]
--- @keys events meta counts priority delayed jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/groups"
--- @include "includes/flows"
local K = sluiceKeys()
local jobId, token = ARGV[3], ARGV[4]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt', 'maxAttempts', 'priority', 'traceparent', 'dedupeKey', 'group')
if job[1] ~= 'active' or job[2] ~= token then
  return redis.error_reply('SLUICE_ERR_STALE_ATTEMPT attempt ' .. token .. ' of job ' .. jobId ..
    ' no longer owns it (state ' .. tostring(job[1]) .. ')')
end
local attempt, maxAttempts = tonumber(job[3]), tonumber(job[4])
local retryAt = tonumber(ARGV[6])
if string.sub(ARGV[6], 1, 1) == '+' then retryAt = K.now + tonumber(string.sub(ARGV[6], 2)) end
local final = retryAt == nil or attempt >= maxAttempts
local data = { attempt = attempt, error = cjson.decode(ARGV[5]), final = final }
if not final then data.retryAt = retryAt end
appendEvent(K, jobId, 'failed', data)
dropEntry(K, tonumber(job[5]), token)
if job[8] then groupSlotFree(K, job[8]) end
if final then
  local reason = 'attempts-exhausted'
  if retryAt == nil and attempt < maxAttempts then reason = 'unrecoverable' end
  appendEvent(K, jobId, 'dead-lettered', { reason = reason, attempt = attempt })
  releaseDedupe(K, jobId, job[7])
  settleDependants(K, jobId, 'dead')
  return 'dead'
end
appendEvent(K, jobId, 'scheduled', { runAt = retryAt, reason = 'retry' })
redis.call('ZADD', K.delayed, retryAt, jobId)
return 'retry'
