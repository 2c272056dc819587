--[[
  Helpers for scripts that take two fixed KEYS blocks: the live read model
  (KEYS[1..SCRIPT_KEY_COUNT]) and the shadow one (KEYS[SCRIPT_KEY_COUNT+1..2*SCRIPT_KEY_COUNT]).

  shadowKeys()            the K table of the second block
  catchUp(S, afterId)     folds every log entry after afterId into S; returns how many
  jobIds(K)               every job id in K's state indexes
  Output: none. Events: none.
]]
--- @include "includes/project"
local function shadowKeys()
  local saved = {}
  for i = 1, SCRIPT_KEY_COUNT do saved[i] = KEYS[i]; KEYS[i] = KEYS[SCRIPT_KEY_COUNT + i] end
  local S = sluiceKeys()
  for i = 1, SCRIPT_KEY_COUNT do KEYS[i] = saved[i] end
  return S
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

local function jobIds(K)
  local ids = {}
  for _, key in pairs(K.states) do
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do ids[#ids + 1] = id end
  end
  return ids
end
