--[[
  Dispatch side effects of a job leaving the live states for good (completed, dead, cancelled,
  removed). None of this is read model: it is dispatch state the fold never touches.

  releaseDedupe(K, jobId, dedupeKey)
    Lets go of the job's dedupe key. Without a TTL the key is deleted at once; with one, it is
    kept (value `<jobId> <untilMs>`) until createdAt + ttl, so duplicates published before then
    are still ignored. Idempotent: a key that no longer names this job as live is left alone.
    Must run before a `removed` event deletes the job hash.
  Output: none. Events: none.
]]
local function releaseDedupe(K, jobId, dedupeKey)
  if not dedupeKey or dedupeKey == '' then return end
  local key = K.dedupePrefix .. dedupeKey
  if redis.call('GET', key) ~= jobId then return end
  local f = redis.call('HMGET', K.jobPrefix .. jobId, 'createdAt', 'dedupeTtlMs')
  local untilMs = tonumber(f[1] or 0) + tonumber(f[2] or 0)
  if f[2] and untilMs > K.now then
    -- The window is checked against `now` in publish (injected clocks); the Redis TTL only
    -- collects the key afterwards.
    redis.call('SET', key, jobId .. ' ' .. untilMs, 'PX', untilMs - K.now)
  else
    redis.call('DEL', key)
  end
end
