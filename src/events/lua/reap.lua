--[[
  Timeout requeue. Takes lane entries idle longer than the lease (their worker died or hung)
  with XAUTOCLAIM, appends `timed-out` and re-dispatches the job with a fresh lane entry (a
  grouped job goes back to its group's list), or dead-letters it when its attempts are spent.
  Entries that XAUTOCLAIM reports as deleted while pending (it drops them from the pending list)
  are kept in K.lostEntries, and returned, until src/consumers/lost-entries.ts finds the active
  jobs holding them and loseEntries.lua settles each as an explicit `lost` outcome followed by
  `dead-lettered`, never a silent drop. Safe to run from many workers at once: an
  entry is claimed by one caller only, and a job is touched only while its token matches the
  entry. The group lane is reaped like the lanes; its tokens are `g<entry id>`.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  consumer name of the reaper
    ARGV[4]  lease (min idle time) in ms
    ARGV[5]  most entries to take per lane
    ARGV[6]  optional: idle time (ms) after which a consumer with nothing pending is deleted
             from the lanes' groups and a worker-list entry is dropped
  Output: { requeued, deadLettered, staleEntries, prunedConsumers, lostToken... } where the
    lost tokens are every token in K.lostEntries (deleted now or by an earlier call, not yet settled)
  Events: timed-out, dead-lettered
]]
--- @keys events meta counts priority jobPrefix workers dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lostEntries lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/dispatch"
--- @include "includes/flows"
local K = sluiceKeys()
local consumer, lease, count = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local requeued, dead, stale = 0, 0, 0
local deleted = {}
local anyDeleted = false
local streams = {}
for lane = 0, 4 do streams[#streams + 1] = { key = K.lanes[lane], prefix = '', lane = lane } end
streams[#streams + 1] = { key = K.groupLane, prefix = 'g', lane = 0 }
for _, s in ipairs(streams) do
  local reply = redis.call('XAUTOCLAIM', s.key, 'workers', consumer, lease, '0-0', 'COUNT', count)
  for _, entry in ipairs(reply[2]) do
    local entryId, fields = entry[1], entry[2]
    local token = s.prefix .. entryId
    -- A claimed entry can come back as nil fields on some versions when it was deleted.
    local jobId = fields and fields[2]
    local job = jobId and redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt',
      'maxAttempts', 'worker', 'traceparent', 'dedupeKey', 'group', 'priority') or {}
    if job[1] == 'active' and job[2] == token then
      local attempt, maxAttempts = tonumber(job[3]), tonumber(job[4])
      local data = { attempt = attempt, idleMs = lease }
      if job[5] then data.worker = job[5] end
      appendEvent(K, jobId, 'timed-out', data)
      dropEntry(K, s.lane, token)
      if job[8] then groupSlotFree(K, job[8]) end
      if attempt >= maxAttempts then
        appendEvent(K, jobId, 'dead-lettered', { reason = 'timed-out', attempt = attempt })
        releaseDedupe(K, jobId, job[7])
        settleDependants(K, jobId, 'dead')
        dead = dead + 1
      else
        dispatchJob(K, jobId, s.lane, job[8])
        requeued = requeued + 1
      end
    else
      dropEntry(K, s.lane, token)
      stale = stale + 1
    end
  end
  if reply[3] then
    for _, entryId in ipairs(reply[3]) do
      deleted[s.prefix .. entryId] = true
      anyDeleted = true
    end
  end
end
if anyDeleted then
  -- The jobs holding these tokens are found outside this call (the read model keeps no index of
  -- active jobs): src/consumers/lost-entries.ts scans the job hashes and settles them with
  -- loseEntries.lua. Kept in a set until then, so a reaper that dies in between loses nothing.
  local tokens = {}
  for token in pairs(deleted) do tokens[#tokens + 1] = token end
  redis.call('SADD', K.lostEntries, unpack(tokens))
end

-- Housekeeping: consumers of dead workers stay in the lanes' consumer groups and in the worker
-- list forever unless removed. A consumer is deleted only when it holds no pending entry (its
-- deletion can lose nothing; a live worker that was merely idle is recreated by its next read)
-- and has been idle at least ARGV[6] ms; worker-list entries older than that go too.
local pruned = 0
local pruneIdle = tonumber(ARGV[6])
if pruneIdle then
  redis.call('ZREMRANGEBYSCORE', K.workers, '-inf', '(' .. (K.now - pruneIdle))
  for _, s in ipairs(streams) do
    local consumers = redis.pcall('XINFO', 'CONSUMERS', s.key, 'workers')
    if not consumers.err then
      for _, c in ipairs(consumers) do
        local info = {}
        for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
        if info.pending == 0 and info.idle >= pruneIdle and info.name ~= consumer then
          redis.call('XGROUP', 'DELCONSUMER', s.key, 'workers', info.name)
          pruned = pruned + 1
        end
      end
    end
  end
end
local out = { requeued, dead, stale, pruned }
for _, token in ipairs(redis.call('SMEMBERS', K.lostEntries)) do out[#out + 1] = token end
return out
