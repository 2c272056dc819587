--[[
  Completes a batch of attempts. For each job whose current attempt token matches, appends
  `completed` (with the result reference) and acknowledges its lane entry (claim.lua trims
  acknowledged entries from the lane; while a lane holds a pending entry older than a minute,
  which trimming cannot pass, the acknowledged entries are deleted here too). A token
  that no longer owns its job (lease expired and reclaimed, cancelled) changes nothing.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of jobs N
    for each job i (4 values from ARGV[4 + (i-1)*4]):
      jobId, token, result ref JSON or '', durationMs
  Then releases the job's dedupe key and group slot and resolves its dependants (when the queue
  has any: one HGET of the meta hash per call).
  Output: array of N integers: 1 completed, 0 stale token (nothing changed for that job).
  Events: completed (dependency-resolved, promoted, dead-lettered for dependants)
]]
--- @keys events meta counts priority jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/groups"
--- @include "includes/flows"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
local out = {}
local acked = {}
-- JOB_CONTEXT (includes/append.lua) first: the reply is the append's context.
local JOB_FIELDS = contextAnd({ 'token', 'attempt', 'dedupeKey', 'group' })
for i = 1, n do
  local b = 4 + (i - 1) * 4
  local jobId, token = ARGV[b], ARGV[b + 1]
  local job = redis.call('HMGET', K.jobPrefix .. jobId, unpack(JOB_FIELDS))
  if job[1] ~= 'active' or job[7] ~= token then
    out[i] = 0
  else
    local data = { attempt = tonumber(job[8]), durationMs = tonumber(ARGV[b + 3]) }
    if ARGV[b + 2] ~= '' then data.result = cjson.decode(ARGV[b + 2]) end
    appendEvent(K, jobId, 'completed', data, job)
    ackEntry(K, tonumber(job[2]), token, acked)
    if job[9] then releaseDedupe(K, jobId, job[9]) end
    if job[10] then groupSlotFree(K, job[10]) end
    settleDependants(K, jobId, 'completed')
    out[i] = 1
  end
end
ackAll(acked)
releaseHeld(K, acked)
return out
