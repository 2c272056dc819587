--[[
  The projection fold: applies one event to the read models. This is the only definition of
  the fold. Transition scripts call it right after appending each event (so reads are consistent
  with the log when the call returns); rebuild replays the log through it into shadow keys.

  Read models touched (all named by the K table of includes/keys.lua):
    job hash (K.jobPrefix .. jobId), K.states[*], K.priority, K.counts

  applyEvent(K, jobId, etype, d, meta)
    d     the event data as a Lua table (decoded JSON)
    meta  the event metadata table: time, seq, traceparent
  Output: none. Events: none (the caller appended the event).
]]
-- JSON with object keys sorted, so the same value always encodes to the same text (cjson's
-- key order depends on table history, which inline and replayed folds do not share).
local function canonicalJson(v)
  if type(v) ~= 'table' then return cjson.encode(v) end
  local n = #v
  if n > 0 or next(v) == nil then
    if n == 0 then return '{}' end
    local parts = {}
    for i = 1, n do parts[i] = canonicalJson(v[i]) end
    return '[' .. table.concat(parts, ',') .. ']'
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = cjson.encode(tostring(k)) .. ':' .. canonicalJson(v[k]) end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- Waiting jobs sort by lane (higher first), then arrival. Scores stay below 2^53.
local function priorityScore(priority, time)
  return (4 - priority) * 10000000000000 + time
end

local function moveState(K, jobId, jkey, from, to, time, priority)
  if from then
    redis.call('ZREM', K.states[from], jobId)
    redis.call('HINCRBY', K.counts, from, -1)
    if from == 'waiting' then redis.call('ZREM', K.priority, jobId) end
  end
  if to then
    redis.call('ZADD', K.states[to], time, jobId)
    redis.call('HINCRBY', K.counts, to, 1)
    if to == 'waiting' then redis.call('ZADD', K.priority, priorityScore(priority, time), jobId) end
    redis.call('HSET', jkey, 'state', to)
  end
end

local function applyEvent(K, jobId, etype, d, meta)
  local jkey = K.jobPrefix .. jobId
  local t = meta.time
  local cur = redis.call('HMGET', jkey, 'state', 'priority')
  local state = cur[1] or nil
  local priority = tonumber(cur[2])
  redis.call('HINCRBY', K.counts, 'events:' .. etype, 1)
  if etype == 'removed' then
    if state then
      moveState(K, jobId, jkey, state, nil, t, priority)
    end
    redis.call('DEL', jkey)
    return
  end
  redis.call('HSET', jkey, 'seq', meta.seq, 'updatedAt', t)
  if etype == 'created' then
    redis.call('HSET', jkey, 'id', jobId, 'name', d.name, 'priority', d.priority,
      'maxAttempts', d.maxAttempts, 'attempt', 0, 'backoff', canonicalJson(d.backoff), 'createdAt', t)
    if d.timeoutMs then redis.call('HSET', jkey, 'timeoutMs', d.timeoutMs) end
    if d.payload then redis.call('HSET', jkey, 'payload', canonicalJson(d.payload)) end
    if meta.traceparent then redis.call('HSET', jkey, 'traceparent', meta.traceparent) end
    if meta.correlationId then redis.call('HSET', jkey, 'correlationId', meta.correlationId) end
    if meta.causationId then redis.call('HSET', jkey, 'causationId', meta.causationId) end
    if d.dedupeKey then redis.call('HSET', jkey, 'dedupeKey', d.dedupeKey) end
    if d.dedupeTtlMs then redis.call('HSET', jkey, 'dedupeTtlMs', d.dedupeTtlMs) end
    if d.group then redis.call('HSET', jkey, 'group', d.group) end
    if d.repeatKey then redis.call('HSET', jkey, 'repeatKey', d.repeatKey) end
    if d.dependsOn then redis.call('HSET', jkey, 'dependsOn', canonicalJson(d.dependsOn)) end
    if d.onDependencyFailure then redis.call('HSET', jkey, 'onDependencyFailure', d.onDependencyFailure) end
    local pending = d.pendingDependencies or 0
    if d.dependsOn then redis.call('HSET', jkey, 'pendingDependencies', pending) end
    if pending > 0 then
      moveState(K, jobId, jkey, state, 'blocked', t, d.priority)
    else
      moveState(K, jobId, jkey, state, 'waiting', t, d.priority)
    end
  elseif etype == 'dependency-resolved' then
    redis.call('HSET', jkey, 'pendingDependencies', d.remaining)
  elseif etype == 'scheduled' then
    redis.call('HSET', jkey, 'runAt', d.runAt)
    moveState(K, jobId, jkey, state, 'delayed', t, priority)
  elseif etype == 'promoted' then
    redis.call('HDEL', jkey, 'runAt')
    moveState(K, jobId, jkey, state, 'waiting', t, priority)
  elseif etype == 'claimed' then
    redis.call('HSET', jkey, 'attempt', d.attempt, 'token', d.token, 'worker', d.worker.id, 'claimedAt', t)
    moveState(K, jobId, jkey, state, 'active', t, priority)
  elseif etype == 'progress' then
    redis.call('HSET', jkey, 'progress', canonicalJson(d.progress))
  elseif etype == 'completed' then
    redis.call('HSET', jkey, 'token', '', 'finishedAt', t)
    if d.result then redis.call('HSET', jkey, 'result', canonicalJson(d.result)) end
    moveState(K, jobId, jkey, state, 'completed', t, priority)
  elseif etype == 'failed' then
    redis.call('HSET', jkey, 'token', '', 'lastError', canonicalJson(d.error), 'failedAt', t)
    moveState(K, jobId, jkey, state, 'failed', t, priority)
  elseif etype == 'timed-out' then
    if d.reason == 'released' then
      -- Given back on shutdown: the attempt does not count.
      redis.call('HSET', jkey, 'token', '', 'attempt', d.attempt - 1)
    else
      redis.call('HSET', jkey, 'token', '', 'lastError', canonicalJson({ name = 'LeaseExpired',
        message = 'lease of ' .. d.idleMs .. ' ms expired without a heartbeat' }))
    end
    moveState(K, jobId, jkey, state, 'waiting', t, priority)
  elseif etype == 'lost' then
    redis.call('HSET', jkey, 'token', '', 'lastError', canonicalJson({ name = 'EntryLost', message = d.reason }))
  elseif etype == 'dead-lettered' then
    redis.call('HSET', jkey, 'token', '', 'deadReason', d.reason, 'finishedAt', t)
    moveState(K, jobId, jkey, state, 'dead', t, priority)
  elseif etype == 'retried' then
    redis.call('HSET', jkey, 'attempt', 0, 'token', '')
    redis.call('HDEL', jkey, 'finishedAt', 'deadReason')
    moveState(K, jobId, jkey, state, 'waiting', t, priority)
  elseif etype == 'cancelled' then
    redis.call('HSET', jkey, 'token', '', 'finishedAt', t)
    if d.reason then redis.call('HSET', jkey, 'cancelReason', d.reason) end
    moveState(K, jobId, jkey, state, 'cancelled', t, priority)
  end
end
