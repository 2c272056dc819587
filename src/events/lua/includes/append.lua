--[[
  Appends one event to the log and folds it into the read models, in that order, inside the
  calling script: the log and the projections can never disagree.

  appendEvent(K, jobId, etype, d, job, dataJson)
    d          event data table (passed to the fold)
    job        the job hash's current values of JOB_CONTEXT (in that order, false or nil for a
               missing field) when the caller has read them in this call and appended nothing
               for the job since; nil to read them here (one HMGET). For `created` the caller
               passes { false, false, 0, traceparent, correlationId, causationId }.
    dataJson   optional pre-encoded JSON of d (used when d holds raw JSON the fold re-encodes)
  Output: the new entry id of the event.
  Events: the one given (entry fields: type, v, data, meta; v is EVENT_VERSION[etype], generated
  from EVENT_VERSIONS in src/events/types.ts).
]]
--- @include "projections/fold"

-- JOB_CONTEXT (generated from JOB_CONTEXT_FIELDS in src/events/wire.ts, indexed by CTX_<FIELD>)
-- names the job hash fields an event append needs; callers that read the hash anyway list these
-- first in their HMGET and pass the reply on.

-- JOB_CONTEXT followed by the caller's own fields (which start at index 7 of the HMGET reply).
local function contextAnd(fields)
  local all = { unpack(JOB_CONTEXT) }
  for _, field in ipairs(fields) do all[#all + 1] = field end
  return all
end

-- The ms of the last id the stream generated (kept when its entries are trimmed or deleted).
local function lastIdMs(events)
  local info = redis.call('XINFO', 'STREAM', events)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
  return 0
end

local function appendEvent(K, jobId, etype, d, job, dataJson)
  if not job then job = redis.call('HMGET', K.jobPrefix .. jobId, unpack(JOB_CONTEXT)) end
  local meta = { queue = K.queue, jobId = jobId, time = K.now, seq = (tonumber(job[CTX_SEQ]) or 0) + 1 }
  local traceparent, correlationId, causationId = job[CTX_TRACEPARENT], job[CTX_CORRELATION_ID], job[CTX_CAUSATION_ID]
  if traceparent and traceparent ~= '' then meta.traceparent = traceparent end
  if correlationId and correlationId ~= '' then meta.correlationId = correlationId end
  if causationId and causationId ~= '' then meta.causationId = causationId end
  local dataText, metaText = dataJson or cjson.encode(d), cjson.encode(meta)
  local id
  if K.serverClock then
    -- The id's ms is the event's time.
    id = redis.pcall('XADD', K.events, K.now .. '-*', 'type', etype, 'v', EVENT_VERSION[etype], 'data', dataText, 'meta', metaText)
    if type(id) == 'table' and id.err then
      -- The clock is behind the stream's last id (stepped back): go on from that id's ms, so
      -- times never run backwards in stream order.
      K.now = lastIdMs(K.events)
      meta.time = K.now
      metaText = cjson.encode(meta)
      id = redis.call('XADD', K.events, K.now .. '-*', 'type', etype, 'v', EVENT_VERSION[etype], 'data', dataText, 'meta', metaText)
    end
  else
    id = redis.call('XADD', K.events, '*', 'type', etype, 'v', EVENT_VERSION[etype], 'data', dataText, 'meta', metaText)
  end
  applyEvent(K, jobId, etype, d, meta, job)
  return id
end

-- The stream and entry id an attempt token names: `g<id>` is an entry of the group lane
-- (grouped jobs), any other token an entry of the job's priority lane.
local function entryOf(K, lane, token)
  if string.byte(token, 1) == 103 then return K.groupLane, string.sub(token, 2) end
  return K.lanes[lane], token
end

-- Acknowledges and deletes the entry an attempt token names: the job no longer needs it.
local function dropEntry(K, lane, token)
  local stream, entryId = entryOf(K, lane, token)
  redis.call('XACK', stream, 'workers', entryId)
  redis.call('XDEL', stream, entryId)
end

-- Notes the entry an attempt token names for acknowledgement without deleting it, in `acked`
-- (a table stream -> { entry ids }); ackAll sends one XACK per stream for the whole call.
-- Completed entries leave their lane when claim.lua trims the lane up to its oldest pending
-- entry (trimLane), which frees whole stream nodes instead of marking entries deleted one by one.
local function ackEntry(K, lane, token, acked)
  local stream, entryId = entryOf(K, lane, token)
  pushTo(acked, stream, entryId)
end

-- Acknowledges the entries ackEntry noted: one XACK per stream (a call per entry cost ≈ 1 µs of
-- Redis CPU per job more).
-- Calls `command key [arg] ids...` in slices of 1,000 ids (Lua's unpack has a stack limit).
local function callInSlices(command, key, arg, ids)
  for i = 1, #ids, 1000 do
    local last = math.min(i + 999, #ids)
    if arg then
      redis.call(command, key, arg, unpack(ids, i, last))
    else
      redis.call(command, key, unpack(ids, i, last))
    end
  end
end

local function ackAll(acked)
  for stream, ids in pairs(acked) do callInSlices('XACK', stream, 'workers', ids) end
end

-- A pending entry older than this (by its id's time) holds the lane's trim point back: while one
-- exists, acknowledged entries are deleted too, so a long-running job does not keep every entry
-- completed after it in memory until it ends.
local HELD_LANE_MS = 60000

-- Deletes acknowledged entries (a table stream -> { entry ids }, after ackAll) of the streams
-- whose oldest pending entry is older than HELD_LANE_MS: trimming cannot reach them there.
local function releaseHeld(K, acked)
  for stream, ids in pairs(acked) do
    local pending = redis.call('XPENDING', stream, 'workers')
    local oldest = pending[2] and tonumber(string.match(pending[2], '^(%d+)'))
    if oldest and K.now - oldest > HELD_LANE_MS then callInSlices('XDEL', stream, nil, ids) end
  end
end

-- Drops the acknowledged entries at the head of a lane: everything before its oldest pending
-- entry (whole stream nodes only, `~`). Pending entries are never trimmed, so leases, the
-- reaper's XAUTOCLAIM and `lost` detection see exactly what they saw before.
local function trimLane(stream)
  local pending = redis.call('XPENDING', stream, 'workers')
  if pending[2] then redis.call('XTRIM', stream, 'MINID', '~', pending[2]) end
end
