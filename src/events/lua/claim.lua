--[[
  Claims up to COUNT jobs for one worker: reads the lanes through the consumer group in strict
  priority order (lane 4 first) and, for each entry whose job is still waiting, appends
  `claimed` with the next attempt number and the entry id as the attempt's fencing token.
  Entries whose job is no longer waiting (cancelled, removed, claimed through another entry)
  are stale hints: they are acknowledged and deleted.

  This operation makes the worker the owner of the job until its lease (the entry's idle time
  in the pending list) expires; the worker keeps it fresh with extendLeases.

  Input: the fixed KEYS block and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  consumer name (worker id)
    ARGV[4]  COUNT, most jobs to claim
    ARGV[5]  worker identity JSON {id, host, pid}
  Output:
    { 'paused' } when the queue is paused;
    { 'empty', lastId0, ..., lastId4 } when no lane has work: the newest entry id of each
      lane (or '0-0'), from which the caller may XREAD BLOCK without missing an entry;
    { 'jobs', then 10 values per job: jobId, token, attempt, maxAttempts, name, payload JSON,
      timeoutMs, backoff JSON, traceparent, createdAt }
  Events: claimed
]]
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
local consumer = ARGV[3]
local count = tonumber(ARGV[4])
local workerJson = ARGV[5]
redis.call('ZADD', K.workers, K.now, consumer)
if redis.call('HGET', K.meta, 'paused') == '1' then return { 'paused' } end
local worker = cjson.decode(workerJson)
local out = { 'jobs' }
local claimed = 0
for lane = 4, 0, -1 do
  if claimed >= count then break end
  local reply = redis.call('XREADGROUP', 'GROUP', 'workers', consumer, 'COUNT', count - claimed,
    'STREAMS', K.lanes[lane], '>')
  if reply then
    for _, entry in ipairs(reply[1][2]) do
      local entryId, fields = entry[1], entry[2]
      local jobId = fields[2]
      local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'attempt', 'maxAttempts', 'name',
        'payload', 'timeoutMs', 'backoff', 'traceparent', 'createdAt')
      if job[1] ~= 'waiting' then
        dropEntry(K, lane, entryId)
      else
        local attempt = tonumber(job[2]) + 1
        local data = { attempt = attempt, worker = worker, token = entryId }
        local dataJson = '{"attempt":' .. attempt .. ',"worker":' .. workerJson .. ',"token":"' .. entryId .. '"}'
        appendEvent(K, jobId, 'claimed', data, nil, dataJson)
        claimed = claimed + 1
        local n = #out
        out[n + 1] = jobId
        out[n + 2] = entryId
        out[n + 3] = attempt
        out[n + 4] = job[3]
        out[n + 5] = job[4]
        out[n + 6] = job[5] or ''
        out[n + 7] = job[6] or ''
        out[n + 8] = job[7]
        out[n + 9] = job[8] or ''
        out[n + 10] = job[9]
      end
    end
  end
end
if claimed == 0 then
  local empty = { 'empty' }
  for lane = 0, 4 do
    local last = redis.call('XREVRANGE', K.lanes[lane], '+', '-', 'COUNT', 1)
    empty[lane + 2] = last[1] and last[1][1] or '0-0'
  end
  return empty
end
return out
