--[[
  Group dispatch (fair groups, per-group concurrency and rate limits). Dispatch state only: the
  fold never reads or writes these keys.

  A job published with a group key waits in its group's list (gwait:<g>, arrival order) instead
  of a lane. K.groups holds the groups that may run a job now, scored by their virtual pass
  (stride scheduling): claim takes the group with the lowest pass, and each job it starts adds
  1/weight to the group's pass, so backlogged groups share the workers in proportion to their
  weights whatever their backlog. A group that (re)joins starts at the current virtual time
  `vt` (the pass of the last group served), so idle groups bank no credit.
  A group at its concurrency limit leaves K.groups until one of its jobs finishes; a group over
  its rate limit is parked in K.groupsParked until its window lets it run again.

  Config (meta hash; per group first, then the default for every group):
    group:<g>:concurrency | groups:concurrency       most active jobs of the group
    group:<g>:rate:max, group:<g>:rate:windowMs | groups:rate:max, groups:rate:windowMs
    group:<g>:weight | groups:weight                 share of the workers (default 1)

  groupConfig(K, g)             -> concurrency or nil, rateMax or nil, rateWindowMs, weight
  makeReady(K, g)               lets g be picked (unless parked by its rate limit)
  dispatchGrouped(K, jobId, g)  appends the job to its group's list and wakes blocked workers
  groupSlotFree(K, g)           one of g's jobs left `active`: frees its concurrency slot
  wakeWorkers(K)                adds an entry to the wake stream (capped at one entry)
  Output: none. Events: none.
]]
local function wakeWorkers(K)
  redis.call('XADD', K.wake, 'MAXLEN', '1', '*', 'w', '1')
end

local function groupConfig(K, g)
  local p = 'group:' .. g .. ':'
  local f = redis.call('HMGET', K.meta, p .. 'concurrency', 'groups:concurrency', p .. 'rate:max',
    'groups:rate:max', p .. 'rate:windowMs', 'groups:rate:windowMs', p .. 'weight', 'groups:weight')
  local rateMax, window = tonumber(f[3]), tonumber(f[5])
  if not rateMax then rateMax, window = tonumber(f[4]), tonumber(f[6]) end
  return tonumber(f[1] or f[2]), rateMax, window, tonumber(f[7] or f[8]) or 1
end

local function makeReady(K, g)
  if redis.call('ZSCORE', K.groupsParked, g) then return end
  local f = redis.call('HMGET', K.groupState, 'pass:' .. g, 'vt')
  local pass = math.max(tonumber(f[1]) or 0, tonumber(f[2]) or 0)
  redis.call('ZADD', K.groups, 'NX', pass, g)
end

local function dispatchGrouped(K, jobId, g)
  redis.call('RPUSH', K.groupWaitPrefix .. g, jobId)
  makeReady(K, g)
  wakeWorkers(K)
end

local function groupSlotFree(K, g)
  local active = redis.call('HINCRBY', K.groupState, 'active:' .. g, -1)
  if redis.call('LLEN', K.groupWaitPrefix .. g) > 0 then
    if not redis.call('ZSCORE', K.groups, g) then
      makeReady(K, g)
      wakeWorkers(K)
    end
  elseif active <= 0 and not redis.call('ZSCORE', K.groupsParked, g) then
    -- Idle group: forget it (a later job starts it again at the virtual time).
    redis.call('ZREM', K.groups, g)
    redis.call('HDEL', K.groupState, 'active:' .. g, 'pass:' .. g)
  end
end
