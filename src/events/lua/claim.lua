--[[
  Claims up to COUNT jobs for one worker: reads the lanes through the consumer group in strict
  priority order (lane 4 first) and, for each entry whose job is still waiting, appends
  `claimed` with the next attempt number and the entry id as the attempt's fencing token.
  Entries whose job is no longer waiting (cancelled, removed, claimed through another entry)
  or whose lane is no longer the job's priority (reprioritized.lua added one to its new lane)
  are stale hints: they are acknowledged and deleted.

  This operation makes the worker the owner of the job until its lease (the entry's idle time
  in the pending list) expires; the worker keeps it fresh with extendLeases.

  Rate limit (meta rate:max, rate:windowMs): at most rate:max claims in any window of
  rate:windowMs, counted in K.limiter (one entry per claim, by claim time) and shared by every
  worker. Grouped jobs (meta `groups` set once a grouped job is published) are picked by the
  group scheduler of includes/groups.lua: when groups and lanes both have work, each gets half
  of COUNT (the rest goes to the other when one runs dry). A grouped job's lane entry is added
  to the group lane and read back in this script, so its token is `g<entry id>`.
  With neither feature configured this costs one HMGET of the meta hash.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  consumer name (worker id)
    ARGV[4]  COUNT, most jobs to claim
    ARGV[5]  worker identity JSON {id, host, pid}
  Output:
    { 'paused' } when the queue is paused;
    { 'limited', retryAfterMs } when the queue's rate limit allows no claim now;
    { 'empty', lastId0, ..., lastId4, wakeId, retryAfterMs } when no job could be claimed: the
      newest entry id of each lane and of the wake stream (or '0-0'), from which the caller may
      XREAD BLOCK without missing an entry, and how long until a rate-limited group may run
      (-1 when none is parked);
    { 'jobs', then CLAIM_WIDTH values per job (CLAIM_FIELDS in src/events/wire.ts): jobId, token,
      attempt, maxAttempts, name, payload reference (`<encoding> <size> <sha256 hex> <id>`, or
      ''), timeoutMs, backoff (`type:delayMs:maxDelayMs:jitter`), traceparent, createdAt };
    { 'drained', the same jobs, then the 7 values of 'empty' } when fewer than COUNT jobs could
      be claimed (at least one)
  Lanes are trimmed up to their oldest pending entry after each read (acknowledged entries of
  completed jobs go, see trimLane in includes/append.lua).
  Events: claimed
]]
--- @keys events meta counts priority jobPrefix workers limiter groups groupState groupsParked groupWaitPrefix groupLimitPrefix groupLane wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/groups"
local K = sluiceKeys()
local consumer = ARGV[3]
local count = tonumber(ARGV[4])
local workerJson = ARGV[5]
redis.call('ZADD', K.workers, K.now, consumer)
local cfg = redis.call('HMGET', K.meta, 'paused', 'rate:max', 'rate:windowMs', 'groups')
if cfg[1] == '1' then return { 'paused' } end
local budget = count
local rateMax = tonumber(cfg[2])
if rateMax then
  local window = tonumber(cfg[3])
  redis.call('ZREMRANGEBYSCORE', K.limiter, '-inf', K.now - window)
  local used = redis.call('ZCARD', K.limiter)
  if used >= rateMax then
    local oldest = redis.call('ZRANGE', K.limiter, 0, 0, 'WITHSCORES')
    return { 'limited', math.max(1, tonumber(oldest[2]) + window - K.now) }
  end
  budget = math.min(budget, rateMax - used)
end
local worker = cjson.decode(workerJson)
local out = { 'jobs' }
local claimed = 0
local groupsTaken = 0

-- CLAIM_JOB_FIELDS (generated from src/events/wire.ts) starts with JOB_CONTEXT
-- (includes/append.lua), so the reply doubles as the append's context; CJ_<FIELD> index it.

