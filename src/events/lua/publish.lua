--[[
  Publishes a batch of jobs: appends `created` for each new job (and `scheduled` when it starts
  delayed) and puts it in its priority lane or in the delayed set. A job id that already exists
  is left untouched (idempotent publish) and reported as a duplicate. A job whose dedupe key is
  held (by a live job, or by a finished one inside its TTL window) is not created either; the
  holder's id is reported. A new job with a dedupe key takes the key (dedupe:<key> -> job id).
  A job with a group key waits in its group's list (includes/groups.lua) instead of a lane, and
  sets the meta flag `groups` that turns the group scheduler on in claim.

  Input: the fixed KEYS block and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of jobs N
    for each job i (14 values from ARGV[4 + (i-1)*14]):
      jobId, name, priority (0..4), maxAttempts, backoff JSON, timeoutMs or '',
      payload ref JSON or '', runAt (ms) or '', traceparent or '', correlationId or '',
      causationId or '', dedupe key or '', dedupe TTL (ms) or '', group or ''
  Output: array of N values: 1 created, 0 duplicate id, or the id of the job holding the dedupe
    key (nothing changed for that job).
  Events: created, scheduled
]]
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/groups"

-- The live holder of a dedupe key, or nil when the key is free (never taken, released, or past
-- its TTL window by the injected clock).
local function dedupeHolder(K, dedupeKey)
  local v = redis.call('GET', K.dedupePrefix .. dedupeKey)
  if not v then return nil end
  local holder, untilMs = string.match(v, '^(%S+) (%d+)$')
  if not holder then return v end
  if tonumber(untilMs) > K.now then return holder end
  return nil
end

local K = sluiceKeys()
local n = tonumber(ARGV[3])
local out = {}
local groupsOn = false
for i = 1, n do
  local b = 4 + (i - 1) * 14
  local jobId = ARGV[b]
  local dedupeKey = ARGV[b + 11]
  if redis.call('EXISTS', K.jobPrefix .. jobId) == 1 then
    out[i] = 0
  elseif dedupeKey ~= '' then
    out[i] = dedupeHolder(K, dedupeKey)
  end
  if out[i] == nil then
    local priority = tonumber(ARGV[b + 2])
    local data = {
      name = ARGV[b + 1], priority = priority, maxAttempts = tonumber(ARGV[b + 3]),
      backoff = cjson.decode(ARGV[b + 4]),
    }
    if ARGV[b + 5] ~= '' then data.timeoutMs = tonumber(ARGV[b + 5]) end
    if ARGV[b + 6] ~= '' then data.payload = cjson.decode(ARGV[b + 6]) end
    if dedupeKey ~= '' then
      data.dedupeKey = dedupeKey
      if ARGV[b + 12] ~= '' then data.dedupeTtlMs = tonumber(ARGV[b + 12]) end
      redis.call('SET', K.dedupePrefix .. dedupeKey, jobId)
    end
    local group = ARGV[b + 13]
    if group ~= '' then
      data.group = group
      if not groupsOn then
        redis.call('HSET', K.meta, 'groups', '1')
        groupsOn = true
      end
    else
      group = nil
    end
    local runAt = tonumber(ARGV[b + 7])
    if runAt and runAt > K.now then data.runAt = runAt else runAt = nil end
    appendEvent(K, jobId, 'created', data,
      { traceparent = ARGV[b + 8], correlationId = ARGV[b + 9], causationId = ARGV[b + 10] })
    if runAt then
      appendEvent(K, jobId, 'scheduled', { runAt = runAt, reason = 'delay' })
      redis.call('ZADD', K.delayed, runAt, jobId)
    elseif group then
      dispatchGrouped(K, jobId, group)
    else
      redis.call('XADD', K.lanes[priority], '*', 'j', jobId)
    end
    out[i] = 1
  end
end
return out
