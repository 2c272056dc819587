--[[
  Appends one event to the log and folds it into the read models, in that order, inside the
  calling script: the log and the projections can never disagree.

  appendEvent(K, jobId, etype, d, ctx, dataJson)
    d          event data table (passed to the fold)
    ctx        { traceparent, correlationId, causationId } for `created` (the job hash does not
               exist yet); nil for every other event: they are read from the job hash
    dataJson   optional pre-encoded JSON of d (used when d holds raw JSON the fold re-encodes)
  Output: the new entry id of the event.
  Events: the one given (entry fields: type, v, data, meta).
]]
--- @include "includes/project"
local function appendEvent(K, jobId, etype, d, ctx, dataJson)
  local jkey = K.jobPrefix .. jobId
  if not ctx then
    local f = redis.call('HMGET', jkey, 'traceparent', 'correlationId', 'causationId')
    ctx = { traceparent = f[1], correlationId = f[2], causationId = f[3] }
  end
  local seq = redis.call('HINCRBY', jkey, 'seq', 1)
  local meta = { queue = K.queue, jobId = jobId, time = K.now, seq = seq }
  if ctx.traceparent and ctx.traceparent ~= '' then meta.traceparent = ctx.traceparent end
  if ctx.correlationId and ctx.correlationId ~= '' then meta.correlationId = ctx.correlationId end
  if ctx.causationId and ctx.causationId ~= '' then meta.causationId = ctx.causationId end
  local id = redis.call('XADD', K.events, '*', 'type', etype, 'v', '1',
    'data', dataJson or cjson.encode(d), 'meta', cjson.encode(meta))
  applyEvent(K, jobId, etype, d, meta)
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
