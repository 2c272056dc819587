--[[
  Dispatches a job that is ready to run: a grouped job to its group's wait list (the group
  scheduler of includes/groups.lua picks it), any other to the lane of its priority.

  dispatchJob(K, jobId, lane, group)
    lane   the job's priority lane (0..4)
    group  the job's group, or nil/false for an ungrouped job
  Output: none. Events: none (the caller appended the event that made the job ready).
]]
--- @include "includes/groups"
local function dispatchJob(K, jobId, lane, group)
  if group then
    dispatchGrouped(K, jobId, group)
  else
    redis.call('XADD', K.lanes[lane], '*', 'j', jobId)
  end
end
