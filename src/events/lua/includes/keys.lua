--[[
  Builds the K table every Sluice script works with: the keys the script declares in its
  `--- @keys` header line, by name, and the common ARGV head.

  Input:
    KEYS     the declared keys, in the order of SCRIPT_KEY_NAMES in src/core/keys.ts (the
             generator prepends KEY_NAMES, KEY_LANES, KEY_STATES, KEY_COUNT and STATE_LAYOUTS
             to each script; KEY_COUNT, the keys of one block, is #KEYS / blocks for a script
             that takes `states`, whose number varies with the read model):
               events          STREAM event log
               meta            HASH   config, pause flag, feature flags
               counts          HASH   jobs per state, events per type                (read model)
               priority        ZSET   waiting jobs by (priority, arrival): the index of state
                                      waiting (there is no K.states.waiting)    (read model)
               delayed         ZSET   job id -> due time (ms)
               jobPrefix       prefix of job hashes (ids are found inside scripts)   (read model)
               workers         ZSET   worker id -> last seen (ms)
               dedupePrefix    prefix of dedupe keys (STRING -> job id)
               limiter         ZSET   queue rate-limit log (token -> claim time)
               groups          ZSET   runnable groups by virtual pass
               groupState      HASH   active:<g>, pass:<g>, vt
               groupsParked    ZSET   rate-limited groups -> time they may run
               groupWaitPrefix prefix of per-group wait lists (LIST)
               groupLimitPrefix prefix of per-group rate-limit logs (ZSET)
               groupLane       STREAM dispatch stream of grouped jobs
               depsPrefix      prefix of SETs: a job's unresolved prerequisites
               dependentsPrefix prefix of SETs: jobs waiting for a job
               outbox          STREAM outcomes owed to other queues' dependants
               repeatIndex     ZSET   repeatable key -> next due time
               repeatPrefix    prefix of repeatable job HASHes
               wake            STREAM wake-up signal for blocked workers
               lostEntries     SET    tokens of lane entries deleted while pending, not yet settled
               lanes           5 keys: STREAM dispatch lanes 0..4 (lane 4 = highest), K.lanes[lane]
               states          the rest of the block: ZSET per indexed state, K.states[state],
                               in JOB_STATES order; the generator's STATE_LAYOUTS names them by
                               their number (AS_OF_INDEXED_STATES or INDEXED_STATES of
                               src/core/keys.ts). No read model has K.states.waiting (its index
                               is K.priority). The live and shadow read models have no
                               K.states.active either (the active jobs are the lanes' pending
                               entries): 6 keys (delayed, completed, failed, dead, cancelled,
                               blocked); a time-travel read model indexes active too: 7 keys.
                                                                                     (read model)
    ARGV[1]  now, milliseconds since the epoch of an injected clock (tests), or `s<ms>` for the
             Redis server's clock: then K.now is the server's TIME in ms (the caller's <ms> when
             the Redis user may not run TIME), and events are appended with ids `<K.now>-*`, so an
             event's time is exactly its stream id's ms (K.serverClock; includes/append.lua raises
             K.now to the stream's last id when the clock is behind it)
    ARGV[2]  queue name (written into event metadata)

  jobPrefix and the other prefixes are not keys: ids come out of streams, sorted sets and ARGV
  inside the scripts, so those key names are built from the prefixes src/core/keys.ts passes.
  They carry the queue's hash tag, so cluster routing still sees the right slot.

  Only counts, priority, jobPrefix and states are read models (the projection fold writes them;
  rebuild and verify point them at shadow keys). Everything else is the log or dispatch state,
  which the fold never touches.

  sluiceKeys(base)  the K table of the KEY_COUNT keys from KEYS[base + 1] (base 0 or nil: the
                    first block; two-block scripts read the shadow block with base KEY_COUNT)
]]
-- The Redis server's time in ms (`fallback` when an ACL denies TIME).
local function serverNow(fallback)
  local t = redis.pcall('TIME')
  if t.err then return fallback end
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function sluiceKeys(base)
  base = base or 0
  local t = { now = tonumber(ARGV[1]), queue = ARGV[2] }
  for i, name in ipairs(KEY_NAMES) do t[name] = KEYS[base + i] end
  if KEY_LANES then
    local lanes = {}
    for lane = 0, 4 do lanes[lane] = KEYS[base + KEY_LANES + lane] end
    t.lanes = lanes
  end
  if KEY_STATES then
    local states = {}
    local names = STATE_LAYOUTS[KEY_COUNT - KEY_STATES + 1]
    if not names then error('SLUICE_ERR_KEYS ' .. (KEY_COUNT - KEY_STATES + 1) .. ' state index keys: expected the live or the time-travel layout') end
    for i, name in ipairs(names) do states[name] = KEYS[base + KEY_STATES + i - 1] end
    t.states = states
  end
  if string.sub(ARGV[1], 1, 1) == 's' then
    t.now = serverNow(tonumber(string.sub(ARGV[1], 2)))
    t.serverClock = true
  end
  return t
end
