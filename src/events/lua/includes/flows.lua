--[[
  Flows: jobs that wait for prerequisite jobs. Dispatch state only (the fold never touches it):
    deps:<jobId>        SET of the job's unresolved prerequisites, as `<queue>|<jobId>`
    dependents:<jobId>  SET of the jobs waiting for this one, as `<queue>|<jobId>`
    flow:outbox         STREAM of outcomes owed to dependants in other queues (a script touches
                        one queue's slot only; workers relay the entries, see src/flows.ts)
    meta `flows`        '1' once a dependant was registered on the queue, so finishing scripts
                        look for dependants only where there may be some (one HGET per call)

  resolveDependency(K, depId, fromRef, outcome) -> 'dead' when the dependant was dead-lettered
    Records that prerequisite `fromRef` of job depId reached `outcome` (completed, dead,
    cancelled, removed). Idempotent: only the first call for a pair does anything, and only while
    the dependant is blocked. Appends `dependency-resolved`; then a failed outcome dead-letters
    the dependant (policy `fail`, the default) or counts as resolved (`ignore`); when none is
    left the dependant is promoted to its lane (or group).
  settleDependants(K, jobId, outcome)
    jobId reached a final outcome: resolves it in every dependant of this queue — cascading
    through dependants that are dead-lettered in turn — and writes one outbox entry per
    dependant in another queue.
  Events: dependency-resolved, promoted, dead-lettered
]]
--- @include "includes/append"
--- @include "includes/finish"
--- @include "includes/dispatch"
local function flowsOn(K)
  if K.flowsOn == nil then K.flowsOn = redis.call('HGET', K.meta, 'flows') == '1' end
  return K.flowsOn
end

local function splitRef(ref)
  return string.match(ref, '^([^|]+)|(.+)$')
end

local function resolveDependency(K, depId, fromRef, outcome)
  local depsKey = K.depsPrefix .. depId
  if redis.call('SREM', depsKey, fromRef) == 0 then return nil end
  local job = redis.call('HMGET', K.jobPrefix .. depId, 'state', 'priority', 'group',
    'onDependencyFailure', 'dedupeKey')
  if job[1] ~= 'blocked' then return nil end
  local remaining = redis.call('SCARD', depsKey)
  local q, id = splitRef(fromRef)
  appendEvent(K, depId, 'dependency-resolved',
    { dependency = { queue = q, jobId = id }, outcome = outcome, remaining = remaining })
  if outcome ~= 'completed' and job[4] ~= 'ignore' then
    redis.call('DEL', depsKey)
    appendEvent(K, depId, 'dead-lettered', { reason = 'dependency-failed', attempt = 0 })
    releaseDedupe(K, depId, job[5])
    return 'dead'
  end
  if remaining == 0 then
    local lane = tonumber(job[2])
    appendEvent(K, depId, 'promoted', { lane = lane, reason = 'dependencies' })
    dispatchJob(K, depId, lane, job[3])
  end
  return nil
end

local function settleDependants(K, jobId, outcome)
  if not flowsOn(K) then return end
  -- A worklist rather than recursion: a chain of dependants can be thousands of jobs long.
  local work = { { jobId, outcome } }
  local i = 1
  while i <= #work do
    local id, out = work[i][1], work[i][2]
    i = i + 1
    local key = K.dependentsPrefix .. id
    local refs = redis.call('SMEMBERS', key)
    if #refs > 0 then
      redis.call('DEL', key)
      local from = K.queue .. '|' .. id
      for _, ref in ipairs(refs) do
        local q, dep = splitRef(ref)
        if q == K.queue then
          local failed = resolveDependency(K, dep, from, out)
          if failed then work[#work + 1] = { dep, failed } end
        else
          redis.call('XADD', K.outbox, '*', 'queue', q, 'job', dep, 'from', from, 'outcome', out)
        end
      end
    end
  end
end
