--[[
  Fires one occurrence of a repeatable job, exactly once however many schedulers run: only the
  caller that read the current due time (compare-and-set on the repeat index) publishes the
  occurrence and moves the schedule on; the occurrence's job id `repeat:<key>:<occurrence ms>`
  makes a repeated call idempotent as well.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  repeat key
    ARGV[4]  the due time the caller read from the repeat index (ms)
    ARGV[5]  next due time (ms), or '' when the schedule has ended
    ARGV[6]  '1' to publish an occurrence, '0' to skip the missed ones and only move on
    ARGV[7..]  the occurrence job, in the publish wire format (includes/publishjob.lua)
  Output: 'fired' | 'skipped' | 'moved' (another scheduler fired it, or the schedule was changed
    or removed: nothing changed) | 'duplicate' (the occurrence existed: only the schedule moved)
  Events: created, scheduled
]]
--- @keys events meta counts priority delayed jobPrefix dedupePrefix groups groupState groupsParked groupWaitPrefix groupLane depsPrefix dependentsPrefix outbox repeatIndex repeatPrefix wake lanes states
--- @include "includes/keys"
--- @include "includes/append"
--- @include "includes/groups"
--- @include "includes/publishjob"
local K = sluiceKeys()
local key = ARGV[3]
local current = redis.call('ZSCORE', K.repeatIndex, key)
if not current or tonumber(current) ~= tonumber(ARGV[4]) then return 'moved' end
local result = 'skipped'
if ARGV[6] == '1' then
  local created = publishJob(K, 7)
  if created == 1 then result = 'fired' else result = 'duplicate' end
  redis.call('HSET', K.repeatPrefix .. key, 'lastRunAt', ARGV[4], 'lastJobId', ARGV[7 + PUB_JOB_ID])
  redis.call('HINCRBY', K.repeatPrefix .. key, 'runs', 1)
end
if ARGV[5] == '' then
  redis.call('ZREM', K.repeatIndex, key)
  redis.call('HSET', K.repeatPrefix .. key, 'ended', '1')
else
  redis.call('ZADD', K.repeatIndex, ARGV[5], key)
end
return result