-- Appends `claimed` for a waiting job (its fields in CLAIM_JOB_FIELDS order) and adds it to the reply.
local function take(jobId, token, job)
  local attempt = tonumber(job[CJ_ATTEMPT]) + 1
  local data = { attempt = attempt, worker = worker, token = token }
  local dataJson = '{"attempt":' .. attempt .. ',"worker":' .. workerJson .. ',"token":"' .. token .. '"}'
  appendEvent(K, jobId, 'claimed', data, job, dataJson)
  if rateMax then redis.call('ZADD', K.limiter, K.now, token) end
  claimed = claimed + 1
  local n = #out
  out[n + CLAIM_JOB_ID] = jobId
  out[n + CLAIM_TOKEN] = token
  out[n + CLAIM_ATTEMPT] = attempt
  out[n + CLAIM_MAX_ATTEMPTS] = job[CJ_MAX_ATTEMPTS]
  out[n + CLAIM_NAME] = job[CJ_NAME]
  -- The payload reference as `<encoding> <size> <sha256 hex> <id>` (the id last: it may hold spaces).
  local payloadId = job[CJ_PAYLOAD_ID]
  out[n + CLAIM_PAYLOAD] = payloadId and (job[CJ_PAYLOAD_ENCODING] .. ' ' .. job[CJ_PAYLOAD_SIZE] .. ' ' ..
    job[CJ_PAYLOAD_HASH] .. ' ' .. payloadId) or ''
  out[n + CLAIM_TIMEOUT_MS] = job[CJ_TIMEOUT_MS] or ''
  out[n + CLAIM_BACKOFF] = job[CJ_BACKOFF]
  out[n + CLAIM_TRACEPARENT] = job[CTX_TRACEPARENT] or ''
  out[n + CLAIM_CREATED_AT] = job[CJ_CREATED_AT]
end

local function claimLanes(max)
  local target = claimed + max
  for lane = 4, 0, -1 do
    -- Reads the lane again after stale entries were dropped: a lower lane is read only once
    -- this one has no entry left for a waiting job.
    local more = true
    while more and claimed < target do
      local want = target - claimed
      local reply = redis.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', want,
        'STREAMS', K.lanes[lane], '>')
      if not reply then break end
      trimLane(K.lanes[lane])
      local entries = reply[1][2]
      -- Fewer entries than asked for: the lane has no more.
      more = #entries == want
      for _, entry in ipairs(entries) do
        local entryId, fields = entry[1], entry[2]
        local jobId = fields[2]
        local job = redis.call('HMGET', K.jobPrefix .. jobId, unpack(CLAIM_JOB_FIELDS))
        -- An entry in a lane the job's priority no longer names was left by `reprioritized`:
        -- the job has an entry in its new lane.
        if job[CTX_STATE] ~= 'waiting' or tonumber(job[CTX_PRIORITY]) ~= lane then
          dropEntry(K, lane, entryId)
        else
          take(jobId, entryId, job)
        end
      end
    end
    if claimed >= target then return end
  end
end

