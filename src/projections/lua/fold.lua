--[[
  The projection fold: applies one event to the read models. This is the only definition of
  the fold. Transition scripts call it right after appending each event (so reads are consistent
  with the log when the call returns); rebuild replays the log through it into shadow keys.
  Scripts take it in with `--- @include "projections/fold"` (scripts/gen-lua.ts resolves
  `<layer>/<name>` to src/<layer>/lua/<name>.lua); the TypeScript reader of what it writes is
  src/projections/job.ts.

  Read models touched (all named by the K table of src/events/lua/includes/keys.lua):
    job hash (K.jobPrefix .. jobId), K.states[*], K.priority, K.counts
  Every state but waiting and active may have its index in K.states, scored by the time the job
  entered it; the index of waiting is K.priority, scored by priorityScore (src/core/keys.ts has
  the same formula). A state's index is written only when K has one: the live and shadow read
  models keep none for `active` (the active jobs are the lanes' pending entries, see
  src/queue/active.ts), a time-travel read model does. The counts hash counts every state
  either way.

  applyEvent(K, jobId, etype, d, meta, cur)
    d     the event data as a Lua table (decoded JSON)
    meta  the event metadata table: time, seq, traceparent
    cur   the job's current { state, priority } (HMGET order) when the caller has read them in
          this call; nil to read them here (the replay path)
  Output: none. Events: none (the caller appended the event).

  The job hash is written with one HSET per event (plus one HDEL for `promoted` and `retried`)
  and kept small enough for Redis' compact listpack encoding: no value the fold writes for a
  waiting job is longer than 64 bytes. The backoff is stored as `type:delayMs:maxDelayMs:jitter`
  (empty parts for absent fields) and a payload or result reference as four fields
  (`<p>Id`, `<p>Encoding`, `<p>Size`, `<p>Hash` with the 64 hex digits of the sha256), not as
  JSON; src/projections/job.ts reads them back.
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
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = cjson.encode(k) .. ':' .. canonicalJson(v[k]) end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- Waiting jobs sort by lane (higher first), then arrival. Scores stay below 2^53. Readers take
-- the time back per lane: time = score - (4 - priority) * 1e13 (priorityScore in src/core/keys.ts).
local function priorityScore(priority, time)
  return (4 - priority) * 10000000000000 + time
end

-- Appends field k = v to an HSET argument list holding n values; returns the new n. (The length
-- is passed along: `#f` on every append cost ≈ 0.2 µs of Redis CPU per field.)
local function put(f, n, k, v)
  f[n + 1] = k
  f[n + 2] = v
  return n + 2
end

-- `type:delayMs:maxDelayMs:jitter`, absent fields empty.
local function backoffText(b)
  return b.type .. ':' .. (b.delayMs or '') .. ':' .. (b.maxDelayMs or '') .. ':' .. (b.jitter or '')
end

-- A payload or result reference as four short fields named after `p`; returns the new n.
local function putRef(f, n, p, ref)
  local hash = ref.hash
  if string.sub(hash, 1, 7) == 'sha256:' then hash = string.sub(hash, 8) end
  f[n + 1], f[n + 2] = p .. 'Id', ref.id
  f[n + 3], f[n + 4] = p .. 'Encoding', ref.encoding
  f[n + 5], f[n + 6] = p .. 'Size', ref.size
  f[n + 7], f[n + 8] = p .. 'Hash', hash
  return n + 8
end

-- Counter deltas of this script call, per counts hash (live or shadow), written by
-- flushCounts with one HINCRBY per field instead of one per event. Every field touched is
-- written, even at a net 0, so the counts hash holds the same fields as with per-event writes.
-- scripts/gen-lua.ts runs every script that includes this file inside a function and calls
-- `flushFold` after it (also when it raises), so no script can end with deltas unwritten;
-- code that reads a counts hash inside a script (verify, swap) flushes first.
local countDeltas = {}

-- Runs for every event, two or three times: written out rather than through pushTo's kind of
-- helper (one more Lua call each cost ≈ 1 % of the scripts' Redis instructions).
local function bumpCount(key, field, n)
  local d = countDeltas[key]
  if not d then
    d = {}
    countDeltas[key] = d
  end
  d[field] = (d[field] or 0) + n
end

local function flushCounts()
  for key, d in pairs(countDeltas) do
    for field, n in pairs(d) do redis.call('HINCRBY', key, field, n) end
  end
  countDeltas = {}
end

-- Appends v to the list map[key], creating the list on first use.
local function pushTo(map, key, v)
  local list = map[key]
  if not list then
    list = {}
    map[key] = list
  end
  list[#list + 1] = v
end

-- Removals a retention sweep defers (deferRemovals): index key -> { job ids }, and the job hash
-- keys to delete. nil while removals are applied one by one (every other caller).
local deferredFrom, deferredKeys = nil, nil

-- Sends `command key ids...` (or `command keys...` when key is nil) in slices of 1,000
-- (Lua's unpack has a stack limit).
local function sendInSlices(command, key, ids)
  for i = 1, #ids, 1000 do
    local last = math.min(i + 999, #ids)
    if key then redis.call(command, key, unpack(ids, i, last)) else redis.call(command, unpack(ids, i, last)) end
  end
end

-- Writes the deferred removals: one ZREM per index and one DEL per 1,000 job hashes, instead
-- of one of each per job (≈ 2 µs of Redis CPU per removed job). Removals stay deferred.
local function flushRemovals()
  if not deferredKeys then return end
  for key, ids in pairs(deferredFrom) do sendInSlices('ZREM', key, ids) end
  sendInSlices('DEL', nil, deferredKeys)
  deferredFrom, deferredKeys = {}, {}
end

-- From here to the end of the script, `removed` events queue their index ZREM and hash DEL
-- for flushRemovals (also run by flushFold when the script ends or raises). Only for callers
-- that append nothing else for a removed job, and that call flushRemovals before they read an
-- index or a job hash a deferred removal touches (applyRetention.lua: after each sweep).
local function deferRemovals()
  if not deferredKeys then deferredFrom, deferredKeys = {}, {} end
end

flushFold = function()
  flushRemovals()
  flushCounts()
end

-- Takes the job out of the index of state `from`: K.priority for waiting, which has no
-- K.states entry (the priority set is its index); nothing for a state K keeps no index of
-- (active, in the live and shadow read models).
local function leaveState(K, jobId, from)
  if from == 'waiting' then
    redis.call('ZREM', K.priority, jobId)
  elseif K.states[from] then
    redis.call('ZREM', K.states[from], jobId)
  end
  bumpCount(K.counts, from, -1)
end

-- Puts the job in the index of state `to` (K.priority for waiting; nothing when K keeps no index
-- of `to`). A job without a priority entering `waiting` can only come from a replay that lacks
-- the job's `created` event: that history is incomplete.
local function enterState(K, jobId, to, time, priority)
  if to == 'waiting' and not priority then
    error({ err = 'SLUICE_ERR_HISTORY_INCOMPLETE ' .. K.queue .. ' job ' .. jobId ..
      ' enters waiting but its created event was not replayed: the history is missing events' })
  end
  if to == 'waiting' then
    redis.call('ZADD', K.priority, priorityScore(priority, time), jobId)
  elseif K.states[to] then
    redis.call('ZADD', K.states[to], time, jobId)
  end
  bumpCount(K.counts, to, 1)
end

local function applyEvent(K, jobId, etype, d, meta, cur)
  local jkey = K.jobPrefix .. jobId
  local t = meta.time
  if not cur then cur = redis.call('HMGET', jkey, 'state', 'priority') end
  local state = cur[1] or nil
  local priority = tonumber(cur[2])
  bumpCount(K.counts, 'events:' .. etype, 1)
  if etype == 'removed' then
    if deferredKeys then
      if state then
        local key = state == 'waiting' and K.priority or K.states[state]
        if key then pushTo(deferredFrom, key, jobId) end
        bumpCount(K.counts, state, -1)
      end
      deferredKeys[#deferredKeys + 1] = jkey
      return
    end
    if state then leaveState(K, jobId, state) end
    redis.call('DEL', jkey)
    return
  end
  -- The fields every event writes, and for `created` the fixed ones of a new job (one table
  -- constructor: cheaper than appending field by field).
  local f, n
  if etype == 'created' then
    f = { 'seq', meta.seq, 'updatedAt', t, 'id', jobId, 'name', d.name, 'priority', d.priority,
      'maxAttempts', d.maxAttempts, 'attempt', 0, 'backoff', backoffText(d.backoff), 'createdAt', t }
    n = 18
  else
    f = { 'seq', meta.seq, 'updatedAt', t }
    n = 4
  end
  local to, del = nil, nil
  if etype == 'created' then
    priority = d.priority
    if d.timeoutMs then n = put(f, n, 'timeoutMs', d.timeoutMs) end
    if d.payload then n = putRef(f, n, 'payload', d.payload) end
    if meta.traceparent then n = put(f, n, 'traceparent', meta.traceparent) end
    if meta.correlationId then n = put(f, n, 'correlationId', meta.correlationId) end
    if meta.causationId then n = put(f, n, 'causationId', meta.causationId) end
    if d.dedupeKey then n = put(f, n, 'dedupeKey', d.dedupeKey) end
    if d.dedupeTtlMs then n = put(f, n, 'dedupeTtlMs', d.dedupeTtlMs) end
    if d.group then n = put(f, n, 'group', d.group) end
    if d.repeatKey then n = put(f, n, 'repeatKey', d.repeatKey) end
    if d.dependsOn then n = put(f, n, 'dependsOn', canonicalJson(d.dependsOn)) end
    if d.onDependencyFailure then n = put(f, n, 'onDependencyFailure', d.onDependencyFailure) end
    local pending = d.pendingDependencies or 0
    if d.dependsOn then n = put(f, n, 'pendingDependencies', pending) end
    if pending > 0 then to = 'blocked' else to = 'waiting' end
  elseif etype == 'dependency-resolved' then
    n = put(f, n, 'pendingDependencies', d.remaining)
  elseif etype == 'scheduled' then
    n = put(f, n, 'runAt', d.runAt)
    to = 'delayed'
  elseif etype == 'promoted' then
    del = { 'runAt' }
    to = 'waiting'
  elseif etype == 'claimed' then
    n = put(f, n, 'attempt', d.attempt)
    n = put(f, n, 'token', d.token)
    n = put(f, n, 'worker', d.worker.id)
    n = put(f, n, 'claimedAt', t)
    to = 'active'
  elseif etype == 'progress' then
    n = put(f, n, 'progress', canonicalJson(d.progress))
  elseif etype == 'completed' then
    n = put(f, n, 'token', '')
    n = put(f, n, 'finishedAt', t)
    if d.result then n = putRef(f, n, 'result', d.result) end
    to = 'completed'
  elseif etype == 'failed' then
    n = put(f, n, 'token', '')
    n = put(f, n, 'lastError', canonicalJson(d.error))
    n = put(f, n, 'failedAt', t)
    to = 'failed'
  elseif etype == 'timed-out' then
    n = put(f, n, 'token', '')
    if d.reason == 'released' then
      -- Given back on shutdown: the attempt does not count.
      n = put(f, n, 'attempt', d.attempt - 1)
    else
      n = put(f, n, 'lastError', canonicalJson({ name = 'LeaseExpired',
        message = 'lease of ' .. d.idleMs .. ' ms expired without a heartbeat' }))
    end
    to = 'waiting'
  elseif etype == 'lost' then
    n = put(f, n, 'token', '')
    n = put(f, n, 'lastError', canonicalJson({ name = 'EntryLost', message = d.reason }))
  elseif etype == 'dead-lettered' then
    n = put(f, n, 'token', '')
    n = put(f, n, 'deadReason', d.reason)
    n = put(f, n, 'finishedAt', t)
    to = 'dead'
  elseif etype == 'retried' then
    n = put(f, n, 'attempt', 0)
    n = put(f, n, 'token', '')
    del = { 'finishedAt', 'deadReason' }
    to = 'waiting'
  elseif etype == 'reprioritized' then
    -- A waiting job moves to the end of its new lane (reprioritize.lua added an entry there).
    n = put(f, n, 'priority', d.to)
    if state == 'waiting' then redis.call('ZADD', K.priority, priorityScore(d.to, t), jobId) end
  elseif etype == 'cancelled' then
    n = put(f, n, 'token', '')
    n = put(f, n, 'finishedAt', t)
    if d.reason then n = put(f, n, 'cancelReason', d.reason) end
    to = 'cancelled'
  end
  if to then
    if state then leaveState(K, jobId, state) end
    enterState(K, jobId, to, t, priority)
    n = put(f, n, 'state', to)
  end
  redis.call('HSET', jkey, unpack(f))
  if del then redis.call('HDEL', jkey, unpack(del)) end
end
