--[[
  Registers a dependant of another queue on a prerequisite of this queue. When the prerequisite
  has finished already, its outcome goes to the flow outbox at once (to be relayed); otherwise
  the dependant joins the prerequisite's dependents set (a prerequisite not published yet is
  waited for) and the queue's `flows` flag is set. Idempotent.

  Input: the keys of its @keys line (of the prerequisite's queue) and ARGV[1..2], then
    ARGV[3]  prerequisite job id
    ARGV[4]  the dependant, `<queue>|<jobId>`
  Output: the outcome sent ('completed', 'dead', 'cancelled') or 'pending'.
  Events: none
]]
--- @keys events meta counts priority jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox wake lanes states
--- @include "includes/keys"
--- @include "includes/flows"
local K = sluiceKeys()
local jobId, ref = ARGV[3], ARGV[4]
local state = redis.call('HGET', K.jobPrefix .. jobId, 'state')
if state == 'completed' or state == 'dead' or state == 'cancelled' then
  local q, dep = splitRef(ref)
  redis.call('XADD', K.outbox, '*', 'queue', q, 'job', dep, 'from', K.queue .. '|' .. jobId, 'outcome', state)
  return state
end
redis.call('SADD', K.dependentsPrefix .. jobId, ref)
redis.call('HSET', K.meta, 'flows', '1')
return 'pending'
