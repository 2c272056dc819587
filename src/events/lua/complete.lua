--[[
  Completes a batch of attempts. For each job whose current attempt token matches, appends
  `completed` (with the result reference), acknowledges and deletes its lane entry. A token
  that no longer owns its job (lease expired and reclaimed, cancelled) changes nothing.

  Input: the fixed KEYS block and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of jobs N
    for each job i (4 values from ARGV[4 + (i-1)*4]):
      jobId, token, result ref JSON or '', durationMs
  Then releases the job's dedupe key and group slot and resolves its dependants (when the queue
  has any: one HGET of the meta hash per call).
  Output: array of N integers: 1 completed, 0 stale token (nothing changed for that job).
  Events: completed (dependency-resolved, promoted, dead-lettered for dependants)
]]
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/groups"
--- @include "includes/flows"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local b = 4 + (i - 1) * 4
  local jobId, token = ARGV[b], ARGV[b + 1]
  local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt', 'priority', 'traceparent',
    'dedupeKey', 'group')
  if job[1] ~= 'active' or job[2] ~= token then
    out[i] = 0
  else
    local data = { attempt = tonumber(job[3]), durationMs = tonumber(ARGV[b + 3]) }
    if ARGV[b + 2] ~= '' then data.result = cjson.decode(ARGV[b + 2]) end
    appendEvent(K, jobId, 'completed', data)
    dropEntry(K, tonumber(job[4]), token)
    if job[6] then releaseDedupe(K, jobId, job[6]) end
    if job[7] then groupSlotFree(K, job[7]) end
    settleDependants(K, jobId, 'completed')
    out[i] = 1
  end
end
return out
