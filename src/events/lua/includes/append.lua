--[[
  Appends one event to the log and folds it into the read models, in that order, inside the
  calling script: the log and the projections can never disagree.

  appendEvent(K, jobId, etype, d, traceparent, dataJson)
    d          event data table (passed to the fold)
    traceparent the job's W3C traceparent, or false
    dataJson   optional pre-encoded JSON of d (used when d holds raw JSON the fold re-encodes)
  Output: the new entry id of the event.
  Events: the one given (entry fields: type, v, data, meta).
]]
--- @include "includes/project"
local function appendEvent(K, jobId, etype, d, traceparent, dataJson)
  local jkey = K.jobPrefix .. jobId
  local seq = redis.call('HINCRBY', jkey, 'seq', 1)
  local meta = { queue = K.queue, jobId = jobId, time = K.now, seq = seq }
  if traceparent and traceparent ~= '' then meta.traceparent = traceparent end
  local id = redis.call('XADD', K.events, '*', 'type', etype, 'v', '1',
    'data', dataJson or cjson.encode(d), 'meta', cjson.encode(meta))
  applyEvent(K, jobId, etype, d, meta)
  return id
end

-- Acknowledges and deletes a lane entry: the job no longer needs it.
local function dropEntry(K, lane, entryId)
  redis.call('XACK', K.lanes[lane], 'workers', entryId)
  redis.call('XDEL', K.lanes[lane], entryId)
end
