--[[
  Records progress of an active attempt: appends `progress` with the caller's JSON value.

  Input: the keys of its @keys line and ARGV[1..2] of includes/keys.lua, then
    ARGV[3]  job id
    ARGV[4]  attempt token
    ARGV[5]  progress as JSON
  Output: 1
  Errors: SLUICE_ERR_STALE_ATTEMPT when the token no longer owns the job (nothing changed).
  Events: progress
]]
--- @keys events counts priority jobPrefix groupLane lanes states
--- @include "includes/keys"
--- @include "includes/append"
local K = sluiceKeys()
local jobId, token = ARGV[3], ARGV[4]
local job = redis.call('HMGET', K.jobPrefix .. jobId, 'state', 'token', 'attempt', 'traceparent')
if job[1] ~= 'active' or job[2] ~= token then
  return redis.error_reply('SLUICE_ERR_STALE_ATTEMPT attempt ' .. token .. ' of job ' .. jobId .. ' no longer owns it')
end
local attempt = tonumber(job[3])
local data = { attempt = attempt, progress = cjson.decode(ARGV[5]) }
appendEvent(K, jobId, 'progress', data, nil, '{"attempt":' .. attempt .. ',"progress":' .. ARGV[5] .. '}')
return 1
