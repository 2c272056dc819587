--[[
  Names the fixed KEYS block every Sluice script receives, and the common ARGV head.

  Input:
    KEYS[1]  -> sluice:{<queue>}:events          STREAM event log
    KEYS[2]  -> sluice:{<queue>}:meta            HASH   config, pause flag
    KEYS[3]  -> sluice:{<queue>}:counts          HASH   jobs per state, events per type
    KEYS[4]  -> sluice:{<queue>}:priority        ZSET   waiting jobs by (priority, arrival)
    KEYS[5]  -> sluice:{<queue>}:delayed         ZSET   job id -> due time (ms)
    KEYS[6]  -> sluice:{<queue>}:job:            prefix of job hashes (ids are found inside scripts)
    KEYS[7]  -> sluice:{<queue>}:workers         ZSET   worker id -> last seen (ms)
    KEYS[8..12]  -> sluice:{<queue>}:lane:0 .. lane:4      STREAM dispatch lanes (lane 4 = highest)
    KEYS[13..19] -> sluice:{<queue>}:state:<state>        ZSET  delayed, waiting, active,
                                                          completed, failed, dead, cancelled
    ARGV[1]  now, milliseconds since the epoch (injected clock)
    ARGV[2]  queue name (written into event metadata)

  KEYS[6] is a prefix, not a key: job ids come out of streams and sorted sets inside the
  scripts, so their hash names are built here from this prefix. It carries the queue's hash
  tag, so cluster routing still sees the right slot.
]]
local function sluiceKeys()
  local K = {
    events = KEYS[1], meta = KEYS[2], counts = KEYS[3], priority = KEYS[4], delayed = KEYS[5],
    jobPrefix = KEYS[6], workers = KEYS[7], lanes = {}, states = {},
    now = tonumber(ARGV[1]), queue = ARGV[2],
  }
  for lane = 0, 4 do K.lanes[lane] = KEYS[8 + lane] end
  local names = { 'delayed', 'waiting', 'active', 'completed', 'failed', 'dead', 'cancelled' }
  for i, name in ipairs(names) do K.states[name] = KEYS[12 + i] end
  return K
end
