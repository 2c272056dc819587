--[[
  Creates one job from the PUB_WIDTH ARGV values starting at index b (the publish wire format:
  PUBLISH_FIELDS in src/events/wire.ts, built by publishCommand in src/events/commands/): appends
  `created` (and `scheduled` when it starts delayed) and dispatches it to its lane, its group's
  list or the delayed set — or, when prerequisites are pending, leaves it `blocked`
  (includes/flows.lua): a prerequisite of this queue that completed already counts as resolved;
  one that is dead or cancelled is resolved at once by policy; any other (waiting, running, not
  published yet, or in another queue) is pending. The caller registers the dependant in other
  queues (registerDependant.lua).

  ARGV[b + PUB_<FIELD>]: JOB_ID, NAME, PRIORITY (0..4), MAX_ATTEMPTS, BACKOFF JSON, TIMEOUT_MS or
    '', PAYLOAD ref JSON or '', RUN_AT (ms), `+<delay ms>` or '', TRACEPARENT or '',
    CORRELATION_ID or '', CAUSATION_ID or '', DEDUPE_KEY or '', DEDUPE_TTL_MS or '', GROUP or '',
    REPEAT_KEY or '', DEPENDS_ON JSON ["<queue>|<jobId>", ...] or '', ON_DEPENDENCY_FAILURE
    ('fail'|'ignore') or ''

  publishJob(K, b) -> 1 created, 0 the job id exists (nothing changed), or the id of the job
    holding the dedupe key (nothing changed).
  Events: created, scheduled
]]
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

--- @include "includes/flows"
local groupsFlagSet = false

local function publishJob(K, b)
  local jobId = ARGV[b + PUB_JOB_ID]
  if redis.call('EXISTS', K.jobPrefix .. jobId) == 1 then return 0 end
  local dedupeKey = ARGV[b + PUB_DEDUPE_KEY]
  if dedupeKey ~= '' then
    local holder = dedupeHolder(K, dedupeKey)
    if holder then return holder end
  end
  local priority = tonumber(ARGV[b + PUB_PRIORITY])
  local data = {
    name = ARGV[b + PUB_NAME], priority = priority, maxAttempts = tonumber(ARGV[b + PUB_MAX_ATTEMPTS]),
    backoff = cjson.decode(ARGV[b + PUB_BACKOFF]),
  }
  if ARGV[b + PUB_TIMEOUT_MS] ~= '' then data.timeoutMs = tonumber(ARGV[b + PUB_TIMEOUT_MS]) end
  if ARGV[b + PUB_PAYLOAD] ~= '' then data.payload = cjson.decode(ARGV[b + PUB_PAYLOAD]) end
  if dedupeKey ~= '' then
    data.dedupeKey = dedupeKey
    if ARGV[b + PUB_DEDUPE_TTL_MS] ~= '' then data.dedupeTtlMs = tonumber(ARGV[b + PUB_DEDUPE_TTL_MS]) end
    redis.call('SET', K.dedupePrefix .. dedupeKey, jobId)
  end
  local group = ARGV[b + PUB_GROUP]
  if group ~= '' then
    data.group = group
    if not groupsFlagSet then
      redis.call('HSET', K.meta, 'groups', '1')
      groupsFlagSet = true
    end
  else
    group = nil
  end
  if ARGV[b + PUB_REPEAT_KEY] ~= '' then data.repeatKey = ARGV[b + PUB_REPEAT_KEY] end
  local pending, settled = 0, {}
  if ARGV[b + PUB_DEPENDS_ON] ~= '' then
    local me = K.queue .. '|' .. jobId
    data.dependsOn = {}
    for i, ref in ipairs(cjson.decode(ARGV[b + PUB_DEPENDS_ON])) do
      local q, id = splitRef(ref)
      data.dependsOn[i] = { queue = q, jobId = id }
      local st = nil
      if q == K.queue then st = redis.call('HGET', K.jobPrefix .. id, 'state') end
      if st ~= 'completed' and redis.call('SADD', K.depsPrefix .. jobId, ref) == 1 then
        pending = pending + 1
        if st == 'dead' or st == 'cancelled' then
          settled[#settled + 1] = { ref, st }
        elseif q == K.queue then
          redis.call('SADD', K.dependentsPrefix .. id, me)
        end
      end
    end
    if ARGV[b + PUB_ON_DEPENDENCY_FAILURE] ~= '' then data.onDependencyFailure = ARGV[b + PUB_ON_DEPENDENCY_FAILURE] end
    data.pendingDependencies = pending
    if pending > 0 and not flowsOn(K) then
      redis.call('HSET', K.meta, 'flows', '1')
      K.flowsOn = true
    end
  end
  local runAt = tonumber(ARGV[b + PUB_RUN_AT])
  -- `+<ms>`: a delay, measured from the script's own clock.
  if string.sub(ARGV[b + PUB_RUN_AT], 1, 1) == '+' then runAt = K.now + tonumber(string.sub(ARGV[b + PUB_RUN_AT], 2)) end
  if runAt and runAt > K.now and pending == 0 then data.runAt = runAt else runAt = nil end
  appendEvent(K, jobId, 'created', data,
    { false, false, 0, ARGV[b + PUB_TRACEPARENT], ARGV[b + PUB_CORRELATION_ID], ARGV[b + PUB_CAUSATION_ID] })
  if pending > 0 then
    -- Blocked: dispatched when its last prerequisite resolves (or dead-lettered by policy now).
    for _, s in ipairs(settled) do
      local failed = resolveDependency(K, jobId, s[1], s[2])
      if failed then settleDependants(K, jobId, failed) end
    end
  elseif runAt then
    appendEvent(K, jobId, 'scheduled', { runAt = runAt, reason = 'delay' })
    redis.call('ZADD', K.delayed, runAt, jobId)
  else
    dispatchJob(K, jobId, priority, group)
  end
  return 1
end
