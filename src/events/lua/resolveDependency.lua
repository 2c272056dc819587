--[[
  Delivers a prerequisite's outcome from another queue (relayed from that queue's flow outbox):
  resolves it in the dependant and cascades as includes/flows.lua does. Idempotent, so the relay
  may deliver an entry more than once.

  Input: the keys of its @keys line (of the dependant's queue) and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  dependant job id
    ARGV[4]  the prerequisite, `<queue>|<jobId>`
    ARGV[5]  its outcome: completed, dead, cancelled or removed
  Output: 1 when it changed the dependant, 0 when the outcome was known already.
  Events: dependency-resolved, promoted, dead-lettered
]]
--- @keys events meta counts priority jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/flows"
local K = sluiceKeys()
local jobId = ARGV[3]
local before = redis.call('SCARD', K.depsPrefix .. jobId)
local failed = resolveDependency(K, jobId, ARGV[4], ARGV[5])
if failed then settleDependants(K, jobId, failed) end
if redis.call('SCARD', K.depsPrefix .. jobId) ~= before then return 1 end
return 0