-- Picks grouped jobs, lowest virtual pass first, skipping groups at their concurrency or rate
-- limit. Returns nothing; `claimed` counts.
local function claimGroups(max)
  local target = claimed + max
  local due = redis.call('ZRANGEBYSCORE', K.groupsParked, '-inf', K.now)
  for _, g in ipairs(due) do
    redis.call('ZREM', K.groupsParked, g)
    if redis.call('LLEN', K.groupWaitPrefix .. g) > 0 then makeReady(K, g) end
  end
  while claimed < target do
    local top = redis.call('ZRANGE', K.groups, 0, 0, 'WITHSCORES')
    if #top == 0 then return end
    local g, pass = top[1], tonumber(top[2])
    local concurrency, gRateMax, gWindow, weight = groupConfig(K, g)
    local active = tonumber(redis.call('HGET', K.groupState, 'active:' .. g)) or 0
    local limitKey = K.groupLimitPrefix .. g
    local blocked = false
    if concurrency and active >= concurrency then
      -- Waits for one of its jobs to finish (groupSlotFree puts it back).
      redis.call('ZREM', K.groups, g)
      blocked = true
    elseif gRateMax then
      redis.call('ZREMRANGEBYSCORE', limitKey, '-inf', K.now - gWindow)
      if redis.call('ZCARD', limitKey) >= gRateMax then
        local oldest = redis.call('ZRANGE', limitKey, 0, 0, 'WITHSCORES')
        redis.call('ZREM', K.groups, g)
        redis.call('ZADD', K.groupsParked, tonumber(oldest[2]) + gWindow, g)
        blocked = true
      end
    end
    if not blocked then
      local waitKey = K.groupWaitPrefix .. g
      local jobId = redis.call('LPOP', waitKey)
      if not jobId then
        redis.call('ZREM', K.groups, g)
        if active <= 0 then redis.call('HDEL', K.groupState, 'active:' .. g, 'pass:' .. g) end
      else
        local job = redis.call('HMGET', K.jobPrefix .. jobId, unpack(CLAIM_JOB_FIELDS))
        -- Ids of jobs cancelled or removed while they waited are dropped here.
        if job[CTX_STATE] == 'waiting' then
          local entryId = redis.call('XADD', K.groupLane, '*', 'j', jobId)
          local read = redis.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', 1,
            'STREAMS', K.groupLane, '>')
          if not read or read[1][2][1][1] ~= entryId then
            return redis.error_reply('SLUICE_ERR_INTERNAL group lane of ' .. K.queue ..
              ' held an undelivered entry before ' .. entryId)
          end
          local token = 'g' .. entryId
          take(jobId, token, job)
          groupsTaken = groupsTaken + 1
          redis.call('HINCRBY', K.groupState, 'active:' .. g, 1)
          if gRateMax then redis.call('ZADD', limitKey, K.now, token) end
          local nextPass = pass + 1 / weight
          redis.call('HSET', K.groupState, 'vt', pass, 'pass:' .. g, nextPass)
          if redis.call('LLEN', waitKey) > 0 then
            redis.call('ZADD', K.groups, nextPass, g)
          else
            redis.call('ZREM', K.groups, g)
          end
        end
      end
    end
  end
end

if cfg[4] == '1' then
  local share = math.ceil(budget / 2)
  local err = claimGroups(share)
  if err then return err end
  claimLanes(budget - claimed)
  if claimed < budget then
    err = claimGroups(budget - claimed)
    if err then return err end
  end
else
  claimLanes(budget)
end

if groupsTaken > 0 then trimLane(K.groupLane) end

-- Where a worker that found the lanes dry may block from without missing an entry: the newest
-- entry id of each lane and of the wake stream (or '0-0'), then how long until a rate-limited
-- group may run (-1 when none is parked); appended to `reply` from index `at`.
local function appendCursor(reply, at)
  for lane = 0, 4 do
    local last = redis.call('XREVRANGE', K.lanes[lane], '+', '-', 'COUNT', 1)
    reply[at + lane] = last[1] and last[1][1] or '0-0'
  end
  local wake = redis.call('XREVRANGE', K.wake, '+', '-', 'COUNT', 1)
  reply[at + 5] = wake[1] and wake[1][1] or '0-0'
  reply[at + 6] = -1
  local parked = redis.call('ZRANGE', K.groupsParked, 0, 0, 'WITHSCORES')
  if parked[2] then reply[at + 6] = math.max(1, tonumber(parked[2]) - K.now) end
end

if claimed == 0 then
  local empty = { 'empty' }
  appendCursor(empty, 2)
  return empty
end
if claimed < budget then
  -- The lanes ran dry before COUNT: the cursor follows the jobs, so the worker can block at once
  -- instead of claiming again only to hear 'empty'.
  out[1] = 'drained'
  appendCursor(out, #out + 1)
end
return out
