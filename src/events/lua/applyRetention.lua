--[[
  Retention: removes finished jobs from the read models — completed, dead and cancelled jobs
  older than their age limit or beyond their count limit (oldest first) — by appending `removed`
  (reason retention) for each. Their events stay in the log and the archive.

  The policy is read from the queue's meta hash (retention:<state>:maxAgeMs and
  retention:<state>:maxCount for completed, dead and cancelled), each falling back to the
  default given in ARGV; -1 means no limit.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  most jobs to remove in this call
    ARGV[4..9]  default maxAgeMs and maxCount of completed, dead, cancelled
  Output: { removedCompleted, removedDead, removedCancelled }
  Events: removed
]]
--- @keys events meta counts priority jobPrefix groupLane lanes states
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
-- The removals of a sweep go out together (one ZREM and one DEL), after each sweep step:
-- the count step reads the index the age step removed from.
deferRemovals()
local budget = tonumber(ARGV[3])
local policy = redis.call('HMGET', K.meta, 'retention:completed:maxAgeMs', 'retention:completed:maxCount',
  'retention:dead:maxAgeMs', 'retention:dead:maxCount', 'retention:cancelled:maxAgeMs', 'retention:cancelled:maxCount')
local function limit(i) return tonumber(policy[i] or ARGV[3 + i]) end

local function sweep(state, maxAge, maxCount)
  local removed = 0
  local key = K.states[state]
  local function drop(ids)
    for _, jobId in ipairs(ids) do
      if budget <= 0 then break end
      appendEvent(K, jobId, 'removed', { fromState = state, reason = 'retention' })
      budget = budget - 1
      removed = removed + 1
    end
    flushRemovals()
  end
  if maxAge >= 0 and budget > 0 then
    drop(redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. (K.now - maxAge), 'LIMIT', 0, budget))
  end
  if maxCount >= 0 and budget > 0 then
    local excess = redis.call('ZCARD', key) - maxCount
    if excess > 0 then drop(redis.call('ZRANGE', key, 0, math.min(excess, budget) - 1)) end
  end
  return removed
end

local completed = sweep('completed', limit(1), limit(2))
local dead = sweep('dead', limit(3), limit(4))
local cancelled = sweep('cancelled', limit(5), limit(6))
return { completed, dead, cancelled }
