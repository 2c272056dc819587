--[[
  Helpers for scripts that take two blocks of their declared keys (`--- @blocks 2`): the live
  read model (KEYS[1..KEY_COUNT]) and the shadow one (KEYS[KEY_COUNT+1..2*KEY_COUNT]).

  shadowKeys()            the K table of the second block
  catchUp(S, afterId)     folds every log entry after afterId into S; returns how many
  finishReplay(S, afterId, replayed)
                          the last step of a replay that folded `replayed` events up to afterId:
                          when the stream still holds every entry after afterId, folds them in
                          (catchUp) and checks that replayed + caught up = entries the stream has
                          ever had appended. Returns nil, caught on success; else a reply for
                          the caller to return, with nothing folded:
                            { 'behind', firstId }  entries after afterId were trimmed (archived)
                                                   since the replay read them: replay more
                            { 'mismatch', folded, appended }  the history replayed is not the
                                                   stream's (a gap or a foreign archive)
  jobIds(K)               every job id of read model K: the ids in its indexes (K.priority for
                          waiting, then K.states) and its active jobs (activeIds; a read model
                          with a K.states.active index lists them there)
  activeIds(K)            the jobs K says are active. The live and shadow read models keep no
                          index of them (see fold.lua): they are the jobs named by the lanes'
                          pending entries (consumer group `workers`) whose hash in K says active
                          with that entry's token, read whole (bounded by the workers'
                          concurrency). A job whose pending entry was deleted (the `lost` fault,
                          until the reaper settles it) is named by no entry: when fewer are found
                          than K's counts say, K's job hashes are SCANned instead (a fault case
                          of an admin operation, O(keys)).
  Output: none. Events: none.
]]
--- @include "projections/fold"
--- @include "includes/streamid"
local function shadowKeys()
  return sluiceKeys(KEY_COUNT)
end

local function catchUp(S, afterId)
  local applied = 0
  local start = '(' .. afterId
  if afterId == '0-0' or afterId == '' then start = '-' end
  while true do
    local batch = redis.call('XRANGE', S.events, start, '+', 'COUNT', 1000)
    for _, entry in ipairs(batch) do
      local f = entry[2]
      local fields = {}
      for j = 1, #f, 2 do fields[f[j]] = f[j + 1] end
      local meta = cjson.decode(fields.meta)
      applyEvent(S, meta.jobId, fields.type, cjson.decode(fields.data), meta)
      applied = applied + 1
      start = '(' .. entry[1]
    end
    if #batch < 1000 then
      -- The caller compares or swaps the shadow counts next, in this call.
      flushCounts()
      return applied
    end
  end
end

local function finishReplay(S, afterId, replayed)
  local appended, length, first = 0, 0, nil
  if redis.call('EXISTS', S.events) == 1 then
    local info = redis.call('XINFO', 'STREAM', S.events)
    local m = {}
    for i = 1, #info, 2 do m[info[i]] = info[i + 1] end
    length = tonumber(m['length'])
    appended = tonumber(m['entries-added'] or length)
    local head = redis.call('XRANGE', S.events, '-', '+', 'COUNT', 1)[1]
    if head then first = head[1] end
  end
  -- Trimming removes a prefix: entries after afterId are all still here when the first entry
  -- is at or before afterId, or when nothing was ever trimmed.
  if appended > length and not (first and afterId ~= '0-0' and idAtMost(first, afterId)) then
    return { 'behind', first or '' }
  end
  local caught = catchUp(S, afterId)
  if replayed + caught ~= appended then return { 'mismatch', replayed + caught, appended } end
  return nil, caught
end

local function activeIds(K)
  local ids = {}
  local streams = {}
  for lane = 0, 4 do streams[#streams + 1] = { K.lanes[lane], '' } end
  streams[#streams + 1] = { K.groupLane, 'g' }
  for _, s in ipairs(streams) do
    -- No stream or no group yet: nothing pending.
    local pending = redis.pcall('XPENDING', s[1], 'workers', '-', '+', 1000000000)
    if not pending.err then
      for _, p in ipairs(pending) do
        local entry = redis.call('XRANGE', s[1], p[1], p[1])[1]
        local jobId = entry and entry[2][2]
        if jobId then
          local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token')
          if job[1] == 'active' and job[2] == s[2] .. p[1] then ids[#ids + 1] = jobId end
        end
      end
    end
  end
  if #ids >= tonumber(redis.call('HGET', K.counts, 'active') or '0') then return ids end
  ids = {}
  local seen = {}
  local pattern = string.gsub(K.jobPrefix, '[%*%?%[%]\\]', '\\%0') .. '*'
  local cursor = '0'
  repeat
    local page = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = page[1]
    for _, key in ipairs(page[2]) do
      local id = string.sub(key, #K.jobPrefix + 1)
      if not seen[id] and redis.call('HGET', key, 'state') == 'active' then
        seen[id] = true
        ids[#ids + 1] = id
      end
    end
  until cursor == '0'
  return ids
end

local function jobIds(K)
  local ids = K.states.active and {} or activeIds(K)
  for _, id in ipairs(redis.call('ZRANGE', K.priority, 0, -1)) do ids[#ids + 1] = id end
  for _, key in pairs(K.states) do
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do ids[#ids + 1] = id end
  end
  return ids
end
