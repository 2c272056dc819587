--[[
  Publishes a batch of jobs: appends `created` for each new job (and `scheduled` when it starts
  delayed) and puts it in its priority lane, its group's list or the delayed set. A job id that
  already exists is left untouched (idempotent publish) and reported as a duplicate. A job whose
  dedupe key is held (by a live job, or by a finished one inside its TTL window) is not created
  either; the holder's id is reported. A new job with a dedupe key takes the key
  (dedupe:<key> -> job id). A job with a group key waits in its group's list
  (includes/groups.lua) and sets the meta flag `groups` that turns the group scheduler on.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  number of jobs N
    for each job i, PUB_WIDTH values from ARGV[4 + (i-1)*PUB_WIDTH] (see includes/publishjob.lua)
  Output: array of N values: 1 created, 0 duplicate id, or the id of the job holding the dedupe
    key (nothing changed for that job).
  Events: created, scheduled, dependency-resolved, dead-lettered
]]
--- @keys events meta counts priority delayed jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/groups"
--- @include "includes/publishjob"
local K = sluiceKeys()
local n = tonumber(ARGV[3])
local out = {}
for i = 1, n do
  out[i] = publishJob(K, 4 + (i - 1) * PUB_WIDTH)
end
return out
