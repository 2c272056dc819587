--[[
  Names the fixed KEYS block every Sluice script receives, and the common ARGV head.

  Input:
    KEYS[1]  -> sluice:{<queue>}:events          STREAM event log
    KEYS[2]  -> sluice:{<queue>}:meta            HASH   config, pause flag, feature flags
    KEYS[3]  -> sluice:{<queue>}:counts          HASH   jobs per state, events per type
    KEYS[4]  -> sluice:{<queue>}:priority        ZSET   waiting jobs by (priority, arrival)
    KEYS[5]  -> sluice:{<queue>}:delayed         ZSET   job id -> due time (ms)
    KEYS[6]  -> sluice:{<queue>}:job:            prefix of job hashes (ids are found inside scripts)
    KEYS[7]  -> sluice:{<queue>}:workers         ZSET   worker id -> last seen (ms)
    KEYS[8..12]  -> sluice:{<queue>}:lane:0 .. lane:4      STREAM dispatch lanes (lane 4 = highest)
    KEYS[13..20] -> sluice:{<queue>}:state:<state>        ZSET  delayed, waiting, active,
                                                          completed, failed, dead, cancelled, blocked
    KEYS[21] -> sluice:{<queue>}:dedupe:         prefix of dedupe keys (STRING -> job id)
    KEYS[22] -> sluice:{<queue>}:limiter         ZSET   queue rate-limit log (token -> claim time)
    KEYS[23] -> sluice:{<queue>}:groups          ZSET   runnable groups by virtual pass
    KEYS[24] -> sluice:{<queue>}:groups:state    HASH   active:<g>, pass:<g>, vt
    KEYS[25] -> sluice:{<queue>}:groups:parked   ZSET   rate-limited groups -> time they may run
    KEYS[26] -> sluice:{<queue>}:gwait:          prefix of per-group wait lists (LIST)
    KEYS[27] -> sluice:{<queue>}:glimit:         prefix of per-group rate-limit logs (ZSET)
    KEYS[28] -> sluice:{<queue>}:lane:g          STREAM dispatch stream of grouped jobs
    KEYS[29] -> sluice:{<queue>}:deps:           prefix of SETs: a job's unresolved prerequisites
    KEYS[30] -> sluice:{<queue>}:dependents:     prefix of SETs: jobs waiting for a job
    KEYS[31] -> sluice:{<queue>}:flow:outbox     STREAM outcomes owed to other queues' dependants
    KEYS[32] -> sluice:{<queue>}:repeat          ZSET   repeatable key -> next due time
    KEYS[33] -> sluice:{<queue>}:repeat:         prefix of repeatable job HASHes
    KEYS[34] -> sluice:{<queue>}:wake            STREAM wake-up signal for blocked workers
    ARGV[1]  now, milliseconds since the epoch of an injected clock (tests), or `s<ms>` for the
             Redis server's clock: then K.now is the server's TIME in ms (the caller's <ms> when
             the Redis user may not run TIME), and events are appended with ids `<K.now>-*`, so an
             event's time is exactly its stream id's ms (K.serverClock; includes/append.lua raises
             K.now to the stream's last id when the clock is behind it)
    ARGV[2]  queue name (written into event metadata)

  KEYS[6] and the other prefixes are not keys: ids come out of streams, sorted sets and ARGV
  inside the scripts, so those key names are built here from the prefixes src/keys.ts passes.
  They carry the queue's hash tag, so cluster routing still sees the right slot.

  Only KEYS[3], KEYS[4], KEYS[6] and KEYS[13..20] are read models (the projection fold writes
  them; rebuild and verify point them at shadow keys). Everything else is the log or dispatch
  state, which the fold never touches.
]]
local SCRIPT_KEY_COUNT = 34

-- The Redis server's time in ms (`fallback` when an ACL denies TIME).
local function serverNow(fallback)
  local t = redis.pcall('TIME')
  if t.err then return fallback end
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function sluiceKeys()
  local K = {
    events = KEYS[1], meta = KEYS[2], counts = KEYS[3], priority = KEYS[4], delayed = KEYS[5],
    jobPrefix = KEYS[6], workers = KEYS[7], lanes = {}, states = {},
    dedupePrefix = KEYS[21], limiter = KEYS[22], groups = KEYS[23], groupState = KEYS[24],
    groupsParked = KEYS[25], groupWaitPrefix = KEYS[26], groupLimitPrefix = KEYS[27],
    groupLane = KEYS[28], depsPrefix = KEYS[29], dependentsPrefix = KEYS[30], outbox = KEYS[31],
    repeatIndex = KEYS[32], repeatPrefix = KEYS[33], wake = KEYS[34],
    now = tonumber(ARGV[1]), queue = ARGV[2],
  }
  if string.sub(ARGV[1], 1, 1) == 's' then
    K.now = serverNow(tonumber(string.sub(ARGV[1], 2)))
    K.serverClock = true
  end
  for lane = 0, 4 do K.lanes[lane] = KEYS[8 + lane] end
  local names = { 'delayed', 'waiting', 'active', 'completed', 'failed', 'dead', 'cancelled', 'blocked' }
  for i, name in ipairs(names) do K.states[name] = KEYS[12 + i] end
  return K
end
