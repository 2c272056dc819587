--[[
  Settles the jobs whose attempt's lane entry was deleted while pending (reap.lua found the
  tokens; src/consumers/lost-entries.ts found the jobs holding them by scanning the job hashes):
  each job still active with that token gets an explicit `lost` outcome followed by
  `dead-lettered` (reason `lost`), its dedupe key, group slot and dependants settled as for any
  dead letter. A job no longer active with that token (finished, cancelled or removed since) is
  left alone. Then the searched tokens leave K.lostEntries. Safe to run twice or from two
  reapers: the check and the events are in this one call.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of tokens searched N, then N tokens (they leave K.lostEntries), then
             pairs jobId, token: the jobs found holding one of them
  Output: number of jobs settled `lost`
  Events: lost, dead-lettered
]]
--- @keys events meta counts priority jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lostEntries lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/dispatch"
--- @include "includes/flows"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
local lost = 0
for i = 4 + n, #ARGV, 2 do
  local jobId, token = ARGV[i], ARGV[i + 1]
  local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt', 'dedupeKey', 'group')
  if job[1] == 'active' and job[2] == token then
    appendEvent(K, jobId, 'lost', { entryId = token,
      reason = 'lane entry ' .. token .. ' was deleted while pending' })
    appendEvent(K, jobId, 'dead-lettered', { reason = 'lost', attempt = tonumber(job[3]) })
    releaseDedupe(K, jobId, job[4])
    if job[5] then groupSlotFree(K, job[5]) end
    settleDependants(K, jobId, 'dead')
    lost = lost + 1
  end
end
if n > 0 then redis.call('SREM', K.lostEntries, unpack(ARGV, 4, 3 + n)) end
return lost
